// Declares model inference as the evaluation protocol wants it: probabilities at the model's size
// (optionally with test-time augmentation), turned into 8-bit maps at each input's original size, and
// the evaluation of a model on a dataset with the COD metrics on those 8-bit maps, so that what
// train_cod logs equals what eval_cod computes on infer_cod's PNGs.
#pragma once
#include <functional>
#include <vector>

#include "data/image.h"
#include "data/metrics/accumulator.h"
#include "data/sample.h"
#include "models/camoxpert.h"

namespace cuttle::models {

struct InferenceOptions {
  int64_t image_size = 352;  // the side the model sees (inputs are resized to a square, as in training)
  bool tta = false;          // mean of scales 0.75/1/1.25 (rounded to multiples of 32) x horizontal flip
  int64_t batch = 8;
  engine::Device device = engine::Device::cpu();  // where the model lives
};

// Sigmoid of the final logits for a normalised batch [B, 3, S, S] (any device); returns CPU f32
// [B, 1, S, S]. The model must be in eval mode; no tape is recorded.
Tensor predict_probabilities(CamoXpert& model, const Tensor& images, const InferenceOptions& opts);

// The probability plane [h, w] (f32) as an 8-bit map of out_h x out_w: float bilinear resize
// (align_corners false), then round(p * 255).
data::Image probability_to_u8(const Tensor& plane, int64_t out_h, int64_t out_w);

// Predicts every image (f32 [3, H, W] in [0, 1], any sizes) and returns 8-bit maps at their sizes.
std::vector<data::Image> predict_maps(CamoXpert& model, const std::vector<Tensor>& images, const InferenceOptions& opts);

struct DatasetEvaluation {
  data::metrics::DatasetMetrics metrics;
  double seconds = 0;
};
// Evaluates on every sample of `dataset` in order. on_image(index, sample, prediction) sees each
// 8-bit prediction (e.g. to save it); progress(done, total) after each batch.
DatasetEvaluation evaluate_model(CamoXpert& model, const data::Dataset& dataset, const InferenceOptions& opts,
                                 const std::function<void(int64_t, const data::Sample&, const data::Image&)>& on_image = {},
                                 const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace cuttle::models
