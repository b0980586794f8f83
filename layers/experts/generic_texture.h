// Defines two generic experts (LN2d + GELU family), each [B,C,H,W] -> [B,C,H,W] ending in + x:
//   Texture  4 branches with dilations 1, 2, 3, 4: conv1x1 C->qj, conv3x3 qj->qj (dilated), LN2d, GELU;
//            concat, fusion (conv1x1 C->C, LN2d, GELU), + x.   (qj: the C/4 split rule)
//   Hybrid   local = dwconv5x5, LN2d, conv1x1 C->C, GELU; gate = sigmoid(conv1x1 C/4->C (GELU (conv1x1
//            C->C/4 (GAP x)))); out = conv1x1 C->C (local * gate) + x.
// Names: branches.{j}.{k}, fusion.{k}, local.{k}, gate.{k} (see common.h).
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class Texture : public UnaryModule {
 public:
  Texture(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "Texture"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [conv1x1, conv3x3 dil, LN2d, GELU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, LN2d, GELU]

 private:
  int64_t C_;
};

class Hybrid : public UnaryModule {
 public:
  Hybrid(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "Hybrid"; }
  Var forward(const Var& x) override;

  std::shared_ptr<Sequential> local;   // [dwconv5x5, LN2d, conv1x1, GELU]
  std::shared_ptr<Sequential> gate;    // [GAP, conv1x1 C->C/4, GELU, conv1x1 C/4->C, Sigmoid]
  std::shared_ptr<Sequential> fusion;  // [conv1x1]

 private:
  int64_t C_;
};

}  // namespace cuttle::layers
