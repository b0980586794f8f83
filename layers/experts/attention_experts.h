// Declares make_attention_expert, the factory of the two attention experts (CODAttention and the
// generic linear Attention). Only the declaration lives here: the attention experts are implemented
// separately (attention_experts.cpp, another work branch); the registry calls this once it exists.
#pragma once
#include <memory>
#include <string>

#include "engine/random.h"
#include "layers/experts/expert_options.h"
#include "layers/module.h"

namespace cuttle::layers {

// type: "CODAttention" or "Attention"; C: channels of the scale. Throws cuttle::Error for any other
// type or an unsupported C.
std::shared_ptr<UnaryModule> make_attention_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                                   const ExpertOptions& opts);

}  // namespace cuttle::layers
