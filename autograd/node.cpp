#include "autograd/node.h"

#include <atomic>

#include "engine/error.h"
#include "engine/streams.h"

namespace cuttle::autograd {

namespace {
std::atomic<uint64_t> g_next_sequence{0};
}

Node::Node(std::string name, std::vector<Edge> inputs, std::vector<Shape> input_shapes, std::vector<DType> input_dtypes,
           std::vector<Shape> output_shapes, DType output_dtype, engine::Device output_device, BackwardFn fn)
    : name_(std::move(name)), inputs_(std::move(inputs)), input_shapes_(std::move(input_shapes)),
      input_dtypes_(std::move(input_dtypes)), output_shapes_(std::move(output_shapes)), output_dtype_(output_dtype),
      output_device_(output_device), fn_(std::move(fn)), sequence_nr_(g_next_sequence++),
      stream_slot_(engine::current_stream_slot(output_device_)) {}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  for (Edge& e : inputs_)
    if (e.node) pending.push_back(std::move(e.node));
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n.use_count() == 1) {  // we hold the last reference: adopt its inputs before it dies
      for (Edge& e : n->inputs_)
        if (e.node) pending.push_back(std::move(e.node));
    }
  }
}

std::vector<Tensor> Node::apply(const std::vector<Tensor>& grad_outputs, bool retain) {
  CUTTLE_CHECK(fn_, "backward: the graph through op '", name_,
               "' was already freed by an earlier backward(); call backward(grad, /*retain_graph=*/true) "
               "the first time to back-propagate through it twice");
  std::vector<bool> needs(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) needs[i] = inputs_[i].needs_grad();
  std::vector<Tensor> grads = fn_(grad_outputs, needs);
  CUTTLE_CHECK(grads.size() == inputs_.size(), "backward of '", name_, "' returned ", grads.size(),
               " gradients for ", inputs_.size(), " inputs");
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!needs[i]) continue;
    CUTTLE_CHECK(grads[i].defined(), "backward of '", name_, "' gave no gradient for input ", i);
    CUTTLE_CHECK(grads[i].shape() == input_shapes_[i], "backward of '", name_, "': gradient of input ", i,
                 " has shape ", engine::shape_str(grads[i].shape()), ", the input has ",
                 engine::shape_str(input_shapes_[i]));
    CUTTLE_CHECK(grads[i].dtype() == input_dtypes_[i], "backward of '", name_, "': gradient of input ", i,
                 " has dtype ", engine::dtype_name(grads[i].dtype()), ", the input has ",
                 engine::dtype_name(input_dtypes_[i]));
  }
  if (!retain) fn_ = nullptr;  // frees every tensor the closure saved
  return grads;
}

}  // namespace cuttle::autograd
