// Defines two generic experts, each [B,C,H,W] -> [B,C,H,W] ending in + x:
//   Contrast    the original: local = dwconv3x3, LN2d, GELU, conv1x1 C->C, LN2d; then fusion =
//               conv1x1 C->C, LN2d, GELU; out = fusion(local(x)) + x.
//   ContrastBN  the original's proposed fix for parameter balance: branches conv3x3 C->q, conv3x3
//               dilation 2 C->q, conv5x5 C->q, conv1x1 C->(C-3q), each BN, GELU; concat, fusion
//               (conv1x1, BN, GELU), + x.   (q = floor(C/4))
// Names: local.{k}, branches.{j}.{k}, fusion.{k} (see common.h).
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class Contrast : public UnaryModule {
 public:
  Contrast(int64_t C, engine::Generator& gen);  // C >= 1
  std::string type_name() const override { return "Contrast"; }
  Var forward(const Var& x) override;

  std::shared_ptr<Sequential> local;   // [dwconv3x3, LN2d, GELU, conv1x1, LN2d]
  std::shared_ptr<Sequential> fusion;  // [conv1x1, LN2d, GELU]

 private:
  int64_t C_;
};

class ContrastBN : public UnaryModule {
 public:
  ContrastBN(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "ContrastBN"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [conv (3x3, 3x3 dil 2, 5x5, 1x1), BN, GELU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, BN, GELU]

 private:
  int64_t C_;
};

}  // namespace cuttle::layers
