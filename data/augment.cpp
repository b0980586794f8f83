#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include "data/synthetic/rng.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/interpolate.h"

namespace cuttle::data {

namespace {

using engine::DType;
using engine::Tensor;

// Copies the pixels of `s` into a new sample of size oh x ow, taking source pixel src(y, x) for
// output (y, x): flips, rotations and crops are all such index maps.
template <typename SrcOf>
Sample remap(const Sample& s, int64_t oh, int64_t ow, const SrcOf& src_of) {
  const int64_t h = s.image.size(1), w = s.image.size(2);
  const Tensor img = s.image.contiguous(), mask = s.mask.contiguous();
  Sample out{Tensor::empty({3, oh, ow}), Tensor::empty({oh, ow}, DType::u8), s.name};
  const float* pi = img.data<float>();
  const uint8_t* pm = mask.data<uint8_t>();
  float* qi = out.image.data<float>();
  uint8_t* qm = out.mask.data<uint8_t>();
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      int64_t sy, sx;
      src_of(y, x, sy, sx);
      qm[y * ow + x] = pm[sy * w + sx];
      for (int64_t c = 0; c < 3; ++c) qi[(c * oh + y) * ow + x] = pi[(c * h + sy) * w + sx];
    }
  return out;
}

void colour_jitter(Tensor& image, SceneRng& rng, double j) {
  const double b = rng.uniform(1 - j, 1 + j), c = rng.uniform(1 - j, 1 + j), sat = rng.uniform(1 - j, 1 + j);
  const int64_t plane = image.size(1) * image.size(2);
  float* p = image.data<float>();
  auto grey = [&](int64_t i) { return 0.299f * p[i] + 0.587f * p[plane + i] + 0.114f * p[2 * plane + i]; };
  for (int64_t i = 0; i < 3 * plane; ++i) p[i] = std::min(1.0f, std::max(0.0f, (float)(p[i] * b)));
  double mean = 0;
  for (int64_t i = 0; i < plane; ++i) mean += grey(i);
  mean /= std::max<int64_t>(plane, 1);
  for (int64_t i = 0; i < 3 * plane; ++i) p[i] = std::min(1.0f, std::max(0.0f, (float)((p[i] - mean) * c + mean)));
  for (int64_t i = 0; i < plane; ++i) {
    const float g = grey(i);
    for (int64_t k = 0; k < 3; ++k) {
      float& v = p[k * plane + i];
      v = std::min(1.0f, std::max(0.0f, (float)(g + (v - g) * sat)));
    }
  }
}

}  // namespace

Sample augment(const Sample& s, const AugmentConfig& cfg, uint64_t seed, int64_t epoch, int64_t index) {
  CUTTLE_CHECK(s.image.dim() == 3 && s.image.size(0) == 3 && s.mask.dim() == 2 && s.mask.size(0) == s.image.size(1) &&
                   s.mask.size(1) == s.image.size(2),
               "augment: sample '", s.name, "' has image ", s.image.str(), " and mask ", s.mask.str(),
               "; expected [3,H,W] and [H,W]");
  SceneRng rng(engine::random_bits(seed ^ 0xA6A6A6ull, (uint64_t)epoch * 0x100000001B3ull + (uint64_t)index));
  Sample out = s;
  int64_t h = s.image.size(1), w = s.image.size(2);
  if (rng.chance(cfg.p_crop)) {
    // Area and aspect drawn as torchvision's RandomResizedCrop does; ten tries, then the whole image.
    int64_t ch = h, cw = w, y0 = 0, x0 = 0;
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double area = h * w * rng.uniform(cfg.crop_scale_min, cfg.crop_scale_max);
      const double ratio = std::exp(rng.uniform(std::log(cfg.crop_ratio_min), std::log(cfg.crop_ratio_max)));
      const int64_t tw = std::llround(std::sqrt(area * ratio)), th = std::llround(std::sqrt(area / ratio));
      if (tw > 0 && th > 0 && tw <= w && th <= h) {
        ch = th;
        cw = tw;
        y0 = rng.integer(0, h - th);
        x0 = rng.integer(0, w - tw);
        break;
      }
    }
    out = remap(out, ch, cw, [&](int64_t y, int64_t x, int64_t& sy, int64_t& sx) { sy = y + y0; sx = x + x0; });
    h = ch;
    w = cw;
  }
  if (rng.chance(cfg.p_hflip))
    out = remap(out, h, w, [&](int64_t y, int64_t x, int64_t& sy, int64_t& sx) { sy = y; sx = w - 1 - x; });
  if (rng.chance(cfg.p_vflip))
    out = remap(out, h, w, [&](int64_t y, int64_t x, int64_t& sy, int64_t& sx) { sy = h - 1 - y; sx = x; });
  if (rng.chance(cfg.p_rot90)) {
    const bool clockwise = rng.chance(0.5);
    out = remap(out, w, h, [&](int64_t y, int64_t x, int64_t& sy, int64_t& sx) {
      if (clockwise) { sy = h - 1 - x; sx = y; }
      else { sy = x; sx = w - 1 - y; }
    });
    std::swap(h, w);
  }
  if (rng.chance(cfg.p_jitter)) {
    if (out.image.shares_storage(s.image)) out.image = out.image.clone();
    colour_jitter(out.image, rng, cfg.jitter);
  }
  return out;
}

Sample resize_sample(const Sample& s, int64_t out_h, int64_t out_w) {
  if (s.image.size(1) == out_h && s.image.size(2) == out_w) return s;
  Sample out;
  out.name = s.name;
  out.image = engine::resize_bilinear(s.image.unsqueeze(0), out_h, out_w).squeeze(0);
  const Tensor m = engine::resize_bilinear(s.mask.to(DType::f32).reshape({1, 1, s.mask.size(0), s.mask.size(1)}), out_h, out_w);
  out.mask = engine::binary_scalar(engine::BinaryOp::mul,
                                   engine::compare_scalar(engine::CompareOp::gt, m, 127.5).to(DType::u8), 255)
                 .reshape({out_h, out_w});
  return out;
}

}  // namespace cuttle::data
