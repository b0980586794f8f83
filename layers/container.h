// Defines the containers: Sequential (children named "0", "1", ... applied in order; a biased Conv2d
// followed by ReLU or GELU runs as Conv2d::forward_activated, a Conv2d followed by BatchNorm2d (and
// ReLU) as layers::conv_batch_norm, a BatchNorm2d followed by ReLU as one fused op) and ModuleList
// (children named by index, no forward of its own), matching PyTorch's state names.
#pragma once
#include <memory>
#include <vector>

#include "layers/module.h"

namespace cuttle::layers {

class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> layers);
  std::string type_name() const override { return "Sequential"; }

  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> layer) {
    std::shared_ptr<UnaryModule> u = layer;  // must be a UnaryModule
    register_module(std::to_string(layers_.size()), u);
    layers_.push_back(std::move(u));
    return layer;
  }
  size_t size() const { return layers_.size(); }
  const std::shared_ptr<UnaryModule>& operator[](size_t i) const;
  Var forward(const Var& x) override;

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

class ModuleList : public Module {
 public:
  ModuleList() = default;
  std::string type_name() const override { return "ModuleList"; }

  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(items_.size()), m);
    items_.push_back(m);
    return m;
  }
  size_t size() const { return items_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const;
  // The i-th module as its concrete type (throws when it is another type).
  template <typename M>
  std::shared_ptr<M> at(size_t i) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!p) throw_wrong_type(i);
    return p;
  }
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return items_.begin(); }
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return items_.end(); }

 private:
  [[noreturn]] void throw_wrong_type(size_t i) const;
  std::vector<std::shared_ptr<Module>> items_;
};

}  // namespace cuttle::layers
