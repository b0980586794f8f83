// Defines the CODHybrid expert (BN + ReLU family), [B,C,H,W] -> [B,C,H,W]:
//   local = dwconv5x5 (groups C), BN, conv1x1 C->C, ReLU;
//   gate  = sigmoid(conv1x1 C/4->C (ReLU (conv1x1 C->C/4 (GAP x))))   (the table's "global");
//   out   = BN(conv1x1 C->C (local * gate)) + x.
// Names: local.{k}, gate.{k}, fusion.{0: conv, 1: BN} (see common.h).
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class CODHybrid : public UnaryModule {
 public:
  CODHybrid(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "CODHybrid"; }
  Var forward(const Var& x) override;

  std::shared_ptr<Sequential> local;   // [dwconv5x5, BN, conv1x1, ReLU]
  std::shared_ptr<Sequential> gate;    // [GAP, conv1x1 C->C/4, ReLU, conv1x1 C/4->C, Sigmoid]
  std::shared_ptr<Sequential> fusion;  // [conv1x1, BN]

 private:
  int64_t C_;
};

}  // namespace cuttle::layers
