// Declares the mixture-of-experts dispatch and combination as one op each. Expert i's output ys[i] holds rows
// [n_i, ...] (the samples that chose it); `table` lists, for every sample b and each of its k
// selections, the quadruple (b, i, p, j): row p of ys[i] is sample b's output of that expert and
// weights.flat[j] its combination weight. Then out[b] = sum over b's quadruples of w[j] * ys[i][p],
// added in the table's order (the MoE lists each sample's experts by increasing index, the order an
// index_add per expert would add them in). One kernel on the GPU where a mul and an index_add per
// expert took three or more, and the backward two (every expert's row gradient, every weight's dot
// product) where it took four per expert. No atomics: each output element, row gradient and weight
// gradient has one writer, so results do not depend on scheduling.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace cuttle::engine {

// Most expert outputs one combination takes (the CUDA kernel passes their addresses by value).
constexpr int kMaxCombineInputs = 32;

// ys: 1..kMaxCombineInputs contiguous tensors [n_i, rest...] of one float dtype and one `rest`;
// weights: that dtype, any shape, contiguous; table: i64 [B * k, 4] (b, i, p, j) sorted by b, every
// (i, p) row and every j at most once (the CPU checks all of this; the CUDA backend trusts the table's values,
// which the MoE builds). Returns [B, rest...].
Tensor moe_combine(const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table, int64_t B);

struct MoECombineGrads {
  std::vector<Tensor> ys;  // like ys (undefined unless need_ys)
  Tensor weights;          // like weights (undefined unless need_weights); entries no quadruple names are 0
};
MoECombineGrads moe_combine_backward(const Tensor& grad_out, const std::vector<Tensor>& ys, const Tensor& weights,
                                     const Tensor& table, bool need_ys, bool need_weights);

// The dispatch that feeds the experts, through the same table (j unused): output i has rows[i] rows
// and row p of it is x[b] for every entry (b, i, p, j). One launch on a GPU where an index_select per
// expert took one each. x: any dtype, [B, rest...] (made contiguous).
std::vector<Tensor> moe_dispatch(const Tensor& x, const Tensor& table, const std::vector<int64_t>& rows);
// Its backward: grad_x[b] = the sum of b's rows' gradients, in table order (one launch where an
// index_add per expert took two). grads: float, one per output, [rows[i], rest...], contiguous.
Tensor moe_dispatch_backward(const std::vector<Tensor>& grads, const Tensor& table, int64_t B);

}  // namespace cuttle::engine
