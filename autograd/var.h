// Defines Var, the differentiable value: a tensor, its gradient, whether it requires one, and the
// node that created it. Copies of a Var share one state (like a PyTorch tensor handle).
#pragma once
#include <memory>
#include <string>

#include "autograd/node.h"

namespace cuttle::autograd {

struct VarImpl {
  Tensor data;
  Tensor grad;
  bool requires_grad = false;
  std::shared_ptr<Node> creator;  // null for leaves
  int output_nr = 0;
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor data, bool requires_grad = false);
  // A non-leaf produced by `creator`'s output `output_nr`.
  Var(Tensor data, std::shared_ptr<Node> creator, int output_nr);

  bool defined() const { return impl_ && impl_->data.defined(); }
  const Tensor& data() const;
  // For in-place updates that must not be recorded (optimizers, initialisation).
  Tensor& mutable_data();
  const Tensor& grad() const;
  void set_grad(const Tensor& g);
  // Drops the gradient (the optimizer then skips this parameter, as PyTorch's set_to_none).
  void zero_grad();
  bool requires_grad() const;
  // Only leaves may change requires_grad.
  void set_requires_grad(bool on);
  bool is_leaf() const;
  const std::shared_ptr<Node>& creator() const;
  int output_nr() const { return impl_ ? impl_->output_nr : 0; }
  const std::shared_ptr<VarImpl>& impl() const { return impl_; }

  // A leaf sharing this value's data, cut from the graph.
  Var detach() const;
  // Back-propagates from this value. `grad` defaults to ones for a single-element value.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  const Shape& shape() const { return data().shape(); }
  int64_t dim() const { return data().dim(); }
  int64_t size(int64_t axis) const { return data().size(axis); }
  int64_t numel() const { return data().numel(); }
  DType dtype() const { return data().dtype(); }
  engine::Device device() const { return data().device(); }
  double item() const { return data().item(); }

 private:
  std::shared_ptr<VarImpl> impl_;
};

// Records an op with several outputs: when grad mode is on and an input requires grad, the outputs
// get a Node holding `fn`; otherwise they are plain values. Ops with no differentiable output pass
// their results through Var(tensor).
std::vector<Var> record(const char* name, std::vector<Tensor> outputs, const std::vector<Var>& inputs,
                        Node::BackwardFn fn);
Var record(const char* name, Tensor output, const std::vector<Var>& inputs, Node::BackwardFn fn);
bool any_requires_grad(const std::vector<Var>& inputs);

}  // namespace cuttle::autograd
