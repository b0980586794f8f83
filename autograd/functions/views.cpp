#include "autograd/functions/views.h"

#include <numeric>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

Var reshape(const Var& x, const Shape& shape) {
  Shape s = x.shape();
  return record("reshape", x.data().reshape(shape), {x},
                [s](const auto& g, const auto&) { return std::vector<Tensor>{g[0].reshape(s)}; });
}

Var permute(const Var& x, const std::vector<int64_t>& order) {
  Tensor out = x.data().permute(order);
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    inverse[eng::normalize_axis(order[i], (int64_t)order.size(), "permute")] = (int64_t)i;
  return record("permute", out, {x},
                [inverse](const auto& g, const auto&) { return std::vector<Tensor>{g[0].permute(inverse)}; });
}

Var transpose(const Var& x, int64_t a, int64_t b) {
  std::vector<int64_t> order(x.dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[eng::normalize_axis(a, x.dim(), "transpose")], order[eng::normalize_axis(b, x.dim(), "transpose")]);
  return permute(x, order);
}

Var slice(const Var& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  Tensor out = x.data().slice(axis, start, end, step);
  Shape s = x.shape();
  DType dt = x.dtype();
  return record("slice", out, {x}, [s, dt, axis, start, end, step](const auto& g, const auto&) {
    Tensor gx = Tensor::zeros(s, dt, g[0].device());
    gx.slice(axis, start, end, step).copy_(g[0]);
    return std::vector<Tensor>{gx};
  });
}

Var select(const Var& x, int64_t axis, int64_t index) {
  Tensor out = x.data().select(axis, index);
  Shape s = x.shape();
  DType dt = x.dtype();
  return record("select", out, {x}, [s, dt, axis, index](const auto& g, const auto&) {
    Tensor gx = Tensor::zeros(s, dt, g[0].device());
    gx.select(axis, index).copy_(g[0]);
    return std::vector<Tensor>{gx};
  });
}

Var unsqueeze(const Var& x, int64_t axis) { return reshape(x, x.data().unsqueeze(axis).shape()); }
Var squeeze(const Var& x, int64_t axis) { return reshape(x, x.data().squeeze(axis).shape()); }
Var flatten(const Var& x, int64_t start, int64_t end) { return reshape(x, x.data().flatten(start, end).shape()); }

Var expand(const Var& x, const Shape& shape) {
  Shape s = x.shape();
  return record("expand", x.data().expand(shape), {x},
                [s](const auto& g, const auto&) { return std::vector<Tensor>{eng::sum_to_shape(g[0], s).contiguous()}; });
}

Var contiguous(const Var& x) {
  if (x.data().is_contiguous()) return x;
  return record("contiguous", x.data().contiguous(), {x},
                [](const auto& g, const auto&) { return std::vector<Tensor>{g[0]}; });
}

}  // namespace cuttle::autograd
