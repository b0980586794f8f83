// Defines two COD experts (BN + ReLU family), each [B,C,H,W] -> [B,C,H,W] ending in + x:
//   CODTexture   4 branches with dilations 1, 2, 4, 8: conv1x1 C->ci, conv3x3 ci->ci (dilated), BN, ReLU;
//                concat, fusion (conv1x1 C->C, BN, ReLU), + x.
//   CODFrequency branches conv3x3 C->c1, conv5x5 C->c2, conv7x7 C->c3, conv1x1 C->c4, each BN, ReLU;
//                concat, fusion, + x.
// ci follow the C/4 split rule. Names: branches.{j}.{k}, fusion.{k} (see common.h).
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class CODTexture : public UnaryModule {
 public:
  CODTexture(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "CODTexture"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [conv1x1, conv3x3 dil, BN, ReLU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, BN, ReLU]

 private:
  int64_t C_;
};

class CODFrequency : public UnaryModule {
 public:
  CODFrequency(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "CODFrequency"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [conv kxk, BN, ReLU], k = 3, 5, 7, 1
  std::shared_ptr<Sequential> fusion;

 private:
  int64_t C_;
};

}  // namespace cuttle::layers
