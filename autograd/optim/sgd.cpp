#include "autograd/optim/sgd.h"

#include "engine/ops/optim.h"

namespace cuttle::autograd {

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& opts)
    : Optimizer(std::move(groups), opts.lr, opts.weight_decay), opts_(opts) {
  CUTTLE_CHECK(opts.momentum >= 0, "SGD: momentum must be >= 0, got ", opts.momentum);
  CUTTLE_CHECK(!opts.nesterov || (opts.momentum > 0 && opts.dampening == 0),
               "SGD: Nesterov momentum needs momentum > 0 and dampening 0");
  for (const ParamGroup& g : groups_) momentum_.emplace_back(g.params.size());
}

void SGD::step() {
  // Collect every parameter's tensors, then one fused update (a few launches on a GPU).
  std::vector<engine::SGDSlot> slots;
  for_each_with_grad("SGD", [&](size_t gi, size_t pi, Tensor& w, const Tensor& g, double lr, double wd) {
    Tensor& buf = momentum_[gi][pi];
    engine::SGDSlot s;
    s.first = !buf.defined();
    if (opts_.momentum > 0 && s.first) buf = Tensor::zeros(w.shape(), w.dtype(), w.device());
    s.w = w;
    s.grad = g;
    if (opts_.momentum > 0) s.momentum_buf = buf;
    s.lr = lr;
    s.weight_decay = wd;
    slots.push_back(std::move(s));
  });
  engine::sgd_update(slots, opts_.momentum, opts_.dampening, opts_.nesterov);
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
      momentum_[gi][pi] = state_copy(it->second, p);
    }
}

}  // namespace cuttle::autograd
