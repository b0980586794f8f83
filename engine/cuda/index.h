// Declares the CUDA kernels of the indexing op family (engine/ops/index.h) except topk
// (engine/cuda/topk.h). Shapes are validated by the engine op; index ranges are checked here, on the
// device, with one word read back (engine/cuda/scatter.h). The accumulating ops are deterministic:
// scatter_add sorts its targets (stable), index_add gathers through the stably sorted index vector;
// both add repeated indices in index order, as the CPU does, and use no floating-point atomics.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// `axis` normalised; operands on one GPU; idx i64 or i32.
Tensor index_select(const Tensor& x, int axis, const Tensor& idx);
Tensor gather(const Tensor& x, int axis, const Tensor& idx);
Tensor scatter_add(const Tensor& base, int axis, const Tensor& idx, const Tensor& src);
Tensor index_add(const Tensor& base, int axis, const Tensor& idx, const Tensor& src);

}  // namespace cuttle::engine::cuda
