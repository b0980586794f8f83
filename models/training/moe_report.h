// Declares the routing summary printed after each validation and stored in the log and report: per MoE
// layer (scale) and expert, the share of selections, the mean combination weight when chosen, and
// the loss-free balancing bias.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "models/camoxpert.h"

namespace cuttle::models {

// [{"scale": s, "experts": [{"name", "share", "mean_weight", "bias"}...], "samples": n}, ...] from the
// statistics the MoEs gathered since their last reset_stats().
nlohmann::json moe_usage_json(CamoXpert& model);
// A fixed-width table of moe_usage_json's output, one row per expert, one column group per scale.
std::string format_moe_usage(const nlohmann::json& usage);

}  // namespace cuttle::models
