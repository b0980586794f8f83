// Defines Upsample: bilinear resizing of NCHW maps (align_corners=false) to a fixed size or by a
// scale factor.
#pragma once
#include "engine/ops/pool.h"
#include "layers/module.h"

namespace cuttle::layers {

class Upsample : public UnaryModule {
 public:
  // To a fixed output size.
  static std::shared_ptr<Upsample> to_size(engine::Size2 size, bool align_corners = false);
  // By a scale: output = floor(input * scale). Sampling uses the ratio input / output, which equals
  // PyTorch's for integer results such as x2 (PyTorch uses 1/scale when the product is fractional).
  static std::shared_ptr<Upsample> by_scale_hw(double scale_h, double scale_w, bool align_corners = false);
  static std::shared_ptr<Upsample> by_scale(double scale, bool align_corners = false) {
    return by_scale_hw(scale, scale, align_corners);
  }
  std::string type_name() const override { return "Upsample"; }
  Var forward(const Var& x) override;

  // The output size for an input of h x w.
  engine::Size2 output_size(int64_t h, int64_t w) const;

 private:
  Upsample() = default;
  engine::Size2 size_{0, 0};  // {0, 0}: use the scale
  double scale_h_ = 0, scale_w_ = 0;
  bool align_corners_ = false;
};

}  // namespace cuttle::layers
