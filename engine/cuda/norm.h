// Declares the CUDA kernels of the normalisation ops (engine/ops/norm.h): batch norm (optionally fused
// with the ReLU that follows it), layer norm over the last axis, and LayerNorm2d over the channels of
// NCHW. Arguments are validated here (the engine ops forward before their CPU checks). Every
// reduction is deterministic: fixed partitions, fixed trees, double accumulation.
#pragma once
#include "engine/ops/norm.h"

namespace cuttle::engine::cuda {

// relu: output = max(batch_norm(x), 0). running_mean_shift: as engine::batch_norm's (or undefined).
BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                           Tensor running_var, bool training, double momentum, double eps, bool relu,
                           const Tensor& running_mean_shift);
// relu_output: the fused forward's output (its positive entries pass the gradient); undefined
// for plain batch norm.
NormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                              const Tensor& save_invstd, bool training, NormNeeds needs, const Tensor& relu_output);

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, NormNeeds needs);

LayerNormResult layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
NormGrads layer_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                const Tensor& invstd, NormNeeds needs);

}  // namespace cuttle::engine::cuda
