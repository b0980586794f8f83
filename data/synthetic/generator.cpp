#include "data/synthetic/generator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "data/synthetic/noise.h"
#include "data/synthetic/shape.h"
#include "data/synthetic/texture.h"
#include "engine/parallel.h"

namespace cuttle::data {

namespace {

struct SceneObject {
  ObjectShape shape;
  Texture texture;
  double feather;        // alpha ramp half-width, pixels
  double edge_strength;  // faint boundary line (signed lightness), grows with the cue
  double shade_strength; // lightness gradient across the object, grows with the cue
  double shade_dx, shade_dy;
};

double smoothstep(double e0, double e1, double x) {
  const double t = std::min(1.0, std::max(0.0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

// Separable Gaussian blur of an [C, H, W] float image in place.
void gaussian_blur(float* img, int64_t channels, int64_t h, int64_t w, double sigma) {
  if (sigma < 0.3) return;
  const int radius = (int)std::ceil(3 * sigma);
  std::vector<double> k(2 * radius + 1);
  double norm = 0;
  for (int i = -radius; i <= radius; ++i) norm += k[i + radius] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& v : k) v /= norm;
  engine::parallel_for(0, channels, 1, [&](int64_t c0, int64_t c1) {
    std::vector<float> tmp(h * w);
    for (int64_t c = c0; c < c1; ++c) {
      float* p = img + c * h * w;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          double s = 0;
          for (int i = -radius; i <= radius; ++i) s += k[i + radius] * p[y * w + std::clamp<int64_t>(x + i, 0, w - 1)];
          tmp[y * w + x] = (float)s;
        }
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          double s = 0;
          for (int i = -radius; i <= radius; ++i) s += k[i + radius] * tmp[std::clamp<int64_t>(y + i, 0, h - 1) * w + x];
          p[y * w + x] = (float)s;
        }
    }
  });
}

}  // namespace

uint64_t synthetic_seed(uint64_t base, const char* split, int64_t index) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the split name
  for (const char* c = split; *c; ++c) h = (h ^ (uint64_t)(unsigned char)*c) * 1099511628211ull;
  return engine::random_bits(base ^ h, (uint64_t)index);
}

SyntheticSample generate_synthetic(uint64_t seed, int64_t height, int64_t width, const SyntheticConfig& cfg) {
  CUTTLE_CHECK(height >= 8 && width >= 8, "synthetic: image size ", height, "x", width, " is too small (min 8x8)");
  CUTTLE_CHECK(cfg.cue_min >= 0 && cfg.cue_min <= cfg.cue_max && cfg.cue_max <= 1,
               "synthetic: the cue range must satisfy 0 <= min <= max <= 1, got [", cfg.cue_min, ", ", cfg.cue_max, "]");
  CUTTLE_CHECK(cfg.min_object_fraction > 0 && cfg.min_object_fraction <= cfg.max_object_fraction &&
                   cfg.max_object_fraction < 1,
               "synthetic: object fractions must satisfy 0 < min <= max < 1, got ", cfg.min_object_fraction, " and ",
               cfg.max_object_fraction);
  SceneRng rng(seed);
  const int64_t side = std::max(height, width);
  const Texture background = random_texture(rng, side);
  const double cue = cfg.cue_min == cfg.cue_max ? cfg.cue_min : rng.uniform(cfg.cue_min, cfg.cue_max);

  std::vector<SceneObject> objects;
  if (!rng.chance(cfg.p_no_object)) {
    const int count = rng.chance(cfg.p_several_objects) ? (int)rng.integer(2, 3) : 1;
    // Total area log-uniform in [min, max], split between the objects.
    const double total = std::exp(rng.uniform(std::log(cfg.min_object_fraction), std::log(cfg.max_object_fraction)));
    for (int i = 0; i < count; ++i) {
      SceneObject o;
      o.shape = random_shape(rng, height, width, total / count);
      o.texture = drift(background, cue, rng);
      o.feather = rng.uniform(0.5, 2.5) * std::max(1.0, side / 256.0);
      o.edge_strength = cue * rng.uniform(0.03, 0.12) * (rng.chance(0.5) ? 1 : -1);
      o.shade_strength = cue * rng.uniform(0.0, 0.15);
      const double a = rng.uniform(0, 2 * M_PI);
      o.shade_dx = std::cos(a);
      o.shade_dy = std::sin(a);
      objects.push_back(o);
    }
  }
  const double noise_std = rng.uniform(0, cfg.max_noise), blur = rng.uniform(0, cfg.max_blur);
  const uint64_t noise_seed = rng.fork();

  SyntheticSample out{engine::Tensor::empty({3, height, width}), engine::Tensor::zeros({height, width}, engine::DType::u8)};
  float* img = out.image.data<float>();
  uint8_t* mask = out.mask.data<uint8_t>();
  const int64_t plane = height * width;
  engine::parallel_for(0, height, 8, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = 0; x < width; ++x) {
        const double px = x + 0.5, py = y + 0.5;
        Rgb col = texture_colour(background, px, py);
        double coverage = 0;
        for (const SceneObject& o : objects) {
          const double d = inside_distance(o.shape, px, py);
          if (d < -o.feather - 2) continue;
          const double alpha = smoothstep(-o.feather, o.feather, d);
          if (alpha > 0) {
            Rgb oc = texture_colour(o.texture, px, py);
            const double shade = o.shade_strength * ((px - o.shape.cx) * o.shade_dx + (py - o.shape.cy) * o.shade_dy) /
                                 std::max(o.shape.radius, 1.0);
            for (int k = 0; k < 3; ++k) col[k] = (1 - alpha) * col[k] + alpha * (oc[k] + shade);
          }
          // A faint line along the outline (one of the weak cues), zero beyond two feather widths.
          const double t = d / (2 * o.feather), bump = std::max(0.0, 1 - t * t), line = bump * bump;
          for (double& ch : col) ch += o.edge_strength * line;
          coverage = std::max(coverage, alpha);
        }
        if (coverage > 0.5) mask[y * width + x] = 255;
        for (int k = 0; k < 3; ++k) img[k * plane + y * width + x] = (float)col[k];
      }
  });
  gaussian_blur(img, 3, height, width, blur);
  if (noise_std > 0) {
    engine::parallel_for(0, 3 * plane, engine::kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const double u1 = 1.0 - engine::random_unit(noise_seed, 2 * (uint64_t)i), u2 = engine::random_unit(noise_seed, 2 * (uint64_t)i + 1);
        img[i] += (float)(noise_std * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
      }
    });
  }
  for (int64_t i = 0; i < 3 * plane; ++i) img[i] = std::min(1.0f, std::max(0.0f, img[i]));
  return out;
}

}  // namespace cuttle::data
