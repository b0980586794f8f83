// Defines Module, the base of every layer and model: parameters (Vars that require grad), buffers
// (plain tensors such as running statistics) and child modules, each registered under a name.
// Names compose with dots exactly like a PyTorch state_dict ("experts.3.branch1.0.weight"), so the
// same weights move between the two by name through safetensors. UnaryModule adds forward(x).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/var.h"
#include "engine/io/safetensors.h"

namespace cuttle::layers {

using autograd::Var;
using engine::DType;
using engine::Shape;
using engine::Tensor;

// What a non-strict load skipped (a strict load throws instead).
struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the state
  std::vector<std::string> unexpected;  // in the state, not in the module
};

class Module {
 public:
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The layer's kind for messages and summaries ("Conv2d", "BatchNorm2d" ...).
  virtual std::string type_name() const { return "Module"; }

  // ---- registration (names: non-empty, no '.', unique within this module) ----
  // Returns a handle sharing the registered parameter's state (keep it as a member). Change values
  // through mutable_data() or copy_; assigning another Var to the member would detach it from the
  // registry, so state_dict, optimizers and loads would no longer see what forward uses.
  Var register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // Buffers are saved in the state but never trained; read them back with buffer(name). A host
  // buffer stays in host memory when the module moves to a device: a counter no kernel reads, whose
  // updates then cost no launch (BatchNorm's num_batches_tracked).
  void register_buffer(const std::string& name, Tensor value, bool host = false);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // ---- this module's own entries (throw when the name is unknown) ----
  Var& param(const std::string& name);
  Tensor& buffer(const std::string& name);
  const Tensor& buffer(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  // ---- recursive views, in PyTorch's order: own entries first, then each child in turn ----
  std::vector<std::pair<std::string, Var>> named_parameters(bool trainable_only = false) const;
  std::vector<Var> parameters(bool trainable_only = false) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // This module (name "") and every descendant.
  std::vector<std::pair<std::string, const Module*>> named_modules() const;
  // Per module: parameters, then buffers; children after. Tensors share storage with the module.
  engine::NamedTensors state_dict() const;
  int64_t num_parameters(bool trainable_only = false) const;

  // ---- state I/O ----
  // Copies `state` into the module (converting dtype and device). Nothing is written unless the
  // whole load can succeed. Strict: missing or unexpected names are an error; mis-shaped entries
  // are an error in both modes. One error lists every kind of problem (the first few names of each
  // and the counts). `source` names the origin in messages.
  LoadReport load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                             const std::string& source = "state dict");
  void save_state(const std::string& path, const std::map<std::string, std::string>& metadata = {},
                  const engine::SafetensorsSaveOptions& opts = {}) const;
  LoadReport load_state(const std::string& path, bool strict = true);

  // ---- modes (recursive) ----
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void freeze() { set_requires_grad(false); }   // every parameter stops requiring grad
  void unfreeze() { set_requires_grad(true); }
  void set_requires_grad(bool on);
  void zero_grad();

  // ---- moves (recursive; parameters keep their identity, so optimizers made before stay valid) ----
  void to(engine::Device device);
  void to(DType dtype);  // floating parameters and buffers only (counters stay i64)

  // An indented tree of the modules with their parameter counts.
  std::string summary() const;

 protected:
  Module() = default;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name) const;
  void summary_into(std::string& out, const std::string& name, int depth) const;

  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<bool> host_buffer_;  // parallel to buffers_
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module with one input and one output: what Sequential chains.
class UnaryModule : public Module {
 public:
  virtual Var forward(const Var& x) = 0;
  Var operator()(const Var& x) { return forward(x); }
};

}  // namespace cuttle::layers
