#include "layers/pool.h"

#include "autograd/functions/pool.h"
#include "engine/error.h"

namespace cuttle::layers {

namespace {
Pool2dOptions resolve(const char* who, Size2 kernel, Pool2dOptions o) {
  CUTTLE_CHECK(kernel[0] > 0 && kernel[1] > 0, who, ": kernel must be positive, got ", kernel[0], "x", kernel[1]);
  if (o.stride[0] == 0 && o.stride[1] == 0) o.stride = kernel;
  CUTTLE_CHECK(o.stride[0] > 0 && o.stride[1] > 0, who, ": stride must be positive");
  CUTTLE_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0 && o.padding[0] <= kernel[0] / 2 && o.padding[1] <= kernel[1] / 2,
               who, ": padding must be in [0, kernel / 2], got ", o.padding[0], "x", o.padding[1]);
  return o;
}
void check_nchw(const char* who, const Var& x) {
  CUTTLE_CHECK(x.dim() == 4, who, ": input ", x.data().str(), " is not [N, C, H, W]");
}
}  // namespace

AvgPool2d::AvgPool2d(Size2 kernel, const Pool2dOptions& opts) : kernel_(kernel), opts_(resolve("AvgPool2d", kernel, opts)) {}

Var AvgPool2d::forward(const Var& x) {
  check_nchw("AvgPool2d", x);
  return autograd::avg_pool2d(x, kernel_, opts_.stride, opts_.padding, opts_.count_include_pad, opts_.ceil_mode);
}

MaxPool2d::MaxPool2d(Size2 kernel, const Pool2dOptions& opts) : kernel_(kernel), opts_(resolve("MaxPool2d", kernel, opts)) {}

Var MaxPool2d::forward(const Var& x) {
  check_nchw("MaxPool2d", x);
  return autograd::max_pool2d(x, kernel_, opts_.stride, opts_.padding, opts_.ceil_mode);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size) : out_(output_size) {
  CUTTLE_CHECK(out_[0] > 0 && out_[1] > 0, "AdaptiveAvgPool2d: output size must be positive, got ", out_[0], "x",
               out_[1]);
}

Var AdaptiveAvgPool2d::forward(const Var& x) {
  check_nchw("AdaptiveAvgPool2d", x);
  return autograd::adaptive_avg_pool2d(x, out_[0], out_[1]);
}

}  // namespace cuttle::layers
