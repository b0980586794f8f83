// Declares the CUDA kernels of the fused per-channel bias and activation (engine/ops/bias_activation.h).
#pragma once
#include "engine/ops/bias_activation.h"

namespace cuttle::engine::cuda {

Tensor bias_activation(const Tensor& x, const Tensor& bias, UnaryOp op, double param);
BiasActivationGrads bias_activation_backward(const Tensor& grad, const Tensor& x, const Tensor& bias, UnaryOp op,
                                             double param, bool need_bias);

}  // namespace cuttle::engine::cuda
