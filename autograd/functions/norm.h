// Declares the differentiable normalisations on Var: batch norm (running statistics are plain
// buffers, updated in training) and batch norm fused with ReLU, the zero gradient of a shift that a
// batch norm cancels, layer norm over the last axis, and layer norm over NCHW channels.
#pragma once
#include "autograd/var.h"
#include "engine/ops/norm.h"

namespace cuttle::autograd {

// weight, bias: [C] or undefined Vars. running_mean / running_var: [C] buffers (or undefined Tensors
// in training), updated in place when training; running_mean_shift as engine::batch_norm's.
Var batch_norm(const Var& x, const Var& weight, const Var& bias, const Tensor& running_mean,
               const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
               const Tensor& running_mean_shift = Tensor());
// relu(batch_norm(...)) as one node (one pass on the GPU); same arguments as batch_norm.
Var batch_norm_relu(const Var& x, const Var& weight, const Var& bias, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                    const Tensor& running_mean_shift = Tensor());
// y itself, recorded so that `cancelled` gets a zero gradient: for a per-channel constant added
// before a normalisation with batch statistics, which removes it (layers/conv_batch_norm.h). Defined
// zeros rather than none, so optimizers treat the parameter as if its gradient had been computed
// (weight decay included), as they would the rounding noise around zero a full computation gives.
Var with_zero_gradient_for(const Var& y, const Var& cancelled);
Var layer_norm(const Var& x, const Var& weight, const Var& bias, double eps = 1e-5);
Var layer_norm2d(const Var& x, const Var& weight, const Var& bias, double eps = 1e-6);

}  // namespace cuttle::autograd
