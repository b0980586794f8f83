#include "autograd/optim/optimizer.h"

namespace cuttle::autograd {

Optimizer::Optimizer(std::vector<ParamGroup> groups, double lr, double weight_decay)
    : groups_(std::move(groups)), lr_(lr), weight_decay_(weight_decay) {
  CUTTLE_CHECK(lr >= 0, "optimizer: learning rate must be >= 0, got ", lr);
  CUTTLE_CHECK(weight_decay >= 0, "optimizer: weight decay must be >= 0, got ", weight_decay);
  for (const ParamGroup& g : groups_)
    for (const Var& p : g.params) {
      CUTTLE_CHECK(p.defined() && p.is_leaf(), "optimizer: parameters must be defined leaves");
      CUTTLE_CHECK(engine::is_floating(p.dtype()), "optimizer: parameter ", p.data().str(), " is not floating");
    }
}

void Optimizer::zero_grad() {
  for (ParamGroup& g : groups_)
    for (Var& p : g.params) p.zero_grad();
}

std::string Optimizer::key(size_t group, size_t index, const char* name) {
  return std::to_string(group) + "." + std::to_string(index) + "." + name;
}

Tensor Optimizer::state_copy(const Tensor& saved, const Var& p) {
  const Tensor t = saved.to(p.dtype());
  return t.device() == p.data().device() ? t.clone() : t.to(p.data().device());
}

}  // namespace cuttle::autograd
