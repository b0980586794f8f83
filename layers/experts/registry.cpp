#include "layers/experts/registry.h"

#include <sstream>

#include "engine/error.h"
#include "layers/experts/attention_experts.h"
#include "layers/experts/experts.h"

namespace cuttle::layers {

const std::vector<std::string>& expert_types() {
  static const std::vector<std::string> types{
      "CODTexture", "CODFrequency", "CODEdge",   "ContrastEnhancement", "CODAttention",    "CODHybrid", "Texture",
      "Attention",  "Hybrid",       "Frequency", "Edge",                "SemanticContext", "Contrast",  "ContrastBN"};
  return types;
}

std::shared_ptr<UnaryModule> make_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                         const ExpertOptions& opts) {
  if (type == "CODTexture") return std::make_shared<CODTexture>(C, gen);
  if (type == "CODFrequency") return std::make_shared<CODFrequency>(C, gen);
  if (type == "CODEdge") return std::make_shared<CODEdge>(C, gen);
  if (type == "ContrastEnhancement") return std::make_shared<ContrastEnhancement>(C, gen);
  if (type == "CODHybrid") return std::make_shared<CODHybrid>(C, gen);
  if (type == "Texture") return std::make_shared<Texture>(C, gen);
  if (type == "Hybrid") return std::make_shared<Hybrid>(C, gen);
  if (type == "Frequency") return std::make_shared<Frequency>(C, gen);
  if (type == "Edge") return std::make_shared<Edge>(C, gen);
  if (type == "SemanticContext") return std::make_shared<SemanticContext>(C, gen);
  if (type == "Contrast") return std::make_shared<Contrast>(C, gen);
  if (type == "ContrastBN") return std::make_shared<ContrastBN>(C, gen);
  if (type == "CODAttention" || type == "Attention") return make_attention_expert(type, C, gen, opts);
  std::ostringstream known;
  for (const std::string& t : expert_types()) known << (known.tellp() > 0 ? ", " : "") << t;
  CUTTLE_FAIL("make_expert: unknown expert type '", type, "' (known: ", known.str(), ")");
}

}  // namespace cuttle::layers
