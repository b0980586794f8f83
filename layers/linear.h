// Defines Linear: y = x W^T + b over the last axis, PyTorch's default initialisation and state names
// "weight" [out, in] and "bias" [out].
#pragma once
#include "engine/random.h"
#include "layers/module.h"

namespace cuttle::layers {

class Linear : public UnaryModule {
 public:
  // Weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
  Linear(int64_t in_features, int64_t out_features, engine::Generator& gen, bool bias = true);
  std::string type_name() const override { return "Linear"; }
  Var forward(const Var& x) override;

  Var weight, bias;  // bias undefined when constructed without one
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  int64_t in_, out_;
};

}  // namespace cuttle::layers
