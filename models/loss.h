// Declares CamoXpert's losses (docs/CAMOXPERT.md, "Loss", with its FIXes): the F3Net/SINet-V2
// structure loss, BCE on probabilities, and the weighted total over every head of CamoXpertOutput.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/camoxpert.h"
#include "models/camoxpert_config.h"

namespace cuttle::models {

// mean over the batch of (weighted BCE-with-logits + weighted IoU), w = 1 + 5 |avgpool31(T) - T|.
// logits and target [B,1,H,W] (any C works); the target carries no gradient.
Var structure_loss(const Var& logits, const Var& target);

// Mean BCE on probabilities, each log clamped at -100 as PyTorch's binary_cross_entropy (at the
// dtype's smallest normal number, log = -87.3 in f32, where 1/p of a denormal would overflow).
Var bce_prob(const Var& prob, const Var& target);

// Every term unweighted (for logs) and the weighted total.
struct LossTerms {
  Var total;
  Var final_map, refine, p0, fg, search, deep, uncertainty, moe_aux;  // moe_aux undefined when none
  // (name, value) of the total and each defined term, in a fixed order.
  std::vector<std::pair<std::string, double>> values() const;
};

// target [B,1,H,W] in [0,1], the input's H x W.
LossTerms camoxpert_loss(const CamoXpertOutput& out, const Tensor& target, const LossWeights& w);

}  // namespace cuttle::models
