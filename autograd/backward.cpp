#include "autograd/backward.h"

#include <array>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "autograd/grad_mode.h"
#include "autograd/slot_workers.h"
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

// One backward pass's bookkeeping, shared by the calling thread and the slot workers
// (autograd/slot_workers.h) under one mutex; a node's closure runs outside it. Stream slots
// (engine/streams.h): each node's backward runs in the slot its forward ran in; the slot that produced
// each pending gradient (and each leaf's gradient) decides the waits when a gradient crosses slots, and
// the main stream joins every side slot used before backward() returns. With backward threads, a side
// slot's nodes run on that slot's worker, several side slots at once, but never while a slot-0 node
// runs: the main stream then never joins a side stream whose thread is inside an op, which the
// allocator's cross-stream rules (engine/stream_hold_policy.h) assume.
class BackwardPass {
 public:
  BackwardPass(bool retain_graph, bool threaded) : retain_(retain_graph), threaded_(threaded) {}

  // A root's gradient (the caller has checked it).
  void seed(const std::shared_ptr<Node>& creator, int output_nr, const Tensor& g) {
    Node* n = creator.get();
    auto& buf = buffers_[n];
    buf.resize(n->num_outputs());
    buf[(size_t)output_nr] = accumulate(buf[(size_t)output_nr], g);
    if (!owners_.count(n)) {
      owners_[n] = creator;
      roots_.push_back(n);
    }
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    deps_ = count_dependencies(roots_);
    for (Node* n : roots_)
      if (deps_[n] == 0) push_ready(n);
    for (;;) {
      if (error_) {
        cv_.wait(lock, [this] { return running_ == 0; });
        break;
      }
      if (!main_ready_.empty()) {
        if (running_ > 0) {  // side nodes drain first
          cv_.wait(lock);
          continue;
        }
        Node* n = main_ready_.top();
        main_ready_.pop();
        main_running_ = true;
        lock.unlock();
        try {
          execute(n);
        } catch (...) {
          lock.lock();
          main_running_ = false;
          error_ = std::current_exception();
          continue;
        }
        lock.lock();
        main_running_ = false;
        continue;
      }
      for (int s = 1; s <= engine::kMaxStreamSlots; ++s) start_worker(s);
      if (running_ == 0) break;  // nothing ready, nothing running: done
      cv_.wait(lock);
    }
    lock.unlock();
    join_.finish();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Ready nodes run newest first: any order of ready nodes is valid, this one frees memory early.
  struct Later {
    bool operator()(Node* a, Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
  };
  using ReadyQueue = std::priority_queue<Node*, std::vector<Node*>, Later>;

  // Callers hold mu_.
  void push_ready(Node* n) {
    const int slot = n->stream_slot();
    if (threaded_ && slot != 0 && n->output_device().is_cuda()) {
      side_ready_[(size_t)slot].push(n);
      start_worker(slot);
    } else {
      main_ready_.push(n);
    }
  }

  // Sets slot s's worker draining its ready nodes, unless it is at it already or slot-0 work comes
  // first (mu_ held).
  void start_worker(int s) {
    if (busy_[(size_t)s] || side_ready_[(size_t)s].empty() || !main_ready_.empty() || main_running_ || error_) return;
    busy_[(size_t)s] = true;
    ++running_;
    post_to_slot_worker(s, [this, s] { drain_slot(s); });
  }

  // A worker runs its slot's ready nodes one after another (no hand-off per node) until none is
  // left, slot-0 work is waiting, or a node failed.
  void drain_slot(int s) {
    NoGradGuard no_grad;  // grad mode is per thread
    std::unique_lock<std::mutex> lock(mu_);
    while (!error_ && main_ready_.empty() && !side_ready_[(size_t)s].empty()) {
      Node* n = side_ready_[(size_t)s].top();
      side_ready_[(size_t)s].pop();
      lock.unlock();
      try {
        execute(n);
      } catch (...) {
        lock.lock();
        if (!error_) error_ = std::current_exception();
        break;
      }
      lock.lock();
    }
    busy_[(size_t)s] = false;
    --running_;
    cv_.notify_all();
  }

  void execute(Node* n) {
    const int slot = n->stream_slot();
    const engine::Device dev = n->output_device();
    // Slot 0 too: backward() may be called while a side slot is selected, and the waits below
    // assume each node runs on the stream its slot names.
    std::optional<engine::StreamSlotGuard> in_slot;
    if (dev.is_cuda()) in_slot.emplace(dev, slot);
    std::shared_ptr<Node> keep;
    std::vector<Tensor> gout;
    std::vector<int> gout_slots;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (dev.is_cuda() && slot != 0) join_.use(dev.index, slot);
      keep = owners_[n];
      gout = std::move(buffers_[n]);
      gout_slots = std::move(buffer_slots_[n]);
      buffers_.erase(n);
      buffer_slots_.erase(n);
    }
    gout.resize(n->num_outputs());
    gout_slots.resize(n->num_outputs(), 0);
    for (size_t k = 0; k < gout.size(); ++k) {
      if (!gout[k].defined())
        gout[k] = Tensor::zeros(n->output_shape(k), n->output_dtype(), n->output_device());
      else
        engine::stream_wait(dev, slot, gout_slots[k]);
    }
    std::vector<Tensor> gin = n->apply(gout, retain_);
    gout.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      route(n, gin, slot, dev);
      owners_.erase(n);
    }
    gin.clear();
    keep.reset();  // the node's saved tensors go while its slot is selected
  }

  // Hands a node's input gradients on (mu_ held).
  void route(Node* n, std::vector<Tensor>& gin, int slot, engine::Device dev) {
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Edge& e = n->inputs()[i];
      if (e.leaf) {
        // Leaves own their gradient: never alias a tensor another input or node may hold.
        int& made_in = leaf_slots_[e.leaf.get()];
        if (e.leaf->grad.defined()) engine::stream_wait(dev, slot, made_in);
        e.leaf->grad = e.leaf->grad.defined() ? engine::add(e.leaf->grad, gin[i]) : owned_gradient(std::move(gin[i]));
        made_in = slot;
      } else if (e.node) {
        Node* m = e.node.get();
        auto& buf = buffers_[m];
        auto& buf_slots = buffer_slots_[m];
        buf.resize(m->num_outputs());
        buf_slots.resize(m->num_outputs(), 0);
        if (buf[e.output_nr].defined()) engine::stream_wait(dev, slot, buf_slots[e.output_nr]);
        buf[e.output_nr] = accumulate(buf[e.output_nr], gin[i]);
        buf_slots[e.output_nr] = slot;
        owners_.emplace(m, e.node);
        if (--deps_[m] == 0) push_ready(m);
      }
    }
  }

  const bool retain_, threaded_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Node*, std::vector<Tensor>> buffers_;
  std::unordered_map<Node*, std::vector<int>> buffer_slots_;
  std::unordered_map<VarImpl*, int> leaf_slots_;
  std::unordered_map<Node*, std::shared_ptr<Node>> owners_;  // keeps nodes alive while we walk
  std::unordered_map<Node*, int> deps_;
  std::vector<Node*> roots_;
  ReadyQueue main_ready_;
  std::array<ReadyQueue, engine::kMaxStreamSlots + 1> side_ready_;
  std::array<bool, engine::kMaxStreamSlots + 1> busy_{};
  int running_ = 0;            // workers draining a slot
  bool main_running_ = false;  // a slot-0 node is running on the calling thread
  std::exception_ptr error_;
  SideSlotJoin join_;
};

}  // namespace

void backward(const std::vector<Var>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  CUTTLE_CHECK(roots.size() == grads.size(), "backward: ", roots.size(), " roots but ", grads.size(), " gradients");
  NoGradGuard no_grad;  // the backward pass itself is never recorded
  // A trace or log on this thread must see every node: the pass then stays on this thread.
  BackwardPass pass(retain_graph, backward_threads() && !ops_observed_on_this_thread());
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
    pass.seed(r.creator(), r.output_nr(), g);
  }
  pass.run();
}

}  // namespace cuttle::autograd
