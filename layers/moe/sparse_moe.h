// Defines SparseMoE, the per-scale mixture of experts of CamoXpert: a router on the globally pooled
// features, top-k selection steered by a loss-free balancing bias, combination weights that stay in
// the graph (the router learns from the task loss), and expert batching: each expert runs once on the
// samples that chose it and its weighted output is index-added into the result.
//
// State names: router.weight, router.bias, experts.<i>.*, bias, usage_ema.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "engine/random.h"
#include "layers/container.h"
#include "layers/linear.h"
#include "layers/moe/routing.h"
#include "layers/module.h"

namespace cuttle::layers {

enum class MoEMode {
  batched,       // expert batching (the default)
  per_sample,    // reference: a loop over samples and their chosen experts
  dense_masked,  // every expert on every sample, weights zero outside the top-k (the test oracle)
  dense_soft,    // every expert weighted by the full softmax (the dense model, for benchmarks)
};

struct SparseMoEOptions {
  int64_t top_k = 2;
  MoEMode mode = MoEMode::batched;
  double logit_clamp = 10.0;
  bool balance = true;             // loss-free balancing (training, batched mode, routing not frozen)
  moe::BalanceOptions balance_options;
  bool bias_in_weights = false;    // the original's variant: the bias also enters the softmax
  bool aux_loss = false;           // coef * E * sum_e f_e P_e, coef warmed up over epochs
  double aux_coef_min = 1e-5, aux_coef_max = 1e-4;
  int64_t aux_warmup_start_epoch = 30, aux_warmup_end_epoch = 90;
  bool debug_checks = false;       // finite logits/outputs, weights sum to 1, valid distinct indices
};

// Routing statistics accumulated over forward passes until reset.
struct MoEStats {
  std::vector<int64_t> selections;   // per expert
  std::vector<double> weight_sum;    // per expert, sum of its combination weights
  int64_t samples = 0;
  int64_t distinct_pairs = 0;        // distinct expert sets seen in the last batch
  int64_t last_batch = 0;
};

class SparseMoE : public UnaryModule {
 public:
  SparseMoE(int64_t dim, std::vector<std::shared_ptr<UnaryModule>> experts, const SparseMoEOptions& opts,
            engine::Generator& gen);
  std::string type_name() const override { return "SparseMoE"; }
  Var forward(const Var& x) override;  // [B, dim, H, W] -> [B, dim, H, W]

  int64_t num_experts() const { return (int64_t)experts_.size(); }
  UnaryModule& expert(int64_t i) { return *experts_.at((size_t)i); }
  Linear& router() { return *router_; }
  SparseMoEOptions& options() { return opts_; }
  void set_mode(MoEMode m) { opts_.mode = m; }

  // The last forward's routing: indices [B, k] (i64), combination weights [B, k], router logits
  // [B, E] (after the clamp), and the auxiliary loss (undefined unless enabled and training).
  const Tensor& last_indices() const { return last_indices_; }
  const Var& last_weights() const { return last_weights_; }
  const Var& last_logits() const { return last_logits_; }
  const Var& aux_loss() const { return aux_loss_; }

  // Fixed routing for gradient checks and golden tests: indices [B, k]; balancing is off meanwhile.
  void freeze_routing(const Tensor& indices);
  void unfreeze_routing() { frozen_ = Tensor(); }
  // Called with each micro-batch's usage [E] before the balancing update; data-parallel training
  // all-reduces it here so every replica keeps the same bias.
  void set_usage_reduce_hook(std::function<void(Tensor&)> hook) { usage_hook_ = std::move(hook); }
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  double aux_coefficient() const;

  // Reads the weight sums from the device (one read): call it per report, not per step.
  const MoEStats& stats() const;
  void reset_stats();

 private:
  // `indices` here: the forward's single host copy of the routing.
  Var combine_batched(const Var& x, const Tensor& indices, const Var& weights);
  Var combine_per_sample(const Var& x, const Tensor& indices, const Var& weights);
  Var combine_dense(const Var& x, const Var& expert_weights);  // [B, E] weights
  // out[b] = sum of b's weighted expert rows (engine/ops/moe_combine.h); ys: every expert's output,
  // undefined for those that did not run (the table numbers the others in order).
  Var combine(const std::vector<Var>& ys, const Var& flat_weights, const Tensor& table, int64_t B);
  // Runs expert e on inputs[e] (skipped where undefined), each expert in its own stream slot when
  // engine::branch_streams() > 0 and the inputs are on the GPU (engine/streams.h): forked from the
  // main stream after the inputs are made, joined back before the outputs are combined.
  std::vector<Var> run_experts(const std::vector<Var>& inputs);
  // host_indices: that host copy; indices and weights: the routing where it was computed.
  void record_stats(const Tensor& host_indices, const Tensor& indices, const Tensor& weights);

  SparseMoEOptions opts_;
  std::shared_ptr<Linear> router_;
  std::shared_ptr<ModuleList> expert_list_;
  std::vector<std::shared_ptr<UnaryModule>> experts_;
  Tensor frozen_;
  std::function<void(Tensor&)> usage_hook_;
  int64_t epoch_ = 0;
  Tensor last_indices_;
  Var last_weights_, last_logits_, aux_loss_;
  mutable MoEStats stats_;  // weight_sum is filled from weight_sum_ by stats()
  Tensor weight_sum_;       // [E] f64 on the routing's device; undefined until the first forward
};

}  // namespace cuttle::layers
