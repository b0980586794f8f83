// Declares export_synthetic: writes splits of the synthetic data to disk in the COD10K-v3 layout
// (<root>/{Train,Test}/{Image/*.jpg, GT_Object/*.png}), which the layout detection recognises.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "data/synthetic/generator.h"

namespace cuttle::data {

struct ExportOptions {
  int64_t train = 1000, test = 200;
  int64_t height = 352, width = 352;
  uint64_t seed = 0;
  SyntheticConfig config;
  int jpeg_quality = 95;
};

// Writes the scenes (train split "train", test split "test") and returns the number of files written.
// `progress(done, total)` is called as images are written (may be empty).
int64_t export_synthetic(const std::string& root, const ExportOptions& opts,
                         const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace cuttle::data
