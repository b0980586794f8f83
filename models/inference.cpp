#include "models/inference.h"

#include <chrono>
#include <cmath>

#include "autograd/grad_mode.h"
#include "data/loader.h"
#include "data/metrics/image_metrics.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/interpolate.h"
#include "engine/ops/join.h"
#include "engine/parallel.h"

namespace cuttle::models {

namespace eng = cuttle::engine;

namespace {

Tensor flip_width(const Tensor& x) {
  const int64_t w = x.size(3);
  std::vector<int64_t> idx((size_t)w);
  for (int64_t i = 0; i < w; ++i) idx[(size_t)i] = w - 1 - i;
  return eng::index_select(x, 3, Tensor::from_vector(idx, {w}).to(x.device()));
}

Tensor probabilities_at(CamoXpert& model, const Tensor& images) {
  return eng::unary(eng::UnaryOp::sigmoid, model.forward(Var(images)).logits.data());
}

// The side of a TTA scale: rounded to a multiple of 32 (the model's stride), at least 32.
int64_t scaled_side(int64_t side, double scale) {
  return std::max<int64_t>(32, (int64_t)std::llround(side * scale / 32.0) * 32);
}

}  // namespace

Tensor predict_probabilities(CamoXpert& model, const Tensor& images, const InferenceOptions& opts) {
  CUTTLE_CHECK(!model.is_training(), "predict_probabilities: put the model in eval mode first");
  autograd::NoGradGuard no_grad;
  const Tensor x = images.to(opts.device);
  const int64_t h = x.size(2), w = x.size(3);
  if (!opts.tta) return probabilities_at(model, x).to(eng::Device::cpu());
  Tensor sum;
  int views = 0;
  for (double scale : {0.75, 1.0, 1.25}) {
    const int64_t sh = scaled_side(h, scale), sw = scaled_side(w, scale);
    const Tensor xs = (sh == h && sw == w) ? x : eng::resize_bilinear(x, sh, sw);
    for (bool flip : {false, true}) {
      Tensor p = probabilities_at(model, flip ? flip_width(xs) : xs);
      if (flip) p = flip_width(p);
      if (sh != h || sw != w) p = eng::resize_bilinear(p, h, w);
      sum = sum.defined() ? eng::binary(eng::BinaryOp::add, sum, p) : p;
      ++views;
    }
  }
  return eng::binary_scalar(eng::BinaryOp::div, sum, views).to(eng::Device::cpu());
}

data::Image probability_to_u8(const Tensor& plane, int64_t out_h, int64_t out_w) {
  CUTTLE_CHECK(plane.dim() == 2, "probability_to_u8: expected [H, W], got ", plane.str());
  Tensor p = plane.to(eng::Device::cpu()).to(eng::DType::f32).contiguous();
  if (p.size(0) != out_h || p.size(1) != out_w)
    p = eng::resize_bilinear(p.reshape({1, 1, p.size(0), p.size(1)}), out_h, out_w).reshape({out_h, out_w});
  data::Image img(out_h, out_w, 1);
  const float* src = p.data<float>();
  for (int64_t i = 0; i < out_h * out_w; ++i) {
    const double v = std::min(1.0, std::max(0.0, (double)src[i]));
    img.pixels[(size_t)i] = (uint8_t)std::lround(v * 255.0);
  }
  return img;
}

std::vector<data::Image> predict_maps(CamoXpert& model, const std::vector<Tensor>& images, const InferenceOptions& opts) {
  std::vector<Tensor> inputs(images.size());
  eng::parallel_for(0, (int64_t)images.size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) inputs[(size_t)i] = data::model_input(images[(size_t)i], opts.image_size, opts.image_size);
  });
  const Tensor probs = predict_probabilities(model, eng::stack(inputs, 0), opts);
  std::vector<data::Image> maps(images.size());
  for (size_t i = 0; i < images.size(); ++i)
    maps[i] = probability_to_u8(probs.select(0, (int64_t)i).select(0, 0), images[i].size(1), images[i].size(2));
  return maps;
}

DatasetEvaluation evaluate_model(CamoXpert& model, const data::Dataset& dataset, const InferenceOptions& opts,
                                 const std::function<void(int64_t, const data::Sample&, const data::Image&)>& on_image,
                                 const std::function<void(int64_t, int64_t)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = dataset.size();
  CUTTLE_CHECK(n > 0, "evaluate_model: dataset '", dataset.name(), "' is empty");
  data::metrics::MetricsAccumulator acc;
  for (int64_t first = 0; first < n; first += opts.batch) {
    const int64_t count = std::min(opts.batch, n - first);
    std::vector<data::Sample> samples((size_t)count);
    eng::parallel_for(0, count, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) samples[(size_t)i] = dataset.get(first + i);
    });
    std::vector<Tensor> images;
    for (const data::Sample& s : samples) images.push_back(s.image);
    const std::vector<data::Image> maps = predict_maps(model, images, opts);
    std::vector<data::metrics::ImageMetrics> per((size_t)count);
    eng::parallel_for(0, count, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        per[(size_t)i] = data::metrics::evaluate_image(maps[(size_t)i], data::tensor_to_image(samples[(size_t)i].mask));
    });
    for (int64_t i = 0; i < count; ++i) {
      acc.add(per[(size_t)i]);
      if (on_image) on_image(first + i, samples[(size_t)i], maps[(size_t)i]);
    }
    if (progress) progress(first + count, n);
  }
  DatasetEvaluation r;
  r.metrics = acc.result();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace cuttle::models
