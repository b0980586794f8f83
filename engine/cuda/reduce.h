// Declares the CUDA row reductions behind sum, mean, amax, amin, var and argmax on the GPU: the engine
// op permutes the reduced axes last, and each row of the contiguous [outer, inner] matrix is reduced
// in a fixed order (deterministic; f32 sums accumulate in double, as on the CPU).
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

enum class RowReduce { sum, mean, max, min };

// rows: contiguous [outer * inner] on a GPU; returns [outer].
Tensor reduce_rows(RowReduce kind, const Tensor& rows, int64_t outer, int64_t inner);
// Variance of each row (two passes: mean, then squared deviations, in double), divided by
// max(0, inner - correction) as torch.var; f32 or f64. Defined in reduce_stats.cu.
Tensor var_rows(const Tensor& rows, int64_t outer, int64_t inner, int64_t correction);
// i64 [outer]: position of the first maximum of each row, a NaN counting as the maximum (the first
// NaN wins); any numeric dtype; inner > 0. Defined in reduce_stats.cu.
Tensor argmax_rows(const Tensor& rows, int64_t outer, int64_t inner);

}  // namespace cuttle::engine::cuda
