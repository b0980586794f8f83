#include "autograd/functions/pool.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

Var avg_pool2d(const Var& x, Size2 kernel, Size2 stride, Size2 padding, bool count_include_pad, bool ceil_mode) {
  return record("avg_pool2d", eng::avg_pool2d(x.data(), kernel, stride, padding, count_include_pad, ceil_mode), {x},
                [=, x_shape = x.shape()](const auto& g, const auto&) {
                  return std::vector<Tensor>{
                      eng::avg_pool2d_backward(g[0], x_shape, kernel, stride, padding, count_include_pad, ceil_mode)};
                });
}

Var max_pool2d(const Var& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode) {
  eng::MaxPool2dResult r = eng::max_pool2d(x.data(), kernel, stride, padding, ceil_mode);
  return record("max_pool2d", r.output, {x}, [indices = r.indices, x_shape = x.shape()](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::max_pool2d_backward(g[0], indices, x_shape)};
  });
}

Var adaptive_avg_pool2d(const Var& x, int64_t out_h, int64_t out_w) {
  return record("adaptive_avg_pool2d", eng::adaptive_avg_pool2d(x.data(), out_h, out_w), {x},
                [x_shape = x.shape()](const auto& g, const auto&) {
                  return std::vector<Tensor>{eng::adaptive_avg_pool2d_backward(g[0], x_shape)};
                });
}

}  // namespace cuttle::autograd
