#include "autograd/optim/adamw.h"

#include <cmath>

#include "engine/dispatch.h"
#include "engine/parallel.h"

namespace cuttle::autograd {

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& opts)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay), opts_(opts) {
  CUTTLE_CHECK(opts.beta1 >= 0 && opts.beta1 < 1 && opts.beta2 >= 0 && opts.beta2 < 1,
               "AdamW: betas must be in [0,1), got ", opts.beta1, ", ", opts.beta2);
  CUTTLE_CHECK(opts.eps > 0, "AdamW: eps must be > 0, got ", opts.eps);
  for (const ParamGroup& g : groups_) state_.emplace_back(g.params.size());
}

void AdamW::step() {
  for_each_with_grad("AdamW", [&](size_t gi, size_t pi, Tensor& w, const Tensor& g, double lr, double wd) {
    State& st = state_[gi][pi];
    if (!st.exp_avg.defined()) {
      st.exp_avg = Tensor::zeros(w.shape(), w.dtype(), w.device());
      st.exp_avg_sq = Tensor::zeros(w.shape(), w.dtype(), w.device());
    }
    st.step += 1;
    const double b1 = opts_.beta1, b2 = opts_.beta2, eps = opts_.eps;
    const double bc1 = 1 - std::pow(b1, (double)st.step);
    const double bc2_sqrt = std::sqrt(1 - std::pow(b2, (double)st.step));
    const double step_size = lr / bc1;
    engine::dispatch_float(w.dtype(), "AdamW", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* pw = w.data<T>();
      const T* pg = g.data<T>();
      T* m = st.exp_avg.data<T>();
      T* v = st.exp_avg_sq.data<T>();
      engine::parallel_for(0, w.numel(), engine::kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const double gi_ = (double)pg[i];
          double wi = (double)pw[i] * (1 - lr * wd);  // decoupled decay first
          const double mi = b1 * (double)m[i] + (1 - b1) * gi_;
          const double vi = b2 * (double)v[i] + (1 - b2) * gi_ * gi_;
          m[i] = (T)mi;
          v[i] = (T)vi;
          wi -= step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
          pw[i] = (T)wi;
        }
      });
    });
  });
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
      st.exp_avg = m->second.to(p.dtype()).clone();
      st.exp_avg_sq = v->second.to(p.dtype()).clone();
      st.step = n->second.item<int64_t>();
    }
}

}  // namespace cuttle::autograd
