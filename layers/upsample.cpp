#include "layers/upsample.h"

#include <cmath>

#include "autograd/functions/interpolate.h"
#include "engine/error.h"

namespace cuttle::layers {

std::shared_ptr<Upsample> Upsample::to_size(engine::Size2 size, bool align_corners) {
  CUTTLE_CHECK(size[0] > 0 && size[1] > 0, "Upsample: output size must be positive, got ", size[0], "x", size[1]);
  std::shared_ptr<Upsample> u(new Upsample());
  u->size_ = size;
  u->align_corners_ = align_corners;
  return u;
}

std::shared_ptr<Upsample> Upsample::by_scale_hw(double scale_h, double scale_w, bool align_corners) {
  CUTTLE_CHECK(scale_h > 0 && scale_w > 0, "Upsample: scale factors must be positive, got ", scale_h, "x", scale_w);
  std::shared_ptr<Upsample> u(new Upsample());
  u->scale_h_ = scale_h;
  u->scale_w_ = scale_w;
  u->align_corners_ = align_corners;
  return u;
}

engine::Size2 Upsample::output_size(int64_t h, int64_t w) const {
  if (size_[0] > 0) return size_;
  engine::Size2 s{int64_t(std::floor(double(h) * scale_h_)), int64_t(std::floor(double(w) * scale_w_))};
  CUTTLE_CHECK(s[0] > 0 && s[1] > 0, "Upsample: scale ", scale_h_, "x", scale_w_, " of a ", h, "x", w,
               " input gives an empty output");
  return s;
}

Var Upsample::forward(const Var& x) {
  CUTTLE_CHECK(x.dim() == 4, "Upsample: input ", x.data().str(), " is not [N, C, H, W]");
  engine::Size2 s = output_size(x.size(2), x.size(3));
  return autograd::resize_bilinear(x, s[0], s[1], align_corners_);
}

}  // namespace cuttle::layers
