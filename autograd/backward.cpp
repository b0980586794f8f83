#include "autograd/backward.h"

#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "autograd/grad_mode.h"
#include "engine/ops/elementwise.h"
#include "engine/streams.h"

namespace cuttle::autograd {

namespace {

Tensor accumulate(const Tensor& have, const Tensor& add) {
  return have.defined() ? engine::add(have, add) : add;
}

// A leaf's first gradient must be its own (the optimizer and clipping change it in place), so it is
// cloned unless nothing else holds its storage and it spans all of it -- the usual case of a weight
// gradient a backward function has just made, which saves a copy kernel per parameter and step.
Tensor owned_gradient(Tensor&& g) {
  const bool sole = g.storage().use_count() == 1 && g.is_contiguous() &&
                    (size_t)g.numel() * engine::dtype_size(g.dtype()) == g.storage()->nbytes();
  return sole ? std::move(g) : g.clone();
}

// Counts, for every node reachable from the roots, how many edges lead into it.
std::unordered_map<Node*, int> count_dependencies(const std::vector<Node*>& roots) {
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack = roots;
  std::unordered_set<Node*> seen(roots.begin(), roots.end());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->inputs()) {
      if (!e.node) continue;
      deps[e.node.get()]++;
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }
  return deps;
}

// Joins every side slot a backward pass used into the main stream, where later work (the optimizer,
// a read of the loss) runs: at the end, and also when an exception leaves the pass half done, so
// gradients already written on side streams are still ordered before what the caller does next.
class SideSlotJoin {
 public:
  void use(int device, int slot) { used_.insert({device, slot}); }
  void finish() {
    const std::set<std::pair<int, int>> used = std::move(used_);
    used_.clear();
    for (const auto& [device, slot] : used) engine::stream_wait(engine::Device::cuda(device), 0, slot);
  }
  ~SideSlotJoin() {
    try {
      finish();
    } catch (...) {  // unwinding already: the first error is the one to report
    }
  }

 private:
  std::set<std::pair<int, int>> used_;  // (device index, slot)
};

}  // namespace

void backward(const std::vector<Var>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  CUTTLE_CHECK(roots.size() == grads.size(), "backward: ", roots.size(), " roots but ", grads.size(), " gradients");
  NoGradGuard no_grad;  // the backward pass itself is never recorded
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  // Stream slots (engine/streams.h): each node's backward runs in the slot its forward ran in; the
  // slot that produced each pending gradient (and each leaf's gradient) decides the waits when a
  // gradient crosses slots, and the main stream joins every side slot used before returning.
  std::unordered_map<Node*, std::vector<int>> buffer_slots;
  std::unordered_map<VarImpl*, int> leaf_slots;
  SideSlotJoin join;
  std::unordered_map<Node*, std::shared_ptr<Node>> owners;  // keeps nodes alive while we walk
  std::vector<Node*> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Var& r = roots[i];
    CUTTLE_CHECK(r.requires_grad(), "backward: the value does not require grad (no input of the ops that made ",
                 "it requires grad, or it was computed under NoGradGuard)");
    Tensor g = grads[i];
    if (!g.defined()) {
      CUTTLE_CHECK(r.numel() == 1, "backward: a gradient must be given for a value of shape ",
                   engine::shape_str(r.shape()), "; only single-element values default to 1");
      g = Tensor::ones(r.shape(), r.dtype(), r.device());
    }
    CUTTLE_CHECK(g.shape() == r.shape() && g.dtype() == r.dtype(), "backward: gradient ", g.str(),
                 " does not match the value ", r.data().str());
    if (r.is_leaf()) {
      r.impl()->grad = accumulate(r.impl()->grad, g.clone());
      continue;
    }
    Node* n = r.creator().get();
    auto& buf = buffers[n];
    buf.resize(n->num_outputs());
    buf[r.output_nr()] = accumulate(buf[r.output_nr()], g);
    if (!owners.count(n)) {
      owners[n] = r.creator();
      root_nodes.push_back(n);
    }
  }

  std::unordered_map<Node*, int> deps = count_dependencies(root_nodes);
  // Ready nodes run newest first: any order of ready nodes is valid, this one frees memory early.
  auto later = [](Node* a, Node* b) { return a->sequence_nr() < b->sequence_nr(); };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later)> ready(later);
  for (Node* n : root_nodes)
    if (deps[n] == 0) ready.push(n);

  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    std::shared_ptr<Node> keep = owners[n];
    const int slot = n->stream_slot();
    const engine::Device dev = n->output_device();
    // Slot 0 too: backward() may be called while a side slot is selected, and the waits below
    // assume each node runs on the stream its slot names.
    std::optional<engine::StreamSlotGuard> in_slot;
    if (dev.is_cuda()) {
      in_slot.emplace(dev, slot);
      if (slot != 0) join.use(dev.index, slot);
    }
    std::vector<Tensor> gout = std::move(buffers[n]);
    std::vector<int> gout_slots = std::move(buffer_slots[n]);
    buffers.erase(n);
    buffer_slots.erase(n);
    gout.resize(n->num_outputs());
    gout_slots.resize(n->num_outputs(), 0);
    for (size_t k = 0; k < gout.size(); ++k) {
      if (!gout[k].defined())
        gout[k] = Tensor::zeros(n->output_shape(k), n->output_dtype(), n->output_device());
      else
        engine::stream_wait(dev, slot, gout_slots[k]);
    }
    std::vector<Tensor> gin = n->apply(gout, retain_graph);
    gout.clear();
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Edge& e = n->inputs()[i];
      if (e.leaf) {
        // Leaves own their gradient: never alias a tensor another input or node may hold.
        int& made_in = leaf_slots[e.leaf.get()];
        if (e.leaf->grad.defined()) engine::stream_wait(dev, slot, made_in);
        e.leaf->grad = e.leaf->grad.defined() ? engine::add(e.leaf->grad, gin[i]) : owned_gradient(std::move(gin[i]));
        made_in = slot;
      } else if (e.node) {
        Node* m = e.node.get();
        auto& buf = buffers[m];
        auto& buf_slots = buffer_slots[m];
        buf.resize(m->num_outputs());
        buf_slots.resize(m->num_outputs(), 0);
        if (buf[e.output_nr].defined()) engine::stream_wait(dev, slot, buf_slots[e.output_nr]);
        buf[e.output_nr] = accumulate(buf[e.output_nr], gin[i]);
        buf_slots[e.output_nr] = slot;
        owners.emplace(m, e.node);
        if (--deps[m] == 0) ready.push(m);
      }
    }
    gin.clear();
    owners.erase(n);
  }
  join.finish();
}

}  // namespace cuttle::autograd
