#include "autograd/functions/index.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

// A backward reuses the forward's indices against the same extent along the same axis; the forward
// checked them (or its caller vouched for them), so the backward vouches and a GPU run pays no second
// range-check round trip.

TopKResult topk(const Var& x, int64_t k, int64_t axis, bool largest, bool sorted) {
  eng::TopK r = eng::topk(x.data(), k, axis, largest, sorted);
  const int a = eng::normalize_axis(axis, x.dim(), "topk");
  Var values = record("topk", r.values, {x}, [idx = r.indices, a, s = x.shape()](const auto& g, const auto&) {
    eng::IndicesVouched checked;  // positions the top-k produced
    return std::vector<Tensor>{eng::scatter_add(s, a, idx, g[0])};
  });
  return {values, r.indices};
}

Var index_select(const Var& x, int64_t axis, const Tensor& idx) {
  return record("index_select", eng::index_select(x.data(), axis, idx), {x},
                [idx, axis, s = x.shape()](const auto& g, const auto&) {
                  eng::IndicesVouched checked;  // by the forward, against the same extent
                  return std::vector<Tensor>{eng::index_add(Tensor::zeros(s, g[0].dtype(), g[0].device()), axis, idx, g[0])};
                });
}

Var gather(const Var& x, int64_t axis, const Tensor& idx) {
  return record("gather", eng::gather(x.data(), axis, idx), {x},
                [idx, axis, s = x.shape()](const auto& g, const auto&) {
                  eng::IndicesVouched checked;  // by the forward, against the same extent
                  return std::vector<Tensor>{eng::scatter_add(s, axis, idx, g[0])};
                });
}

Var scatter_add(const Var& base, int64_t axis, const Tensor& idx, const Var& src) {
  return record("scatter_add", eng::scatter_add(base.data(), axis, idx, src.data()), {base, src},
                [idx, axis, ss = src.shape()](const auto& g, const auto& needs) {
                  eng::IndicesVouched checked;  // by the forward, against the same extent
                  Tensor gsrc;
                  if (needs[1]) {
                    Tensor picked = eng::gather(g[0], axis, idx);
                    if (picked.shape() == ss) {
                      gsrc = picked;
                    } else {  // src entries beyond idx's extent were unused: zero gradient
                      gsrc = Tensor::zeros(ss, g[0].dtype(), g[0].device());
                      Tensor region = gsrc;
                      for (int64_t d = 0; d < (int64_t)ss.size(); ++d) region = region.slice(d, 0, idx.size(d));
                      region.copy_(picked);
                    }
                  }
                  return std::vector<Tensor>{needs[0] ? g[0] : Tensor(), gsrc};
                });
}

Var index_add(const Var& base, int64_t axis, const Tensor& idx, const Var& src) {
  return record("index_add", eng::index_add(base.data(), axis, idx, src.data()), {base, src},
                [idx, axis](const auto& g, const auto& needs) {
                  eng::IndicesVouched checked;  // by the forward, against the same extent
                  return std::vector<Tensor>{needs[0] ? g[0] : Tensor(),
                                             needs[1] ? eng::index_select(g[0], axis, idx) : Tensor()};
                });
}

}  // namespace cuttle::autograd
