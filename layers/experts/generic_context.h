// Defines the SemanticContext expert (generic, LN2d + GELU), [B,C,H,W] -> [B,C,H,W]: for s in 8, 4, 2, 1
// a branch AdaptiveAvgPool(s), conv1x1 C->qj, LN2d, GELU, resized bilinearly (align_corners=false) back
// to H x W; concat, fusion (conv1x1, LN2d, GELU), + x.
// Names: branches.{j}.{0: pool, 1: conv, 2: LN2d, 3: GELU}, fusion.{k} (see common.h).
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class SemanticContext : public UnaryModule {
 public:
  SemanticContext(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "SemanticContext"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // branches.j = [AdaptiveAvgPool(s), conv1x1, LN2d, GELU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, LN2d, GELU]

 private:
  int64_t C_;
};

}  // namespace cuttle::layers
