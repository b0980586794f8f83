#include "layers/moe/sparse_moe.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/index.h"
#include "autograd/functions/join.h"
#include "autograd/functions/moe_combine.h"
#include "autograd/functions/pool.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/softmax.h"
#include "autograd/functions/views.h"
#include "autograd/grad_mode.h"
#include "autograd/mac_counter.h"
#include "autograd/slot_workers.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/moe_combine.h"
#include "engine/streams.h"

namespace cuttle::layers {

namespace ag = cuttle::autograd;
using engine::DType;

namespace {

Tensor ids_tensor(const std::vector<int64_t>& v, engine::Device device) {
  return Tensor::from_vector<int64_t>(v, {(int64_t)v.size()}).to(device);
}

bool all_finite(const Tensor& t) {
  for (double v : t.to(engine::Device::cpu()).to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

SparseMoE::SparseMoE(int64_t dim, std::vector<std::shared_ptr<UnaryModule>> experts, const SparseMoEOptions& opts,
                     engine::Generator& gen)
    : opts_(opts), experts_(std::move(experts)) {
  const int64_t E = (int64_t)experts_.size();
  CUTTLE_CHECK(E >= 1 && E <= engine::kMaxCombineInputs, "SparseMoE: ", E, " experts (1..", engine::kMaxCombineInputs,
               " supported)");
  CUTTLE_CHECK(opts.top_k >= 1 && opts.top_k <= E, "SparseMoE: top_k ", opts.top_k, " must be in [1, ", E, "]");
  CUTTLE_CHECK(opts.logit_clamp > 0, "SparseMoE: logit_clamp must be positive");
  router_ = register_module("router", std::make_shared<Linear>(dim, E, gen));
  expert_list_ = register_module("experts", std::make_shared<ModuleList>());
  for (auto& e : experts_) {
    CUTTLE_CHECK(e, "SparseMoE: expert ", expert_list_->size(), " is null");
    expert_list_->push_back(e);
  }
  register_buffer("bias", Tensor::zeros({E}));
  register_buffer("usage_ema", Tensor::full({E}, 1.0 / (double)E));
  reset_stats();
}

void SparseMoE::reset_stats() {
  stats_ = MoEStats{};
  stats_.selections.assign(experts_.size(), 0);
  stats_.weight_sum.assign(experts_.size(), 0.0);
  weight_sum_ = Tensor();
}

void SparseMoE::freeze_routing(const Tensor& indices) {
  CUTTLE_CHECK(indices.dim() == 2 && indices.size(1) == opts_.top_k && indices.dtype() == DType::i64,
               "SparseMoE::freeze_routing: indices must be i64 [B, ", opts_.top_k, "], got ", indices.str());
  frozen_ = indices.clone();
}

double SparseMoE::aux_coefficient() const {
  const double a = (double)opts_.aux_warmup_start_epoch, b = (double)opts_.aux_warmup_end_epoch;
  const double t = b > a ? std::min(1.0, std::max(0.0, ((double)epoch_ - a) / (b - a))) : 1.0;
  return opts_.aux_coef_min + t * (opts_.aux_coef_max - opts_.aux_coef_min);
}

Var SparseMoE::forward(const Var& x) {
  const int64_t E = num_experts(), k = opts_.top_k;
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == router_->in_features(), "SparseMoE: input ", x.data().str(),
               " must be [B, ", router_->in_features(), ", H, W]");
  const int64_t B = x.size(0), C = x.size(1);
  const bool training = is_training();

  // 1. Router on the globally pooled features.
  Var pooled = ag::reshape(ag::adaptive_avg_pool2d(x, 1, 1), {B, C});
  Var logits = ag::clamp((*router_)(pooled), -opts_.logit_clamp, opts_.logit_clamp);
  Tensor bias = buffer("bias").to(logits.dtype()).to(logits.device());
  if (opts_.debug_checks) CUTTLE_CHECK(all_finite(logits.data()), "SparseMoE: router logits are not finite");

  // 2. Selection (no gradient) by logits + bias; ties go to the lower expert index.
  Tensor indices;
  if (frozen_.defined()) {
    CUTTLE_CHECK(frozen_.size(0) == B, "SparseMoE: frozen routing holds ", frozen_.size(0), " samples, batch has ", B);
    indices = frozen_.to(x.device());
  } else {
    autograd::NoGradGuard no_grad;
    indices = moe::select_top_k(engine::add(logits.data(), bias), k);
  }

  // 3. Combination weights stay in the graph, so the router learns from the task loss.
  Var probs = opts_.bias_in_weights ? ag::softmax(ag::add(logits, Var(bias)), 1) : ag::softmax(logits, 1);
  Var picked;
  {
    // A top-k's positions are in range by construction; frozen ones are the caller's and get checked.
    engine::IndicesVouched topk_positions(!frozen_.defined());
    picked = ag::gather(probs, 1, indices);
  }
  Var weights = ag::div(picked, ag::sum(picked, {1}, true));

  // The one host read of the routing per layer: shares, dispatch lists and statistics all use it.
  const Tensor host_indices = indices.to(engine::Device::cpu()).contiguous();

  // 4. Loss-free balancing, once per micro-batch, after selection.
  const Tensor share = moe::selection_share(host_indices, E);
  if (training && opts_.balance && !frozen_.defined() && opts_.mode == MoEMode::batched) {
    Tensor usage = share.clone();
    if (usage_hook_) usage_hook_(usage);
    moe::BalanceState st{buffer("bias"), buffer("usage_ema")};  // updated in place
    moe::update_balance(st, usage, opts_.balance_options);
  }

  // 5. Optional auxiliary balance loss: coef * E * sum_e f_e P_e (f constant, P differentiable).
  aux_loss_ = Var();
  if (opts_.aux_loss && training) {
    Var mean_p = ag::mean(probs, {0});
    Var f(share.to(probs.dtype()).to(probs.device()));
    aux_loss_ = ag::mul(ag::sum(ag::mul(mean_p, f)), aux_coefficient() * (double)E);
  }

  // 6. Combine.
  Var out;
  switch (opts_.mode) {
    case MoEMode::batched: out = combine_batched(x, host_indices, weights); break;
    case MoEMode::per_sample: out = combine_per_sample(x, host_indices, weights); break;
    case MoEMode::dense_masked: {
      Var full = ag::scatter_add(Var(Tensor::zeros({B, E}, probs.dtype(), probs.device())), 1, indices, weights);
      out = combine_dense(x, full);
      break;
    }
    case MoEMode::dense_soft: out = combine_dense(x, probs); break;
  }
  if (opts_.debug_checks) {
    moe::check_routing(host_indices, weights.data(), E, "SparseMoE");
    CUTTLE_CHECK(all_finite(out.data()), "SparseMoE: the combined output is not finite");
  }
  last_indices_ = indices;
  last_weights_ = weights;
  last_logits_ = logits;
  record_stats(host_indices, indices, weights.data());
  return out;
}

Var SparseMoE::combine_batched(const Var& x, const Tensor& indices, const Var& weights) {
  const int64_t B = x.size(0), k = opts_.top_k, E = num_experts();
  if (B == 0) return Var(Tensor::zeros(x.shape(), x.dtype(), x.device()));
  const std::vector<moe::ExpertAssignment> assigned = moe::assign_experts(indices, E);
  // The dispatch and combination table (engine/ops/moe_combine.h: per sample, its experts by
  // increasing index), in one upload.
  std::vector<std::vector<int64_t>> entries((size_t)B);
  int64_t active = 0;
  for (const moe::ExpertAssignment& a : assigned) {
    if (a.samples.empty()) continue;
    for (size_t p = 0; p < a.samples.size(); ++p)
      entries[(size_t)a.samples[p]].insert(entries[(size_t)a.samples[p]].end(),
                                           {a.samples[p], active, (int64_t)p, a.flat_slots[p]});
    ++active;
  }
  std::vector<int64_t> lists;
  for (const std::vector<int64_t>& e : entries) lists.insert(lists.end(), e.begin(), e.end());
  const Tensor table = ids_tensor(lists, x.device()).reshape({B * k, 4});
  // Dispatch first (one op for every expert's input), then every expert, then the combination: the
  // experts' work (and, newest first, their backward) issues back to back, so side streams can
  // overlap it. Experts nobody chose do not run: their parameters get no gradient at all.
  std::vector<int64_t> rows;
  for (const moe::ExpertAssignment& a : assigned)
    if (!a.samples.empty()) rows.push_back((int64_t)a.samples.size());
  const std::vector<Var> dispatched = ag::moe_dispatch(x, table, rows);
  std::vector<Var> inputs(E);
  size_t next = 0;
  for (int64_t e = 0; e < E; ++e)
    if (!assigned[(size_t)e].samples.empty()) inputs[e] = dispatched[next++];
  return combine(run_experts(inputs), ag::reshape(weights, {B * k}), table, B);
}

Var SparseMoE::combine(const std::vector<Var>& ys, const Var& flat_weights, const Tensor& table, int64_t B) {
  std::vector<Var> ran;
  for (const Var& y : ys)
    if (y.defined()) ran.push_back(ag::contiguous(y));
  return ag::moe_combine(ran, flat_weights, table, B);
}

std::vector<Var> SparseMoE::run_experts(const std::vector<Var>& inputs) {
  std::vector<Var> out(inputs.size());
  engine::Device device = engine::Device::cpu();
  int active = 0;
  for (const Var& in : inputs)
    if (in.defined()) {
      device = in.device();
      ++active;
    }
  const int streams = device.is_cuda() && active > 1 ? engine::branch_streams() : 0;
  if (streams == 0) {
    for (size_t e = 0; e < inputs.size(); ++e)
      if (inputs[e].defined()) out[e] = (*experts_[e])(inputs[e]);
    return out;
  }
  // Expert e always runs in slot 1 + e mod streams, whichever experts are active: its parameter
  // gradients, accumulated over micro-batches, then stay on one stream.
  auto slot_of = [streams](size_t e) { return 1 + (int)(e % (size_t)streams); };
  std::set<int> slots;
  for (size_t e = 0; e < inputs.size(); ++e)
    if (inputs[e].defined()) slots.insert(slot_of(e));
  for (int slot : slots) engine::stream_wait(device, slot, 0);  // fork
  // Each slot's experts may be issued by that slot's worker thread, all slots at once: a step of many
  // small kernels is as long as the host takes to issue them on a slow host. A trace, log or counter
  // on this thread would miss the workers' ops, so they keep everything here.
  const bool threaded = autograd::forward_threads() && slots.size() > 1 &&
                        !autograd::ops_observed_on_this_thread() && !autograd::mac_counter_active();
  std::vector<int> task_slots;
  std::vector<std::function<void()>> tasks;
  for (size_t e = 0; e < inputs.size(); ++e) {
    if (!inputs[e].defined()) continue;
    const int slot = slot_of(e);
    auto run = [this, &inputs, &out, device, e, slot] {
      engine::StreamSlotGuard in_slot(device, slot);
      out[e] = (*experts_[e])(inputs[e]);
    };
    if (!threaded) {
      run();
      continue;
    }
    task_slots.push_back(slot);
    tasks.push_back(run);
  }
  if (threaded) autograd::run_on_slot_workers(task_slots, tasks);
  for (int slot : slots) engine::stream_wait(device, 0, slot);  // join
  return out;
}

Var SparseMoE::combine_per_sample(const Var& x, const Tensor& indices, const Var& weights) {
  const int64_t B = x.size(0), k = opts_.top_k;
  const Tensor& idx = indices;  // on the host (forward reads it once)
  std::vector<Var> rows;
  for (int64_t b = 0; b < B; ++b) {
    Var xb = ag::slice(x, 0, b, b + 1);
    Var acc;
    for (int64_t s = 0; s < k; ++s) {
      const int64_t e = idx.data<int64_t>()[b * k + s];
      Var wbs = ag::reshape(ag::slice(ag::slice(weights, 0, b, b + 1), 1, s, s + 1), {1, 1, 1, 1});
      Var term = ag::mul((*experts_[(size_t)e])(xb), wbs);
      acc = acc.defined() ? ag::add(acc, term) : term;
    }
    rows.push_back(acc);
  }
  return ag::concat(rows, 0);
}

Var SparseMoE::combine_dense(const Var& x, const Var& expert_weights) {
  const int64_t B = x.size(0), E = num_experts();
  if (B == 0) return Var(Tensor::zeros(x.shape(), x.dtype(), x.device()));
  // Every expert ran on every sample: sample b's row of expert e is row b, its weight [b, e].
  std::vector<int64_t> table;
  table.reserve((size_t)(4 * B * E));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t e = 0; e < E; ++e) table.insert(table.end(), {b, e, b, b * E + e});
  const Tensor t = ids_tensor(table, x.device()).reshape({B * E, 4});
  return combine(run_experts(std::vector<Var>(experts_.size(), x)), ag::reshape(expert_weights, {B * E}), t, B);
}

void SparseMoE::record_stats(const Tensor& host_indices, const Tensor& indices, const Tensor& weights) {
  const Tensor& idx = host_indices;  // the forward's one host read
  const int64_t B = idx.size(0), k = idx.size(1), E = num_experts();
  std::set<std::vector<int64_t>> sets;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> chosen;
    for (int64_t s = 0; s < k; ++s) {
      const int64_t e = idx.data<int64_t>()[b * k + s];
      stats_.selections[(size_t)e] += 1;
      chosen.push_back(e);
    }
    std::sort(chosen.begin(), chosen.end());
    sets.insert(chosen);
  }
  // The weight sums stay on the weights' device until stats() is read: a read-back per forward
  // would stall a GPU step.
  if (!weight_sum_.defined()) weight_sum_ = Tensor::zeros({E}, DType::f64, weights.device());
  else if (weight_sum_.device() != weights.device()) weight_sum_ = weight_sum_.to(weights.device());
  {
    // The forward's gather already used these indices (and checked frozen ones).
    engine::IndicesVouched used_already;
    weight_sum_ = engine::index_add(weight_sum_, 0, indices.reshape({B * k}), weights.to(DType::f64).reshape({B * k}));
  }
  stats_.samples += B;
  stats_.last_batch = B;
  stats_.distinct_pairs = (int64_t)sets.size();
}

const MoEStats& SparseMoE::stats() const {
  stats_.weight_sum = weight_sum_.defined() ? weight_sum_.to(engine::Device::cpu()).to_vector<double>()
                                            : std::vector<double>(experts_.size(), 0.0);
  return stats_;
}

}  // namespace cuttle::layers
