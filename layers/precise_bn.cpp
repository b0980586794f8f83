#include "layers/precise_bn.h"

#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "layers/norm.h"

namespace cuttle::layers {

namespace {

void collect(Module& m, std::vector<BatchNorm2d*>& out) {
  if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) out.push_back(bn);
  for (const auto& [name, child] : m.children()) collect(*child, out);
}

int64_t tracked(BatchNorm2d& bn) { return bn.num_batches_tracked().to(engine::Device::cpu()).data<int64_t>()[0]; }

}  // namespace

void recalibrate_batch_norm(Module& model, int64_t batches, const std::function<void(int64_t)>& run_batch) {
  CUTTLE_CHECK(batches > 0, "recalibrate_batch_norm: batches must be positive, got ", batches);
  std::vector<BatchNorm2d*> bns;
  collect(model, bns);
  struct Slot {
    double momentum;
    engine::Tensor mean_sum, var_sum;
    int64_t last_tracked = 0, count = 0;
  };
  // Every other buffer the forward moves (an MoE's balancing bias and usage) is put back at the end.
  std::set<const void*> bn_stats;
  for (BatchNorm2d* bn : bns)
    if (bn->options().track_running_stats) {
      bn_stats.insert(bn->running_mean().raw_data());
      bn_stats.insert(bn->running_var().raw_data());
    }
  std::vector<std::pair<engine::Tensor, engine::Tensor>> others;  // live buffer, its value before
  for (const auto& [name, b] : model.named_buffers())
    if (!bn_stats.count(b.raw_data())) others.emplace_back(b, b.clone());
  std::vector<Slot> slots;
  for (BatchNorm2d* bn : bns) {
    if (!bn->options().track_running_stats) {
      slots.push_back({});
      continue;
    }
    Slot s{bn->options().momentum, bn->running_mean().zeros_like(), bn->running_var().zeros_like()};
    s.last_tracked = tracked(*bn);
    bn->set_momentum(1.0);  // running statistics = the last batch's, read after each call
    slots.push_back(std::move(s));
  }
  try {
    for (int64_t i = 0; i < batches; ++i) {
      run_batch(i);
      for (size_t k = 0; k < bns.size(); ++k) {
        Slot& s = slots[k];
        if (!s.mean_sum.defined()) continue;
        const int64_t now = tracked(*bns[k]);
        if (now == s.last_tracked) continue;
        CUTTLE_CHECK(now == s.last_tracked + 1, "recalibrate_batch_norm: a BatchNorm2d ran ", now - s.last_tracked,
                     " times in one batch; its statistics cannot be averaged per call");
        s.last_tracked = now;
        engine::add_(s.mean_sum, bns[k]->running_mean());
        engine::add_(s.var_sum, bns[k]->running_var());
        ++s.count;
      }
    }
  } catch (...) {
    for (size_t k = 0; k < bns.size(); ++k)
      if (slots[k].mean_sum.defined()) bns[k]->set_momentum(slots[k].momentum);
    throw;
  }
  for (auto& [live, before] : others) live.copy_(before);  // num_batches_tracked among them
  for (size_t k = 0; k < bns.size(); ++k) {
    Slot& s = slots[k];
    if (!s.mean_sum.defined()) continue;
    bns[k]->set_momentum(s.momentum);
    if (s.count == 0) continue;
    engine::mul_scalar_(s.mean_sum, 1.0 / s.count);
    engine::mul_scalar_(s.var_sum, 1.0 / s.count);
    bns[k]->running_mean().copy_(s.mean_sum);
    bns[k]->running_var().copy_(s.var_sum);
  }
}

}  // namespace cuttle::layers
