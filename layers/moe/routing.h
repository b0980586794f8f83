// Declares the routing arithmetic of the sparse mixture-of-experts, as plain tensor functions so it
// can be tested alone: top-k selection with the balancing bias, the loss-free bias update, and the
// per-expert sample lists that expert batching dispatches.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace cuttle::layers::moe {

using engine::Tensor;

// Indices [B, k] (i64) of the k largest of scores [B, E]; ties go to the lower expert index.
Tensor select_top_k(const Tensor& scores, int64_t k);

// Share of the B*k selections each expert received: f32 [E] summing to 1.
Tensor selection_share(const Tensor& indices, int64_t num_experts);

struct BalanceState {
  Tensor bias;       // [E], added to the logits for selection only
  Tensor usage_ema;  // [E], starts at 1/E
};
struct BalanceOptions {
  double ema = 0.9;        // ema = ema * 0.9 + 0.1 * usage
  double rate = 0.01;      // bias -= rate * (ema - 1/E)
  double clamp = 5.0;      // bias stays in [-clamp, clamp]
};
// The loss-free balancing step for one micro-batch's usage (in place, on the state's device; the
// state's tensors may be the module's buffers themselves).
void update_balance(BalanceState& state, const Tensor& usage, const BalanceOptions& opts);

// For each expert, the (sample, slot) pairs that chose it, in sample order: sample ids and the flat
// index sample*k + slot into the [B, k] weights. Built from one host read of the indices.
struct ExpertAssignment {
  std::vector<int64_t> samples, flat_slots;
};
std::vector<ExpertAssignment> assign_experts(const Tensor& indices, int64_t num_experts);

// Debug checks: indices in range and distinct per sample; weights finite, summing to 1 within 1e-5.
void check_routing(const Tensor& indices, const Tensor& weights, int64_t num_experts, const char* where);

}  // namespace cuttle::layers::moe
