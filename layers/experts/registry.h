// Declares the expert registry: make_expert builds any of the 14 expert types by name (the names of
// docs/CAMOXPERT.md's tables), expert_types lists them. Every expert maps [B,C,H,W] -> [B,C,H,W].
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "layers/experts/expert_options.h"
#include "layers/module.h"

namespace cuttle::layers {

// COD family: CODTexture, CODFrequency, CODEdge, ContrastEnhancement, CODAttention, CODHybrid;
// generic family: Texture, Attention, Hybrid, Frequency, Edge, SemanticContext, Contrast, ContrastBN.
const std::vector<std::string>& expert_types();

// Throws cuttle::Error for an unknown type (listing the known ones) or an unsupported C (naming the
// expert and C). opts matter only to the attention experts.
std::shared_ptr<UnaryModule> make_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                         const ExpertOptions& opts = {});

}  // namespace cuttle::layers
