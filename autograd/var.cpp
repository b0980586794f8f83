#include "autograd/var.h"

#include "autograd/backward.h"
#include "autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/op_trace.h"

namespace cuttle::autograd {

Var::Var(Tensor data, bool requires_grad) : impl_(std::make_shared<VarImpl>()) {
  CUTTLE_CHECK(!requires_grad || engine::is_floating(data.dtype()), "Var: only floating tensors can require ",
               "grad, got ", data.str());
  impl_->data = std::move(data);
  impl_->requires_grad = requires_grad;
}

Var::Var(Tensor data, std::shared_ptr<Node> creator, int output_nr) : impl_(std::make_shared<VarImpl>()) {
  impl_->data = std::move(data);
  impl_->requires_grad = true;
  impl_->creator = std::move(creator);
  impl_->output_nr = output_nr;
}

const Tensor& Var::data() const {
  CUTTLE_CHECK(impl_, "Var: undefined value");
  return impl_->data;
}
Tensor& Var::mutable_data() {
  CUTTLE_CHECK(impl_, "Var: undefined value");
  return impl_->data;
}
const Tensor& Var::grad() const {
  CUTTLE_CHECK(impl_, "Var: undefined value");
  return impl_->grad;
}
void Var::set_grad(const Tensor& g) {
  CUTTLE_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient ", g.str(), " for value ", data().str());
  impl_->grad = g;
}
void Var::zero_grad() {
  if (impl_) impl_->grad = Tensor();
}
bool Var::requires_grad() const { return impl_ && impl_->requires_grad; }
void Var::set_requires_grad(bool on) {
  CUTTLE_CHECK(is_leaf(), "set_requires_grad: only leaves can change requires_grad (this value comes from '",
               impl_->creator->name(), "'); detach() it first");
  CUTTLE_CHECK(!on || engine::is_floating(data().dtype()), "set_requires_grad: ", data().str(),
               " is not floating");
  impl_->requires_grad = on;
}
bool Var::is_leaf() const { return !impl_ || !impl_->creator; }
const std::shared_ptr<Node>& Var::creator() const {
  static const std::shared_ptr<Node> none;
  return impl_ ? impl_->creator : none;
}

Var Var::detach() const { return Var(data(), false); }

void Var::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

bool any_requires_grad(const std::vector<Var>& inputs) {
  for (const Var& v : inputs)
    if (v.requires_grad()) return true;
  return false;
}

std::vector<Var> record(const char* name, std::vector<Tensor> outputs, const std::vector<Var>& inputs,
                        Node::BackwardFn fn) {
  std::vector<Var> out;
  out.reserve(outputs.size());
  if (!grad_enabled() || !any_requires_grad(inputs)) {
    for (Tensor& t : outputs) out.emplace_back(std::move(t), false);
    return out;
  }
  engine::HostSection section("autograd: record node");
  std::vector<Edge> edges(inputs.size());
  std::vector<Shape> in_shapes(inputs.size());
  std::vector<DType> in_dtypes(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Var& v = inputs[i];
    if (!v.defined()) continue;
    in_shapes[i] = v.shape();
    in_dtypes[i] = v.dtype();
    if (!v.requires_grad()) continue;
    if (v.is_leaf()) edges[i].leaf = v.impl();
    else {
      edges[i].node = v.creator();
      edges[i].output_nr = v.output_nr();
    }
  }
  std::vector<Shape> out_shapes;
  for (const Tensor& t : outputs) out_shapes.push_back(t.shape());
  auto node = std::make_shared<Node>(name, std::move(edges), std::move(in_shapes), std::move(in_dtypes),
                                     std::move(out_shapes), outputs.at(0).dtype(), outputs.at(0).device(),
                                     std::move(fn));
  for (size_t i = 0; i < outputs.size(); ++i) out.emplace_back(std::move(outputs[i]), node, (int)i);
  return out;
}

Var record(const char* name, Tensor output, const std::vector<Var>& inputs, Node::BackwardFn fn) {
  return record(name, std::vector<Tensor>{std::move(output)}, inputs, std::move(fn))[0];
}

}  // namespace cuttle::autograd
