// Defines Dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p); the identity in eval mode.
#pragma once
#include "engine/random.h"
#include "layers/module.h"

namespace cuttle::layers {

class Dropout : public UnaryModule {
 public:
  // `gen` draws the masks and must outlive the layer; null means the process-wide default generator.
  explicit Dropout(double p = 0.5, engine::Generator* gen = nullptr);
  std::string type_name() const override { return "Dropout"; }
  Var forward(const Var& x) override;

  double p() const { return p_; }
  void set_generator(engine::Generator* gen) { gen_ = gen; }

 private:
  double p_;
  engine::Generator* gen_;
};

}  // namespace cuttle::layers
