// Defines Conv2d: a 2-D convolution layer (stride, padding, dilation, groups, optional bias) with
// PyTorch's default initialisation and state names "weight" [O, C/groups, kh, kw] and "bias" [O].
#pragma once
#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "engine/random.h"
#include "layers/module.h"

namespace cuttle::layers {

using engine::Size2;

struct Conv2dOptions {
  Size2 stride{1, 1};
  Size2 padding{0, 0};
  Size2 dilation{1, 1};
  int64_t groups = 1;
  bool bias = true;

  // Chainable setters for the common square cases.
  Conv2dOptions& with_stride(int64_t s) { stride = {s, s}; return *this; }
  Conv2dOptions& with_padding(int64_t p) { padding = {p, p}; return *this; }
  Conv2dOptions& with_dilation(int64_t d) { dilation = {d, d}; return *this; }
  Conv2dOptions& with_groups(int64_t g) { groups = g; return *this; }
  Conv2dOptions& with_bias(bool b) { bias = b; return *this; }
  // "Same" padding for stride 1: dilation * (k - 1) / 2 on each side (odd kernels).
  static Conv2dOptions same(int64_t kernel, int64_t dilation = 1) {
    Conv2dOptions o;
    o.dilation = {dilation, dilation};
    o.padding = {dilation * (kernel - 1) / 2, dilation * (kernel - 1) / 2};
    return o;
  }
};

class Conv2d : public UnaryModule {
 public:
  // Weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in / groups * kh * kw.
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel, engine::Generator& gen,
         const Conv2dOptions& opts = {});
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, engine::Generator& gen,
         const Conv2dOptions& opts = {})
      : Conv2d(in_channels, out_channels, Size2{kernel, kernel}, gen, opts) {}
  std::string type_name() const override { return "Conv2d"; }

  Var forward(const Var& x) override;
  // act(forward(x)) for an engine::is_fusable_activation op, the bias and the activation in one pass
  // each way (Sequential uses it for a Conv2d followed by ReLU or GELU).
  Var forward_activated(const Var& x, engine::UnaryOp act, double param = 1.0);
  // The convolution without adding the bias (layers/conv_batch_norm.h folds it into a BatchNorm).
  Var forward_unbiased(const Var& x);

  Var weight, bias;  // bias undefined when opts.bias is false
  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  Size2 kernel() const { return kernel_; }
  const Conv2dOptions& options() const { return opts_; }

 private:
  void check_input(const Var& x) const;

  int64_t in_, out_;
  Size2 kernel_;
  Conv2dOptions opts_;
};

}  // namespace cuttle::layers
