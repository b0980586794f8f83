#include "autograd/functions/softmax.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

// Both backward kernels need only the output, so the input is not kept.
Var softmax(const Var& x, int64_t axis) {
  Tensor y = eng::softmax(x.data(), axis);
  return record("softmax", y, {x}, [y, axis](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::softmax_backward(g[0], y, axis)};
  });
}

Var log_softmax(const Var& x, int64_t axis) {
  Tensor y = eng::log_softmax(x.data(), axis);
  return record("log_softmax", y, {x}, [y, axis](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::log_softmax_backward(g[0], y, axis)};
  });
}

}  // namespace cuttle::autograd
