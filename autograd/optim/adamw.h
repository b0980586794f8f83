// Defines AdamW: Adam with decoupled weight decay (PyTorch's update rule, bias-corrected moments,
// a step count per parameter).
#pragma once
#include "autograd/optim/optimizer.h"

namespace cuttle::autograd {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& opts);
  AdamW(std::vector<Var> params, const AdamWOptions& opts) : AdamW({ParamGroup{std::move(params)}}, opts) {}
  void step() override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  struct State {
    Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  AdamWOptions opts_;
  std::vector<std::vector<State>> state_;
};

}  // namespace cuttle::autograd
