// Declares the CUDA row reduction behind sum, mean, amax and amin on the GPU: the engine op permutes
// the reduced axes last, and each row of the contiguous [outer, inner] matrix is reduced by one block
// in a fixed order (deterministic; f32 sums accumulate in double, as on the CPU).
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

enum class RowReduce { sum, mean, max, min };

// rows: contiguous [outer * inner] on a GPU; returns [outer].
Tensor reduce_rows(RowReduce kind, const Tensor& rows, int64_t outer, int64_t inner);

}  // namespace cuttle::engine::cuda
