#include "autograd/optim/adamw.h"

#include <cmath>

#include "engine/ops/optim.h"

namespace cuttle::autograd {

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& opts)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay), opts_(opts) {
  CUTTLE_CHECK(opts.beta1 >= 0 && opts.beta1 < 1 && opts.beta2 >= 0 && opts.beta2 < 1,
               "AdamW: betas must be in [0,1), got ", opts.beta1, ", ", opts.beta2);
  CUTTLE_CHECK(opts.eps > 0, "AdamW: eps must be > 0, got ", opts.eps);
  for (const ParamGroup& g : groups_) state_.emplace_back(g.params.size());
}

void AdamW::step() {
  // Collect every parameter's tensors and scalars, then one fused update (a few launches on a GPU).
  std::vector<engine::AdamWSlot> slots;
  for_each_with_grad("AdamW", [&](size_t gi, size_t pi, Tensor& w, const Tensor& g, double lr, double wd) {
    State& st = state_[gi][pi];
    if (!st.exp_avg.defined()) {
      st.exp_avg = Tensor::zeros(w.shape(), w.dtype(), w.device());
      st.exp_avg_sq = Tensor::zeros(w.shape(), w.dtype(), w.device());
    }
    st.step += 1;
    engine::AdamWSlot s;
    s.w = w;
    s.grad = g;
    s.exp_avg = st.exp_avg;
    s.exp_avg_sq = st.exp_avg_sq;
    s.decay_factor = 1 - lr * wd;
    s.step_size = lr / (1 - std::pow(opts_.beta1, (double)st.step));
    s.bc2_sqrt = std::sqrt(1 - std::pow(opts_.beta2, (double)st.step));
    slots.push_back(std::move(s));
  });
  engine::adamw_update(slots, opts_.beta1, opts_.beta2, opts_.eps);
}

std::map<std::string, Tensor> AdamW::state_dict() const {
  std::map<std::string, Tensor> s;
  for (size_t gi = 0; gi < state_.size(); ++gi)
    for (size_t pi = 0; pi < state_[gi].size(); ++pi) {
      const State& st = state_[gi][pi];
      if (!st.exp_avg.defined()) continue;
      s[key(gi, pi, "exp_avg")] = st.exp_avg;
      s[key(gi, pi, "exp_avg_sq")] = st.exp_avg_sq;
      s[key(gi, pi, "step")] = Tensor::scalar((double)st.step, engine::DType::i64);
    }
  return s;
}

void AdamW::load_state_dict(const std::map<std::string, Tensor>& state) {
  for (size_t gi = 0; gi < state_.size(); ++gi)
    for (size_t pi = 0; pi < state_[gi].size(); ++pi) {
      State& st = state_[gi][pi];
      st = State();
      auto m = state.find(key(gi, pi, "exp_avg"));
      if (m == state.end()) continue;
      auto v = state.find(key(gi, pi, "exp_avg_sq"));
      auto n = state.find(key(gi, pi, "step"));
      CUTTLE_CHECK(v != state.end() && n != state.end(), "AdamW::load_state_dict: incomplete state for ",
                   key(gi, pi, "*"));
      const Var& p = groups_[gi].params[pi];
      CUTTLE_CHECK(m->second.shape() == p.shape() && v->second.shape() == p.shape(), "AdamW::load_state_dict: ",
                   m->first, " has shape ", engine::shape_str(m->second.shape()), ", the parameter has ",
                   engine::shape_str(p.shape()));
      st.exp_avg = state_copy(m->second, p);
      st.exp_avg_sq = state_copy(v->second, p);
      st.step = n->second.item<int64_t>();
    }
}

}  // namespace cuttle::autograd
