// Declares the fused per-channel bias and activation y = act(x + bias[c]) over an NCHW tensor (a
// convolution's output) and its backward. PyTorch eager runs the bias add and the activation as two
// passes and the bias gradient as a third; the CUDA kernels do one pass each way.
#pragma once
#include "engine/ops/elementwise.h"

namespace cuttle::engine {

// The activations it takes: relu, gelu, sigmoid, tanh, softplus, elu.
bool is_fusable_activation(UnaryOp op);
// x [N, C, H, W], bias [C] of x's dtype; `param` as for unary (ELU alpha).
Tensor bias_activation(const Tensor& x, const Tensor& bias, UnaryOp op, double param = 1.0);

struct BiasActivationGrads {
  Tensor x;     // dL/dx = grad * act'(x + bias)
  Tensor bias;  // [C]: dL/dx summed over N, H, W (undefined unless asked for)
};
BiasActivationGrads bias_activation_backward(const Tensor& grad, const Tensor& x, const Tensor& bias, UnaryOp op,
                                             double param, bool need_bias);

}  // namespace cuttle::engine
