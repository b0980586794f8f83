// Declares the normalisation ops and their fused backward kernels: batch norm (NC..., per channel),
// layer norm over the last axis, and layer norm over the channels of an NCHW tensor.
#pragma once
#include <array>

#include "engine/tensor.h"

namespace cuttle::engine {

// Gradients of a normalisation; a member is undefined where it was not asked for (or has no input).
struct NormGrads {
  Tensor input, weight, bias;
};
// Which of input, weight, bias to differentiate.
using NormNeeds = std::array<bool, 3>;

struct BatchNormResult {
  Tensor output;
  Tensor save_mean;    // [C]: the mean used (batch mean in training, running mean in eval)
  Tensor save_invstd;  // [C]: 1 / sqrt(var + eps) with the variance used
};
// x [N, C, ...]; weight, bias [C] or undefined (no affine). Training normalises with the batch mean and
// biased variance and, when the running stats are given, updates them in place (their storage is
// shared with the caller): r = (1 - momentum) r + momentum * batch, with the unbiased variance.
// Eval normalises with running_mean / running_var, which must then be given. All share x's dtype.
// running_mean_shift [C] (training with running stats only): a per-channel constant the input is taken
// to carry on top of x, which batch statistics cancel; it enters the running mean alone,
// r = (1 - momentum) r + momentum * (batch mean + shift) (layers/conv_batch_norm.h).
BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                           Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                           const Tensor& running_mean_shift = Tensor());
// `training` selects the gradient through the batch statistics (true) or through constant statistics.
NormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                              const Tensor& save_mean, const Tensor& save_invstd, bool training,
                              NormNeeds needs = {true, true, true});

// relu(batch_norm(...)) in one pass on the GPU; same arguments, statistics and running-stat update.
BatchNormResult batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                                Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                                const Tensor& running_mean_shift = Tensor());
// The backends' check of a running_mean_shift argument (undefined passes): [C], x's dtype and device,
// training with running statistics.
void check_running_mean_shift(const char* op, const Tensor& shift, const Tensor& running_mean, bool training,
                              const Tensor& x, int64_t C);
// Its backward: grad_out passes where the forward's `output` is positive, then batch_norm_backward.
// Keeping the output (which the next layer usually keeps anyway) rather than a mask costs no memory.
NormGrads batch_norm_relu_backward(const Tensor& grad_out, const Tensor& output, const Tensor& x,
                                   const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                   bool training, NormNeeds needs = {true, true, true});

struct LayerNormResult {
  Tensor output;
  Tensor mean;    // per normalised group: x.shape minus the last axis (layer_norm) or [N,H,W] (layer_norm2d)
  Tensor invstd;  // same shape as mean
};
// Normalises over the last axis; weight, bias [D] or undefined.
LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, NormNeeds needs = {true, true, true});

// x [N,C,H,W]: normalises over C at every pixel, in place on NCHW (no permutes); weight, bias [C].
LayerNormResult layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-6);
NormGrads layer_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                const Tensor& invstd, NormNeeds needs = {true, true, true});

}  // namespace cuttle::engine
