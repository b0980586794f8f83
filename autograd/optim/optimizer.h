// Defines Optimizer, the base of the parameter-update rules: parameter groups (each with its own lr
// multiplier and weight decay), zero_grad, and per-parameter state that checkpoints save.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/var.h"

namespace cuttle::autograd {

struct ParamGroup {
  std::vector<Var> params;
  double lr_scale = 1.0;      // this group's lr = optimizer lr * lr_scale
  double weight_decay = -1;   // < 0: the optimizer's default
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update to every parameter that has a gradient; parameters without one (never used
  // in the forward) are skipped and their state does not advance, as PyTorch does with grad None.
  virtual void step() = 0;
  void zero_grad();
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Per-parameter state keyed "<group>.<index>.<name>" (f32/f64 tensors; step counts as i64 scalars).
  virtual std::map<std::string, Tensor> state_dict() const = 0;
  virtual void load_state_dict(const std::map<std::string, Tensor>& state) = 0;

 protected:
  Optimizer(std::vector<ParamGroup> groups, double lr, double weight_decay);
  double group_weight_decay(const ParamGroup& g) const { return g.weight_decay < 0 ? weight_decay_ : g.weight_decay; }
  static std::string key(size_t group, size_t index, const char* name);
  // An own copy of saved state with the parameter's dtype and device (a checkpoint read on the CPU
  // resumes a run on a GPU).
  static Tensor state_copy(const Tensor& saved, const Var& p);
  // Calls fn(group, index, weights, contiguous grad, lr, weight decay) for every parameter that has a
  // gradient, in group order: the traversal every update rule shares.
  template <typename Fn>
  void for_each_with_grad(const char* who, const Fn& fn) {
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      ParamGroup& group = groups_[gi];
      const double lr = lr_ * group.lr_scale, wd = group_weight_decay(group);
      for (size_t pi = 0; pi < group.params.size(); ++pi) {
        Var& p = group.params[pi];
        if (!p.grad().defined()) continue;
        Tensor& w = p.mutable_data();
        CUTTLE_CHECK(w.is_contiguous(), who, ": parameter ", w.str(), " must be contiguous");
        fn(gi, pi, w, p.grad().contiguous(), lr, wd);
      }
    }
  }

  std::vector<ParamGroup> groups_;
  double lr_;
  double weight_decay_;
};

}  // namespace cuttle::autograd
