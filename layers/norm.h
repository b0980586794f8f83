// Defines the normalisation layers: BatchNorm2d (running statistics as buffers, PyTorch's state
// names weight, bias, running_mean, running_var, num_batches_tracked), LayerNorm2d (over the channels
// at each pixel of NCHW) and LayerNorm (over the last axis).
#pragma once
#include "layers/module.h"

namespace cuttle::layers {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;  // running = (1 - momentum) running + momentum batch (unbiased variance)
  bool affine = true;
  bool track_running_stats = true;
};

class BatchNorm2d : public UnaryModule {
 public:
  explicit BatchNorm2d(int64_t channels, const BatchNormOptions& opts = {});
  std::string type_name() const override { return "BatchNorm2d"; }
  // Training: batch statistics, running statistics updated and num_batches_tracked incremented.
  // Eval: the running statistics (batch statistics when they are not tracked).
  Var forward(const Var& x) override;
  // relu(forward(x)) as one fused op (one pass on the GPU); same statistics and running-stat update.
  Var forward_relu(const Var& x);
  // True when forward normalises with the batch's own statistics (training, or no running ones): a
  // per-channel constant added to the input then cancels.
  bool uses_batch_statistics() const { return is_training() || !opts_.track_running_stats; }
  // forward(x + shift) (relu'd when asked) for a per-channel constant `shift` [C] while
  // uses_batch_statistics(): the output is forward(x)'s, the running mean takes the shift in
  // (running_mean += momentum * shift, exactly as if x + shift had been normalised), and `shift` gets
  // its true gradient, zero (autograd::with_zero_gradient_for), without a pass over x.
  Var forward_shifted(const Var& x, const Var& shift, bool relu);

  Var weight, bias;  // [C], undefined without affine
  Tensor& running_mean() { return buffer("running_mean"); }
  Tensor& running_var() { return buffer("running_var"); }
  Tensor& num_batches_tracked() { return buffer("num_batches_tracked"); }
  int64_t channels() const { return channels_; }
  const BatchNormOptions& options() const { return opts_; }
  void set_momentum(double momentum) { opts_.momentum = momentum; }

 private:
  Var run(const Var& x, bool relu, const Tensor& running_mean_shift = Tensor());

  int64_t channels_;
  BatchNormOptions opts_;
};

// Normalises over C at each (n, h, w) with the biased variance; per-channel scale and shift.
class LayerNorm2d : public UnaryModule {
 public:
  explicit LayerNorm2d(int64_t channels, double eps = 1e-6, bool affine = true);
  std::string type_name() const override { return "LayerNorm2d"; }
  Var forward(const Var& x) override;

  Var weight, bias;  // [C] (ones and zeros), undefined without affine

 private:
  int64_t channels_;
  double eps_;
};

// Normalises over the last axis (size `dim`).
class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true);
  std::string type_name() const override { return "LayerNorm"; }
  Var forward(const Var& x) override;

  Var weight, bias;  // [dim] (ones and zeros), undefined without affine

 private:
  int64_t dim_;
  double eps_;
};

}  // namespace cuttle::layers
