// Defines SGD with momentum (PyTorch's rule: buf = momentum*buf + (1-dampening)*g, optional Nesterov,
// L2 weight decay added to the gradient).
#pragma once
#include "autograd/optim/optimizer.h"

namespace cuttle::autograd {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SGDOptions& opts);
  SGD(std::vector<Var> params, const SGDOptions& opts) : SGD({ParamGroup{std::move(params)}}, opts) {}
  void step() override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  SGDOptions opts_;
  std::vector<std::vector<Tensor>> momentum_;  // per group, per parameter; undefined until first step
};

}  // namespace cuttle::autograd
