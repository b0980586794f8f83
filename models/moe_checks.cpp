#include "models/moe_checks.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/error.h"

namespace cuttle::models {

namespace {

constexpr size_t kOffencesShown = 3;

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "}";
}

// Host copy of a tensor as floats (outputs) or doubles (routing).
template <typename T>
std::vector<T> host(const Tensor& t) {
  return t.to(engine::Device::cpu()).contiguous().to_vector<T>();
}

struct OutputStats {
  bool finite = true;
  double max_abs = 0;
};
OutputStats output_stats(const std::vector<float>& v) {
  OutputStats s;
  for (float x : v) {
    if (!std::isfinite(x)) s.finite = false;
    else s.max_abs = std::max(s.max_abs, (double)std::fabs(x));
  }
  return s;
}

// max |a - b| / max |a| (absolute when a is all zeros).
double relative_difference(const std::vector<float>& a, const std::vector<float>& b, double max_abs_a) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs((double)a[i] - (double)b[i]));
  return max_abs_a > 0 ? d / max_abs_a : d;
}

}  // namespace

double dead_threshold(const MoEThresholds& t, int64_t num_experts, int64_t top_k) {
  return t.dead_factor * (double)top_k / (double)num_experts;
}
double dominant_threshold(const MoEThresholds& t, int64_t num_experts, int64_t top_k) {
  return t.dominant_factor * (double)top_k / (double)num_experts;
}

void MoELayerChecker::Offences::add(const std::string& what) {
  ++count;
  if (first.size() < kOffencesShown) first.push_back(what);
}

std::string MoELayerChecker::Offences::str() const {
  std::string s = std::to_string(count) + (count == 1 ? " offence: " : " offences: ");
  for (size_t i = 0; i < first.size(); ++i) s += (i ? "; " : "") + first[i];
  if ((int64_t)first.size() < count) s += "; ...";
  return s;
}

bool MoELayerReport::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.passed; });
}

nlohmann::json MoELayerReport::to_json() const {
  nlohmann::json j = {{"scale", scale},
                      {"experts", num_experts},
                      {"top_k", top_k},
                      {"images", images},
                      {"passed", passed()},
                      {"distinct_combinations", distinct_combinations},
                      {"max_weight_sum_error", max_weight_sum_error},
                      {"max_softmax_error", max_softmax_error},
                      {"max_rel_diff_per_sample", max_rel_diff_per_sample},
                      {"max_rel_diff_dense_masked", max_rel_diff_dense},
                      {"max_abs_output", max_abs_output}};
  j["usage"] = nlohmann::json::array();
  for (size_t e = 0; e < usage.size(); ++e)
    j["usage"].push_back({{"name", expert_names[e]}, {"usage", usage[e]}, {"mean_weight", mean_weight[e]}});
  j["checks"] = nlohmann::json::array();
  for (const CheckResult& c : checks) j["checks"].push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  return j;
}

MoELayerChecker::MoELayerChecker(int64_t scale, std::vector<std::string> expert_names, int64_t top_k,
                                 bool bias_in_weights, MoEThresholds thresholds)
    : scale_(scale), E_((int64_t)expert_names.size()), k_(top_k), bias_in_weights_(bias_in_weights),
      t_(thresholds), names_(std::move(expert_names)), chosen_count_((size_t)E_, 0), weight_sum_((size_t)E_, 0.0) {
  CUTTLE_CHECK(E_ >= 1 && k_ >= 1 && k_ <= E_, "MoELayerChecker: scale ", scale, ": top_k ", k_, " with ", E_,
               " experts");
}

void MoELayerChecker::add(const MoEBatchObservation& obs) {
  const std::string where = "MoELayerChecker (scale " + std::to_string(scale_) + ")";
  CUTTLE_CHECK(obs.indices.dim() == 2 && obs.indices.size(1) == k_ && obs.indices.dtype() == engine::DType::i64, where,
               ": indices must be i64 [B, ", k_, "], got ", obs.indices.str());
  const int64_t B = obs.indices.size(0);
  const engine::Shape bk{B, k_}, be{B, E_};
  CUTTLE_CHECK(obs.weights.shape() == bk, where, ": weights must be [", B, ", ", k_, "], got ", obs.weights.str());
  CUTTLE_CHECK(obs.logits.shape() == be, where, ": logits must be [", B, ", ", E_, "], got ", obs.logits.str());
  CUTTLE_CHECK(obs.bias.shape() == engine::Shape{E_}, where, ": bias must be [", E_, "], got ", obs.bias.str());
  CUTTLE_CHECK(obs.model_indices.shape() == bk, where, ": model_indices must be [", B, ", ", k_, "], got ",
               obs.model_indices.str());
  CUTTLE_CHECK(obs.out_batched.dim() == 4 && obs.out_batched.size(0) == B, where, ": out_batched must be [", B,
               ", C, H, W], got ", obs.out_batched.str());
  CUTTLE_CHECK(obs.out_per_sample.shape() == obs.out_batched.shape() &&
                   obs.out_dense_masked.shape() == obs.out_batched.shape(),
               where, ": the reference outputs ", obs.out_per_sample.str(), " and ", obs.out_dense_masked.str(),
               " must have the batched output's shape ", obs.out_batched.str());

  const std::vector<int64_t> idx = host<int64_t>(obs.indices), midx = host<int64_t>(obs.model_indices);
  const std::vector<double> w = host<double>(obs.weights), lg = host<double>(obs.logits), bias = host<double>(obs.bias);
  const std::string image_base = std::to_string(images_);
  bool batch_routing_valid = true;

  for (int64_t b = 0; b < B; ++b) {
    const std::string img = "image " + std::to_string(images_ + b);
    const std::vector<int64_t> chosen(idx.begin() + b * k_, idx.begin() + (b + 1) * k_);
    const std::vector<int64_t> model_chosen(midx.begin() + b * k_, midx.begin() + (b + 1) * k_);
    if (chosen != model_chosen)
      capture_off_.add(img + ": the model's forward chose " + list_str(model_chosen) + ", the direct run " + list_str(chosen));

    // Routing: indices in range and distinct, and they are the top-k of logits + bias.
    bool valid = true;
    for (int64_t e : chosen)
      if (e < 0 || e >= E_) valid = false;
    std::vector<int64_t> sorted = chosen;
    std::sort(sorted.begin(), sorted.end());
    const bool distinct = std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
    if (!valid) routing_off_.add(img + ": index out of [0, " + std::to_string(E_) + ") in " + list_str(chosen));
    else if (!distinct) routing_off_.add(img + ": repeated expert in " + list_str(chosen));
    valid = valid && distinct;
    const double* l = lg.data() + b * E_;
    bool logits_finite = true;
    for (int64_t e = 0; e < E_; ++e) logits_finite = logits_finite && std::isfinite(l[e]);
    if (!logits_finite) stability_off_.add(img + ": router logits not finite");
    for (int64_t e = 0; e < E_; ++e)
      if (std::isfinite(l[e]) && std::fabs(l[e]) >= t_.max_activation)
        stability_off_.add(img + ": |router logit| " + fmt(l[e]));
    if (valid && logits_finite) {
      double min_chosen = INFINITY, max_other = -INFINITY;
      for (int64_t e = 0; e < E_; ++e) {
        const double s = l[e] + bias[(size_t)e];
        if (std::find(chosen.begin(), chosen.end(), e) != chosen.end()) min_chosen = std::min(min_chosen, s);
        else max_other = std::max(max_other, s);
      }
      if (min_chosen < max_other - t_.selection_tol)
        routing_off_.add(img + ": chose " + list_str(chosen) + " but an unchosen expert scores " + fmt(max_other) +
                         " > " + fmt(min_chosen) + " (logits + bias)");
    }
    batch_routing_valid = batch_routing_valid && valid;

    // Weights: finite, non-negative, summing to 1, equal to the renormalised softmax of the chosen.
    const double* wb = w.data() + b * k_;
    double sum = 0;
    bool weights_ok = true;
    for (int64_t s = 0; s < k_; ++s) {
      if (!std::isfinite(wb[s])) {
        stability_off_.add(img + ": weight not finite");
        weights_ok = false;
      } else if (wb[s] < 0) {
        weights_off_.add(img + ": negative weight " + fmt(wb[s]));
      }
      sum += wb[s];
    }
    if (weights_ok) {
      max_sum_err_ = std::max(max_sum_err_, std::fabs(sum - 1.0));
      if (std::fabs(sum - 1.0) > t_.weight_sum_tol) weights_off_.add(img + ": weights sum to " + fmt(sum));
    }
    if (valid && logits_finite && weights_ok) {
      std::vector<double> p((size_t)E_);
      double mx = -INFINITY, z = 0, picked = 0;
      for (int64_t e = 0; e < E_; ++e) mx = std::max(mx, p[(size_t)e] = l[e] + (bias_in_weights_ ? bias[(size_t)e] : 0));
      for (double& v : p) z += (v = std::exp(v - mx));
      for (int64_t e : chosen) picked += p[(size_t)e] / z;
      for (int64_t s = 0; s < k_; ++s) {
        const double err = std::fabs(wb[s] - p[(size_t)chosen[(size_t)s]] / z / picked);
        max_softmax_err_ = std::max(max_softmax_err_, err);
        if (err > t_.weight_sum_tol)
          weights_off_.add(img + ": weight " + fmt(wb[s]) + " of expert " + std::to_string(chosen[(size_t)s]) +
                           " differs from its renormalised router probability by " + fmt(err));
      }
    }

    // Statistics over all images (only for valid routings).
    if (valid) {
      for (int64_t s = 0; s < k_; ++s) {
        chosen_count_[(size_t)chosen[(size_t)s]] += 1;
        if (std::isfinite(wb[s])) weight_sum_[(size_t)chosen[(size_t)s]] += wb[s];
      }
      combinations_.insert(sorted);
    }
  }

  // Outputs: finite, bounded, and the batched combination equals both references.
  const std::vector<float> ob = host<float>(obs.out_batched), ops = host<float>(obs.out_per_sample),
                           od = host<float>(obs.out_dense_masked);
  const std::string batch_name = "images " + image_base + "-" + std::to_string(images_ + B - 1);
  bool outputs_finite = true;
  for (const auto& [name, v] : {std::pair<const char*, const std::vector<float>*>{"batched", &ob},
                                {"per_sample", &ops},
                                {"dense_masked", &od}}) {
    const OutputStats st = output_stats(*v);
    if (!st.finite) {
      stability_off_.add(batch_name + ": the " + name + " output is not finite");
      outputs_finite = false;
    }
    if (st.max_abs >= t_.max_activation)
      stability_off_.add(batch_name + ": the " + name + " output reaches |" + fmt(st.max_abs) + "|");
    if (v == &ob) max_abs_ = std::max(max_abs_, st.max_abs);
  }
  if (!batch_routing_valid) {
    combination_off_.add(batch_name + ": not compared, the routing is invalid");
  } else if (!outputs_finite) {
    combination_off_.add(batch_name + ": not compared, an output is not finite");
  } else {
    const double ob_max = output_stats(ob).max_abs;
    const double rp = relative_difference(ob, ops, ob_max), rd = relative_difference(ob, od, ob_max);
    max_rel_ps_ = std::max(max_rel_ps_, rp);
    max_rel_dense_ = std::max(max_rel_dense_, rd);
    if (rp > t_.output_tol) combination_off_.add(batch_name + ": batched vs per_sample differ by " + fmt(rp) + " (relative)");
    if (rd > t_.output_tol) combination_off_.add(batch_name + ": batched vs dense_masked differ by " + fmt(rd) + " (relative)");
  }
  images_ += B;
}

MoELayerReport MoELayerChecker::report() const {
  CUTTLE_CHECK(images_ > 0, "MoELayerChecker (scale ", scale_, "): no images were checked");
  MoELayerReport r;
  r.scale = scale_;
  r.num_experts = E_;
  r.top_k = k_;
  r.images = images_;
  r.expert_names = names_;
  for (int64_t e = 0; e < E_; ++e) {
    const int64_t n = chosen_count_[(size_t)e];
    r.usage.push_back((double)n / (double)images_);
    r.mean_weight.push_back(n > 0 ? weight_sum_[(size_t)e] / (double)n : 0.0);
  }
  r.distinct_combinations = (int64_t)combinations_.size();
  r.max_weight_sum_error = max_sum_err_;
  r.max_softmax_error = max_softmax_err_;
  r.max_rel_diff_per_sample = max_rel_ps_;
  r.max_rel_diff_dense = max_rel_dense_;
  r.max_abs_output = max_abs_;

  auto check = [&](const std::string& name, const Offences& off, const std::string& ok) {
    r.checks.push_back({name, off.count == 0, off.count == 0 ? ok : off.str()});
  };
  const std::string k = std::to_string(k_);
  check("capture", capture_off_, "the whole model's forward routed every image as the direct run");
  check("routing", routing_off_, "indices in [0, " + std::to_string(E_) + "), distinct, the top-" + k + " of logits + bias");
  check("weights", weights_off_, "non-negative, max |sum - 1| " + fmt(max_sum_err_) +
                                     ", max |w - renormalised softmax| " + fmt(max_softmax_err_) + " (tol " +
                                     fmt(t_.weight_sum_tol) + ")");
  check("combination", combination_off_, "max relative difference batched vs per_sample " + fmt(max_rel_ps_) +
                                             ", vs dense_masked " + fmt(max_rel_dense_) + " (tol " + fmt(t_.output_tol) + ")");
  check("stability", stability_off_, "finite logits, weights and outputs; max |output| " + fmt(max_abs_) + " (limit " +
                                         fmt(t_.max_activation) + ")");

  // Content awareness: one combination for every image means the router ignores the content.
  const double share = (double)r.distinct_combinations / (double)images_;
  std::string content = std::to_string(r.distinct_combinations) + " distinct expert combinations over " +
                        std::to_string(images_) + " images (share " + fmt(share) + ")";
  const bool judged = images_ >= t_.min_images_for_content && E_ > k_;
  const bool same_for_all = judged && r.distinct_combinations <= 1;
  if (!judged)
    content += E_ > k_ ? "; fewer than " + std::to_string(t_.min_images_for_content) + " images, not judged"
                       : "; every expert is always chosen, not judged";
  if (same_for_all) content += ": every image gets the same experts";
  r.checks.push_back({"content", !same_for_all, content});

  // Specialisation: no dead and no dominant expert.
  const double dead = dead_threshold(t_, E_, k_), dom = dominant_threshold(t_, E_, k_);
  std::string dead_list, dom_list;
  for (int64_t e = 0; e < E_; ++e) {
    const std::string item = names_[(size_t)e] + " " + fmt(r.usage[(size_t)e]);
    if (r.usage[(size_t)e] < dead) dead_list += (dead_list.empty() ? "" : ", ") + item;
    if (r.usage[(size_t)e] > dom) dom_list += (dom_list.empty() ? "" : ", ") + item;
  }
  std::string spec = "usage per expert within [" + fmt(dead) + ", " + fmt(dom) + "] (dead < " + fmt(t_.dead_factor) +
                     "*k/E, dominant > " + fmt(t_.dominant_factor) + "*k/E)";
  if (!dead_list.empty() || !dom_list.empty()) {
    spec = "";
    if (!dead_list.empty()) spec += "dead (< " + fmt(dead) + "): " + dead_list;
    if (!dom_list.empty()) spec += std::string(spec.empty() ? "" : "; ") + "dominant (> " + fmt(dom) + "): " + dom_list;
  }
  r.checks.push_back({"specialisation", dead_list.empty() && dom_list.empty(), spec});
  return r;
}

}  // namespace cuttle::models
