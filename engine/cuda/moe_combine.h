// Declares the CUDA kernels of the mixture-of-experts combination (engine/ops/moe_combine.h). The
// engine op has checked the shapes; the table's values are trusted (the MoE builds them on the host).
#pragma once
#include <vector>

#include "engine/ops/moe_combine.h"

namespace cuttle::engine::cuda {

// inner: elements per row.
Tensor moe_combine(const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table, int64_t B, int64_t inner);
MoECombineGrads moe_combine_backward(const Tensor& grad_out, const std::vector<Tensor>& ys, const Tensor& weights,
                                     const Tensor& table, int64_t inner, bool need_ys, bool need_weights);
// x contiguous; out: the outputs, allocated by the engine op; returned filled.
std::vector<Tensor> moe_dispatch(const Tensor& x, const Tensor& table, int64_t inner, std::vector<Tensor> out);
Tensor moe_dispatch_backward(const std::vector<Tensor>& grads, const Tensor& table, int64_t B, int64_t inner);

}  // namespace cuttle::engine::cuda
