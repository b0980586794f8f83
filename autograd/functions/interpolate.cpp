#include "autograd/functions/interpolate.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

Var resize_bilinear(const Var& x, int64_t out_h, int64_t out_w, bool align_corners) {
  return record("resize_bilinear", eng::resize_bilinear(x.data(), out_h, out_w, align_corners), {x},
                [x_shape = x.shape(), align_corners](const auto& g, const auto&) {
                  return std::vector<Tensor>{eng::resize_bilinear_backward(g[0], x_shape, align_corners)};
                });
}

}  // namespace cuttle::autograd
