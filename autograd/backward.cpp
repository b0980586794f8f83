#include "autograd/backward.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "engine/ops/elementwise.h"

namespace cuttle::autograd {

namespace {

Tensor accumulate(const Tensor& have, const Tensor& add) {
  return have.defined() ? engine::add(have, add) : add;
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

}  // namespace

void backward(const std::vector<Var>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  CUTTLE_CHECK(roots.size() == grads.size(), "backward: ", roots.size(), " roots but ", grads.size(), " gradients");
  NoGradGuard no_grad;  // the backward pass itself is never recorded
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
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
    std::vector<Tensor> gout = std::move(buffers[n]);
    buffers.erase(n);
    gout.resize(n->num_outputs());
    for (size_t k = 0; k < gout.size(); ++k)
      if (!gout[k].defined()) gout[k] = Tensor::zeros(n->output_shape(k), n->output_dtype(), n->output_device());
    std::vector<Tensor> gin = n->apply(gout, retain_graph);
    gout.clear();
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Edge& e = n->inputs()[i];
      if (e.leaf) {
        // Leaves own their gradient: never alias a tensor another input or node may hold.
        e.leaf->grad = e.leaf->grad.defined() ? engine::add(e.leaf->grad, gin[i]) : gin[i].clone();
      } else if (e.node) {
        Node* m = e.node.get();
        auto& buf = buffers[m];
        buf.resize(m->num_outputs());
        buf[e.output_nr] = accumulate(buf[e.output_nr], gin[i]);
        owners.emplace(m, e.node);
        if (--deps[m] == 0) ready.push(m);
      }
    }
    owners.erase(n);
  }
}

}  // namespace cuttle::autograd
