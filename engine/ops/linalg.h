// Declares the linear-algebra op family: (batched) matrix products with transpose flags, and the
// fused linear map of Linear layers.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine {

// op(a) x op(b) over the last two axes, where op swaps the last two axes when its flag is set:
// op(a) is [..., M, K], op(b) is [..., K, N], the result [..., M, N] (contiguous). The batch axes
// broadcast with numpy rules. Both operands must be at least 2-D: a vector is rejected rather than
// guessed at (unsqueeze it to a [1, K] row or a [K, 1] column). f32 or f64, same dtype for both.
// Transposed or column-major operands are read in place, never copied. Deterministic for any thread
// count: the output is cut into tiles fixed by the shapes alone and each tile is one single-threaded
// GEMM.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// x[..., in] w[out, in]^T + bias[out] -> [..., out]; bias may be undefined. The bias seeds the
// output, so it costs no extra pass.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor());

}  // namespace cuttle::engine
