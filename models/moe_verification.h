// Declares the MoE verification of a CamoXpert model (verify_moe's library side): MoEVerifier runs
// batches through the model in eval mode, runs each SparseMoE again on the features that reach it in
// the batched, per-sample and dense-masked modes, and feeds what it saw to the checks of
// moe_checks.h; verify_moe_on_dataset does that over a dataset; format_moe_verification prints it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/sample.h"
#include "models/camoxpert.h"
#include "models/moe_checks.h"

namespace cuttle::models {

struct MoEVerificationReport {
  std::vector<MoELayerReport> layers;  // one per scale
  int64_t images = 0;
  std::string source;                  // what the images were (dataset names)
  bool passed() const;
  int64_t num_checks() const;
  int64_t num_failed() const;
  nlohmann::json to_json() const;
};

class MoEVerifier {
 public:
  // Expert names come from the model's config. add_batch puts the model in eval mode (it stays
  // there); each MoE's combination mode and routing are restored after use, even on an error.
  explicit MoEVerifier(CamoXpert& model, MoEThresholds thresholds = {});
  // One normalised batch [B, 3, S, S] on the model's device.
  void add_batch(const Tensor& images);
  MoEVerificationReport report() const;

 private:
  CamoXpert& model_;
  std::vector<MoELayerChecker> checkers_;
};

struct MoEVerificationOptions {
  int64_t images = 64;      // at most this many, spread evenly over the dataset
  int64_t batch = 8;
  int64_t image_size = 0;   // the side the model sees; 0 = the model config's image_size
  engine::Device device = engine::Device::cpu();  // where the model lives (batches go there)
  MoEThresholds thresholds;
  std::function<void(int64_t, int64_t)> progress;  // (images done, images total) after each batch
};

MoEVerificationReport verify_moe_on_dataset(CamoXpert& model, const data::Dataset& dataset,
                                            const MoEVerificationOptions& opts);

// The human-readable report: per scale the checks with PASS/FAIL and the usage table, then a summary.
std::string format_moe_verification(const MoEVerificationReport& report);

}  // namespace cuttle::models
