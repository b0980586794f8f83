#include "autograd/optim/sgd.h"

#include "engine/dispatch.h"
#include "engine/parallel.h"

namespace cuttle::autograd {

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& opts)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay), opts_(opts) {
  CUTTLE_CHECK(opts.momentum >= 0, "SGD: momentum must be >= 0, got ", opts.momentum);
  CUTTLE_CHECK(!opts.nesterov || (opts.momentum > 0 && opts.dampening == 0),
               "SGD: Nesterov momentum needs momentum > 0 and dampening 0");
  for (const ParamGroup& g : groups_) momentum_.emplace_back(g.params.size());
}

void SGD::step() {
  for_each_with_grad("SGD", [&](size_t gi, size_t pi, Tensor& w, const Tensor& g, double lr, double wd) {
    Tensor& buf = momentum_[gi][pi];
    const bool first = !buf.defined();
    if (opts_.momentum > 0 && first) buf = Tensor::zeros(w.shape(), w.dtype(), w.device());
    engine::dispatch_float(w.dtype(), "SGD", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* pw = w.data<T>();
      const T* pg = g.data<T>();
      T* pb = opts_.momentum > 0 ? buf.data<T>() : nullptr;
      const double mom = opts_.momentum, damp = opts_.dampening;
      const bool nesterov = opts_.nesterov;
      engine::parallel_for(0, w.numel(), engine::kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          double d = (double)pg[i] + wd * (double)pw[i];
          if (pb) {
            // PyTorch starts the buffer at the first gradient, undamped.
            const double m = first ? d : mom * (double)pb[i] + (1 - damp) * d;
            pb[i] = (T)m;
            d = nesterov ? d + mom * m : m;
          }
          pw[i] = (T)((double)pw[i] - lr * d);
        }
      });
    });
  });
}

std::map<std::string, Tensor> SGD::state_dict() const {
  std::map<std::string, Tensor> s;
  for (size_t gi = 0; gi < momentum_.size(); ++gi)
    for (size_t pi = 0; pi < momentum_[gi].size(); ++pi)
      if (momentum_[gi][pi].defined()) s[key(gi, pi, "momentum")] = momentum_[gi][pi];
  return s;
}

void SGD::load_state_dict(const std::map<std::string, Tensor>& state) {
  for (size_t gi = 0; gi < momentum_.size(); ++gi)
    for (size_t pi = 0; pi < momentum_[gi].size(); ++pi) {
      auto it = state.find(key(gi, pi, "momentum"));
      if (it == state.end()) {
        momentum_[gi][pi] = Tensor();
        continue;
      }
      const Var& p = groups_[gi].params[pi];
      CUTTLE_CHECK(it->second.shape() == p.shape(), "SGD::load_state_dict: ", it->first, " has shape ",
                   engine::shape_str(it->second.shape()), ", the parameter has ", engine::shape_str(p.shape()));
      momentum_[gi][pi] = it->second.to(p.dtype()).clone();
    }
}

}  // namespace cuttle::autograd
