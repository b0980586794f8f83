// Declares evaluate_folders, the library side of eval_cod: evaluates a folder of 8-bit prediction
// maps against a folder of masks matched by file stem, and the report table.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/metrics/accumulator.h"

namespace cuttle::data {

struct FolderEvalOptions {
  // Resize a prediction of another size to its mask's size (bilinear on the 8-bit map, as cv2.resize
  // INTER_LINEAR does in the reference evaluation scripts). When false, a size mismatch is an error.
  bool resize_to_mask = true;
  // Called after each image with (done, total), from worker threads one at a time.
  std::function<void(int64_t, int64_t)> progress;
};

struct FolderEvalResult {
  std::vector<std::string> names;                 // mask file names, sorted
  std::vector<metrics::ImageMetrics> per_image;   // in the order of names
  metrics::DatasetMetrics dataset;
  int64_t resized = 0;                            // predictions resized to their mask's size
};

// Files with the extensions .png, .jpg and .jpeg (any case) are images. Every mask needs one
// prediction with the same stem and every prediction a mask. Throws one cuttle::Error listing every
// problem found: a folder that is missing or empty, masks without a prediction, predictions without a
// mask, two files of one stem, and every file that cannot be read or whose size does not fit.
// Images are evaluated in parallel; the result does not depend on the thread count.
FolderEvalResult evaluate_folders(const std::string& pred_dir, const std::string& gt_dir,
                                  const FolderEvalOptions& options = {});

// The standard table: S, mean E, weighted F, MAE, then adaptive/mean/max E and F, IoU and Dice.
std::string format_metrics_table(const metrics::DatasetMetrics& d);
// The field's comparison table: one row per dataset (S, mean E, max E, weighted F, MAE, IoU at 0.5).
std::string format_dataset_rows(const std::vector<std::pair<std::string, metrics::DatasetMetrics>>& rows);
// The same rows as JSON: {dataset name: metrics::to_json(metrics)}.
nlohmann::json dataset_rows_json(const std::vector<std::pair<std::string, metrics::DatasetMetrics>>& rows);

}  // namespace cuttle::data
