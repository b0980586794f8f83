// Defines the pooling layers on NCHW: AvgPool2d (count_include_pad by default, as PyTorch),
// MaxPool2d, and AdaptiveAvgPool2d (to a fixed output size; 1x1 is global average pooling).
#pragma once
#include "engine/ops/pool.h"
#include "layers/module.h"

namespace cuttle::layers {

using engine::Size2;

struct Pool2dOptions {
  Size2 stride{0, 0};  // {0, 0}: the kernel size (PyTorch's default)
  Size2 padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};

class AvgPool2d : public UnaryModule {
 public:
  explicit AvgPool2d(Size2 kernel, const Pool2dOptions& opts = {});
  explicit AvgPool2d(int64_t kernel, const Pool2dOptions& opts = {}) : AvgPool2d(Size2{kernel, kernel}, opts) {}
  std::string type_name() const override { return "AvgPool2d"; }
  Var forward(const Var& x) override;

 private:
  Size2 kernel_;
  Pool2dOptions opts_;
};

class MaxPool2d : public UnaryModule {
 public:
  explicit MaxPool2d(Size2 kernel, const Pool2dOptions& opts = {});
  explicit MaxPool2d(int64_t kernel, const Pool2dOptions& opts = {}) : MaxPool2d(Size2{kernel, kernel}, opts) {}
  std::string type_name() const override { return "MaxPool2d"; }
  Var forward(const Var& x) override;

 private:
  Size2 kernel_;
  Pool2dOptions opts_;
};

class AdaptiveAvgPool2d : public UnaryModule {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size);
  explicit AdaptiveAvgPool2d(int64_t output_size) : AdaptiveAvgPool2d(Size2{output_size, output_size}) {}
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  Var forward(const Var& x) override;

 private:
  Size2 out_;
};

}  // namespace cuttle::layers
