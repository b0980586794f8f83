#include "layers/moe/routing.h"

#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/moe_balance.h"

namespace cuttle::layers::moe {

Tensor select_top_k(const Tensor& scores, int64_t k) {
  CUTTLE_CHECK(scores.dim() == 2 && k >= 1 && k <= scores.size(1), "moe: cannot select the top ", k, " of scores ",
               scores.str());
  return engine::topk(scores, k, 1, /*largest=*/true, /*sorted=*/true).indices;
}

Tensor selection_share(const Tensor& indices, int64_t num_experts) {
  const Tensor idx = indices.to(engine::Device::cpu()).contiguous();
  std::vector<int64_t> counts((size_t)num_experts, 0);
  const int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i) counts[(size_t)p[i]] += 1;
  Tensor share = Tensor::empty({num_experts});
  for (int64_t e = 0; e < num_experts; ++e)
    share.data<float>()[e] = idx.numel() ? (float)counts[(size_t)e] / (float)idx.numel() : 0.0f;
  return share;
}

void update_balance(BalanceState& state, const Tensor& usage, const BalanceOptions& opts) {
  const int64_t E = state.bias.numel();
  CUTTLE_CHECK(usage.numel() == E && state.usage_ema.numel() == E, "moe: usage ", usage.str(), " for ", E, " experts");
  // One op on the state's own device (in double, stored rounded to f32, as the PyTorch twin computes
  // it): a GPU model's buffers are never read back to the host for this.
  const Tensor u = (usage.device() == state.bias.device() ? usage : usage.to(state.bias.device())).contiguous().reshape({E});
  engine::moe_balance_update_(state.bias, state.usage_ema, u, opts.ema, opts.rate, opts.clamp);
}

std::vector<ExpertAssignment> assign_experts(const Tensor& indices, int64_t num_experts) {
  const Tensor idx = indices.to(engine::Device::cpu()).contiguous();  // a no-op for the forward's host copy
  const int64_t B = idx.size(0), k = idx.size(1);
  std::vector<ExpertAssignment> out((size_t)num_experts);
  const int64_t* p = idx.data<int64_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < k; ++s) {
      const int64_t e = p[b * k + s];
      CUTTLE_CHECK(e >= 0 && e < num_experts, "moe: expert index ", e, " out of range (", num_experts, " experts)");
      out[(size_t)e].samples.push_back(b);
      out[(size_t)e].flat_slots.push_back(b * k + s);
    }
  return out;
}

void check_routing(const Tensor& indices, const Tensor& weights, int64_t num_experts, const char* where) {
  const Tensor idx = indices.to(engine::Device::cpu()).contiguous();
  const Tensor w = weights.to(engine::Device::cpu()).to(engine::DType::f64).contiguous();
  const int64_t B = idx.size(0), k = idx.size(1);
  for (int64_t b = 0; b < B; ++b) {
    double sum = 0;
    for (int64_t s = 0; s < k; ++s) {
      const int64_t e = idx.data<int64_t>()[b * k + s];
      CUTTLE_CHECK(e >= 0 && e < num_experts, where, ": sample ", b, " routed to expert ", e, " of ", num_experts);
      for (int64_t t = 0; t < s; ++t)
        CUTTLE_CHECK(idx.data<int64_t>()[b * k + t] != e, where, ": sample ", b, " chose expert ", e, " twice");
      const double v = w.data<double>()[b * k + s];
      CUTTLE_CHECK(std::isfinite(v), where, ": sample ", b, " has a non-finite weight");
      sum += v;
    }
    CUTTLE_CHECK(std::abs(sum - 1.0) <= 1e-5, where, ": sample ", b, " weights sum to ", sum, ", not 1");
  }
}

}  // namespace cuttle::layers::moe
