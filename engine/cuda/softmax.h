// Declares the CUDA kernels of the softmax op family (engine/ops/softmax.h): fused, numerically stable
// (max-subtracted) softmax and log_softmax along one axis and their backward. Rows are reduced by a
// warp (rows up to 1024 long), a block (longer rows) or one thread per row (a strided axis with many
// rows), each in a fixed order with double accumulation, so results are deterministic.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// x on a GPU, `axis` already normalised; f32 or f64.
Tensor softmax(const Tensor& x, int axis, bool log);
// grad, y: same shape and dtype on one GPU.
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int axis, bool log);

}  // namespace cuttle::engine::cuda
