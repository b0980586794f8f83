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

}  // namespace cuttle::engine::cuda
