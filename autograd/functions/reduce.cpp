#include "autograd/functions/reduce.h"

#include "engine/ops/elementwise.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

namespace {
// Number of elements folded into each output element.
int64_t reduced_count(const Shape& s, const Axes& axes) {
  int64_t n = 1;
  for (int a : eng::normalize_axes(axes, (int64_t)s.size(), "reduce")) n *= s[a];
  return n;
}
// Gradient of a reduction output, reshaped so it broadcasts against the input.
Tensor expand_back(const Tensor& g, const Shape& in, const Axes& axes) {
  return g.reshape(eng::reduced_shape(in, axes, true)).expand(in);
}

Var extreme(const char* name, bool is_max, const Var& x, const Axes& axes, bool keepdim) {
  Tensor in = x.data();
  Tensor out = is_max ? eng::amax(in, axes, keepdim) : eng::amin(in, axes, keepdim);
  return record(name, out, {x}, [in, out, axes](const auto& g, const auto&) {
    Shape ks = eng::reduced_shape(in.shape(), axes, true);
    Tensor hit = eng::compare(eng::CompareOp::eq, in, out.reshape(ks)).to(in.dtype());
    Tensor count = eng::sum(hit, axes, true);
    Tensor share = eng::div(g[0].reshape(ks), count);
    return std::vector<Tensor>{eng::mul(hit, share)};
  });
}
}  // namespace

Var sum(const Var& x, const Axes& axes, bool keepdim) {
  Shape s = x.shape();
  return record("sum", eng::sum(x.data(), axes, keepdim), {x}, [s, axes](const auto& g, const auto&) {
    return std::vector<Tensor>{expand_back(g[0], s, axes).contiguous()};
  });
}

Var mean(const Var& x, const Axes& axes, bool keepdim) {
  Shape s = x.shape();
  const double inv = 1.0 / (double)std::max<int64_t>(reduced_count(s, axes), 1);
  return record("mean", eng::mean(x.data(), axes, keepdim), {x}, [s, axes, inv](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::binary_scalar(eng::BinaryOp::mul, expand_back(g[0], s, axes), inv)};
  });
}

Var amax(const Var& x, const Axes& axes, bool keepdim) { return extreme("amax", true, x, axes, keepdim); }
Var amin(const Var& x, const Axes& axes, bool keepdim) { return extreme("amin", false, x, axes, keepdim); }

Var var(const Var& x, const Axes& axes, int64_t correction, bool keepdim) {
  Tensor in = x.data();
  return record("var", eng::var(in, axes, correction, keepdim), {x}, [in, axes, correction](const auto& g, const auto&) {
    // d var / dx = 2 (x - mean) / (n - correction)
    const int64_t n = reduced_count(in.shape(), axes);
    Tensor centered = eng::sub(in, eng::mean(in, axes, true));
    Tensor scale = eng::binary_scalar(eng::BinaryOp::mul, expand_back(g[0], in.shape(), axes),
                                      2.0 / (double)std::max<int64_t>(n - correction, 1));
    return std::vector<Tensor>{eng::mul(centered, scale)};
  });
}

}  // namespace cuttle::autograd
