// Defines two COD experts (BN + ReLU family), each [B,C,H,W] -> [B,C,H,W]:
//   CODEdge              three conv3x3 C->ci (initialised from Sobel-x, Sobel-y, Laplacian) and one
//                        conv1x1 C->c4, each BN, ReLU; concat, fusion (conv1x1, BN, ReLU), + x.
//   ContrastEnhancement  conv3x3 C->c1, conv5x5 C->c2, conv7x7 C->c3 (C/3 split), each BN, ReLU; concat,
//                        fusion =: con; amp = gate(con); out = x + con * amp.
// Names: branches.{j}.{k}, fusion.{k}, amp.{k} (see common.h).
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class CODEdge : public UnaryModule {
 public:
  // FIX (the original promised this init but never did it): branch j < 3's conv weight [ci, C, 3, 3] is
  // W[o, i] = K_j / sum|K_j| where i = o (mod ci), plus 0.1 times PyTorch's default uniform init
  // everywhere (so the filters differ); its bias is 0. K_0 = Sobel-x, K_1 = Sobel-y, K_2 = Laplacian.
  CODEdge(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "CODEdge"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [conv (3x3, 3x3, 3x3, 1x1), BN, ReLU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, BN, ReLU]

 private:
  int64_t C_;
};

class ContrastEnhancement : public UnaryModule {
 public:
  ContrastEnhancement(int64_t C, engine::Generator& gen);  // C >= 4 (the amp squeezes to C/4)
  std::string type_name() const override { return "ContrastEnhancement"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [conv kxk, BN, ReLU], k = 3, 5, 7
  std::shared_ptr<Sequential> fusion;    // [conv1x1, BN, ReLU]
  std::shared_ptr<Sequential> amp;       // [GAP, conv1x1 C->C/4, ReLU, conv1x1 C/4->C, Sigmoid]

 private:
  int64_t C_;
};

}  // namespace cuttle::layers
