// Defines ModelEMA: an exponential moving average of a module's parameters and floating buffers
// (integer buffers such as BN's num_batches_tracked are copied), the weights validated with when the
// recipe turns EMA on.
#pragma once
#include <string>
#include <vector>

#include "layers/module.h"

namespace cuttle::layers {

class ModelEMA {
 public:
  explicit ModelEMA(const Module& model, double decay = 0.999);
  // ema = decay * ema + (1 - decay) * current, for every entry of the state dict.
  void update(const Module& model);
  // Writes the averaged weights into `model` (e.g. a second instance used for validation).
  void copy_to(Module& model) const;
  const engine::NamedTensors& state() const { return state_; }
  // Restores a saved average (strict: same names and shapes).
  void load(const engine::NamedTensors& state);
  double decay() const { return decay_; }
  int64_t updates() const { return updates_; }

 private:
  double decay_;
  int64_t updates_ = 0;
  engine::NamedTensors state_;  // own copies, same order as model.state_dict()
};

}  // namespace cuttle::layers
