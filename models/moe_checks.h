// Declares the checks verify_moe runs on one SparseMoE layer: the thresholds, what the layer did on one
// batch (MoEBatchObservation), the accumulator that checks each batch and gathers routing statistics
// over all images (MoELayerChecker), and its pass/fail result (MoELayerReport). The checker sees
// tensors only, never a model, so tests can feed it doctored observations and watch a check fail.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"

namespace cuttle::models {

using engine::Tensor;

struct MoEThresholds {
  double weight_sum_tol = 1e-5;   // |sum_k w - 1|, and |w - renormalised softmax of the chosen logits|
  double output_tol = 1e-5;       // max |batched - reference| / max |batched|, per batch
  double max_activation = 1e4;    // |router logits, weights, outputs| must stay below
  double selection_tol = 1e-5;    // slack when checking that the chosen experts have the top-k scores
  // Usage of expert e = share of the images that routed to it (the shares sum to k, mean k/E).
  // dead: usage < dead_factor * k/E; dominant: usage > dominant_factor * k/E.
  // With E = 6 and k = 2 (k/E = 1/3) the defaults give 0.02 and 0.5.
  double dead_factor = 0.06;
  double dominant_factor = 1.5;
  int64_t min_images_for_content = 8;  // content awareness fails on one combination from this many images
};

double dead_threshold(const MoEThresholds& t, int64_t num_experts, int64_t top_k);
double dominant_threshold(const MoEThresholds& t, int64_t num_experts, int64_t top_k);

// One batch through one MoE layer in eval mode; tensors on any device. indices/weights/logits come
// from the batched run; the reference outputs are computed on the same input with the same routing.
struct MoEBatchObservation {
  Tensor indices;           // i64 [B, k]
  Tensor weights;           // [B, k] combination weights
  Tensor logits;            // [B, E] router logits after the clamp
  Tensor bias;              // [E] the balancing bias the selection added
  Tensor out_batched;       // [B, C, H, W] expert batching
  Tensor out_per_sample;    // [B, C, H, W] the per-sample reference
  Tensor out_dense_masked;  // [B, C, H, W] every expert, weights zero outside the top-k
  Tensor model_indices;     // i64 [B, k] what the MoE chose inside the whole model's forward
};

struct CheckResult {
  std::string name;    // capture, routing, weights, combination, stability, content, specialisation
  bool passed = true;
  std::string detail;  // the measured values, and the first offences when it failed
};

struct MoELayerReport {
  int64_t scale = 0, num_experts = 0, top_k = 0, images = 0;
  std::vector<std::string> expert_names;
  std::vector<double> usage;        // per expert: share of images routed to it
  std::vector<double> mean_weight;  // per expert: mean combination weight when chosen (0 if never)
  int64_t distinct_combinations = 0;
  double max_weight_sum_error = 0, max_softmax_error = 0;
  double max_rel_diff_per_sample = 0, max_rel_diff_dense = 0;
  double max_abs_output = 0;
  std::vector<CheckResult> checks;
  bool passed() const;
  nlohmann::json to_json() const;
};

class MoELayerChecker {
 public:
  // bias_in_weights: the layer's weights come from softmax(logits + bias) (the original's variant).
  MoELayerChecker(int64_t scale, std::vector<std::string> expert_names, int64_t top_k, bool bias_in_weights,
                  MoEThresholds thresholds = {});
  // Checks one batch; throws cuttle::Error when the tensors' shapes disagree with the layer.
  void add(const MoEBatchObservation& obs);
  // Every check over all images added so far.
  MoELayerReport report() const;

 private:
  // How often a check was violated, and the first few cases in words.
  struct Offences {
    int64_t count = 0;
    std::vector<std::string> first;
    void add(const std::string& what);
    std::string str() const;
  };

  int64_t scale_, E_, k_;
  bool bias_in_weights_;
  MoEThresholds t_;
  std::vector<std::string> names_;
  int64_t images_ = 0;
  std::vector<int64_t> chosen_count_;
  std::vector<double> weight_sum_;
  std::set<std::vector<int64_t>> combinations_;
  double max_sum_err_ = 0, max_softmax_err_ = 0, max_rel_ps_ = 0, max_rel_dense_ = 0, max_abs_ = 0;
  bool combination_valid_ = true;  // false once routing was invalid (the outputs are then meaningless)
  Offences capture_off_, routing_off_, weights_off_, combination_off_, stability_off_;
};

}  // namespace cuttle::models
