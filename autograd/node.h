// Defines Node, one recorded op on the tape: where its inputs' gradients go (edges), the shapes it
// must produce, and the backward closure that holds the tensors it saved.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cuttle::autograd {

using engine::DType;
using engine::Shape;
using engine::Tensor;

struct VarImpl;
class Node;

// Where one input's gradient flows: into another node's output slot, or into a leaf's .grad.
// Neither set means the input needs no gradient.
struct Edge {
  std::shared_ptr<Node> node;
  int output_nr = 0;
  std::shared_ptr<VarImpl> leaf;
  bool needs_grad() const { return node || leaf; }
};

class Node {
 public:
  // Receives one gradient per output (zeros where an output got none) and which inputs need a
  // gradient; returns one tensor per input (undefined where not needed).
  using BackwardFn =
      std::function<std::vector<Tensor>(const std::vector<Tensor>& grad_outputs, const std::vector<bool>& needs)>;

  Node(std::string name, std::vector<Edge> inputs, std::vector<Shape> input_shapes, std::vector<DType> input_dtypes,
       std::vector<Shape> output_shapes, DType output_dtype, engine::Device output_device, BackwardFn fn);
  // Releases long chains of nodes iteratively: a recursive release would overflow the stack.
  ~Node();

  const std::string& name() const { return name_; }
  const std::vector<Edge>& inputs() const { return inputs_; }
  size_t num_outputs() const { return output_shapes_.size(); }
  const Shape& output_shape(size_t i) const { return output_shapes_[i]; }
  DType output_dtype() const { return output_dtype_; }
  engine::Device output_device() const { return output_device_; }
  uint64_t sequence_nr() const { return sequence_nr_; }
  // The stream slot the op was recorded in (engine/streams.h): its backward runs there too.
  int stream_slot() const { return stream_slot_; }
  bool released() const { return !fn_; }

  // Runs the closure, checks what it returned against the inputs, and (unless retain) frees the
  // saved tensors.
  std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs, bool retain);

 private:
  std::string name_;
  std::vector<Edge> inputs_;
  std::vector<Shape> input_shapes_;
  std::vector<DType> input_dtypes_;
  std::vector<Shape> output_shapes_;
  DType output_dtype_;
  engine::Device output_device_;
  BackwardFn fn_;
  uint64_t sequence_nr_;
  int stream_slot_;
};

}  // namespace cuttle::autograd
