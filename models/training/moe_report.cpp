#include "models/training/moe_report.h"

#include <cstdio>

namespace cuttle::models {

nlohmann::json moe_usage_json(CamoXpert& model) {
  nlohmann::json scales = nlohmann::json::array();
  const std::vector<std::string>& names = model.config().moe.experts;
  for (int64_t s = 0; s < 4; ++s) {
    layers::SparseMoE& moe = model.moe(s);
    const layers::MoEStats& st = moe.stats();
    const std::vector<double> bias = moe.buffer("bias").to(engine::Device::cpu()).to(engine::DType::f64).to_vector<double>();
    int64_t total = 0;
    for (int64_t c : st.selections) total += c;
    nlohmann::json experts = nlohmann::json::array();
    for (int64_t e = 0; e < moe.num_experts(); ++e) {
      const int64_t chosen = e < (int64_t)st.selections.size() ? st.selections[(size_t)e] : 0;
      const double wsum = e < (int64_t)st.weight_sum.size() ? st.weight_sum[(size_t)e] : 0.0;
      experts.push_back({{"name", e < (int64_t)names.size() ? names[(size_t)e] : "expert" + std::to_string(e)},
                         {"share", total ? (double)chosen / total : 0.0},
                         {"mean_weight", chosen ? wsum / chosen : 0.0},
                         {"bias", e < (int64_t)bias.size() ? bias[(size_t)e] : 0.0}});
    }
    scales.push_back({{"scale", s}, {"samples", st.samples}, {"experts", experts}});
  }
  return scales;
}

std::string format_moe_usage(const nlohmann::json& usage) {
  if (usage.empty()) return "";
  std::string out = "    expert usage (share chosen / mean weight / balancing bias) per scale\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "    %-22s", "expert");
  out += buf;
  for (const auto& s : usage) {
    std::snprintf(buf, sizeof buf, " | scale %lld             ", (long long)s["scale"].get<int64_t>());
    out += buf;
  }
  out += "\n";
  const size_t n = usage[0]["experts"].size();
  for (size_t e = 0; e < n; ++e) {
    std::snprintf(buf, sizeof buf, "    %-22s", usage[0]["experts"][e]["name"].get<std::string>().c_str());
    out += buf;
    for (const auto& s : usage) {
      const auto& x = s["experts"][e];
      std::snprintf(buf, sizeof buf, " | %5.1f%% %5.3f %+6.3f", 100 * x["share"].get<double>(),
                    x["mean_weight"].get<double>(), x["bias"].get<double>());
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace cuttle::models
