#include "data/synthetic/texture.h"

#include <algorithm>
#include <cmath>

#include "data/synthetic/noise.h"

namespace cuttle::data {

namespace {

double clamp01(double v) { return std::min(1.0, std::max(0.0, v)); }

// Natural-looking palettes: a base hue family with lightness steps (foliage, sand, bark, rock, sea),
// occasionally a wild one.
std::vector<Rgb> random_palette(SceneRng& rng) {
  const int n = (int)rng.integer(2, 5);
  Rgb base{rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)};
  if (rng.chance(0.7)) {  // earthy: pull the channels together, then tint
    const double grey = (base[0] + base[1] + base[2]) / 3;
    for (double& c : base) c = grey + 0.45 * (c - grey);
  }
  std::vector<Rgb> p;
  for (int i = 0; i < n; ++i) {
    const double light = rng.uniform(-0.3, 0.3);
    Rgb c;
    for (int k = 0; k < 3; ++k) c[k] = clamp01(base[k] + light + rng.uniform(-0.08, 0.08));
    p.push_back(c);
  }
  std::sort(p.begin(), p.end(), [](const Rgb& a, const Rgb& b) { return a[0] + a[1] + a[2] < b[0] + b[1] + b[2]; });
  return p;
}

Rgb palette_at(const std::vector<Rgb>& p, double t) {
  t = clamp01(t) * (double)(p.size() - 1);
  const size_t i = std::min((size_t)t, p.size() - 2);
  const double f = t - (double)i;
  return {p[i][0] + f * (p[i + 1][0] - p[i][0]), p[i][1] + f * (p[i + 1][1] - p[i][1]),
          p[i][2] + f * (p[i + 1][2] - p[i][2])};
}

}  // namespace

Texture random_texture(SceneRng& rng, int64_t image_side) {
  Texture t;
  const double u = rng.uniform();
  t.pattern = u < 0.35 ? Pattern::clouds : u < 0.6 ? Pattern::blotches : u < 0.8 ? Pattern::cells : Pattern::stripes;
  t.seed = rng.fork();
  // Feature size between 1/40 and 1/3 of the image side, log-uniform.
  const double side = (double)std::max<int64_t>(image_side, 8);
  t.scale = std::exp(rng.uniform(std::log(3.0 / side), std::log(40.0 / side)));
  t.orientation = rng.uniform(0, M_PI);
  t.anisotropy = rng.chance(0.4) ? rng.uniform(1.5, 4.0) : rng.uniform(1.0, 1.4);
  t.offset_x = rng.uniform(-1000, 1000);
  t.offset_y = rng.uniform(-1000, 1000);
  t.warp = rng.uniform(0.0, 1.2);
  t.level = rng.uniform(-0.25, 0.25);
  t.octaves = (int)rng.integer(2, 5);
  t.palette = random_palette(rng);
  t.detail = rng.uniform(0.03, 0.2);
  return t;
}

Texture drift(const Texture& base, double cue, SceneRng& rng) {
  Texture t = base;
  // Same pattern, another phase: at cue 0 only the phase tells object and background apart.
  t.offset_x = rng.uniform(-1000, 1000);
  t.offset_y = rng.uniform(-1000, 1000);
  // Every drift has a magnitude of its own and a random sign, so the cue sets how visible the object
  // is: drawing each from a range around zero left some objects invisible at any cue.
  auto sign = [&rng] { return rng.chance(0.5) ? 1.0 : -1.0; };
  t.scale *= std::exp(cue * sign() * rng.uniform(0.3, 0.8));
  t.orientation += cue * sign() * rng.uniform(M_PI / 8, M_PI / 2);
  // A tint (a random colour direction) plus a lightness change, and small per-colour changes.
  Rgb tint{};
  double norm = 0;
  while (norm < 0.25) {
    for (double& v : tint) v = rng.uniform(-1, 1);
    norm = std::sqrt(tint[0] * tint[0] + tint[1] * tint[1] + tint[2] * tint[2]);
  }
  const double light = sign() * rng.uniform(0.4, 1.0);
  for (Rgb& c : t.palette)
    for (int k = 0; k < 3; ++k)
      c[k] = clamp01(c[k] + cue * (0.2 * tint[k] / norm + 0.2 * light + rng.uniform(-0.05, 0.05)));
  return t;
}

Rgb texture_colour(const Texture& t, double x, double y) {
  // Rotate, stretch and scale into pattern space.
  const double c = std::cos(t.orientation), s = std::sin(t.orientation);
  double u = (c * x + s * y) * t.scale / t.anisotropy + t.offset_x;
  double v = (-s * x + c * y) * t.scale + t.offset_y;
  if (t.warp > 0) {  // domain warp: organic, irregular shapes
    const double wu = fbm(t.seed ^ 0xA5A5, u * 0.5, v * 0.5, 2), wv = fbm(t.seed ^ 0x5A5A, u * 0.5 + 7.1, v * 0.5 - 3.3, 2);
    u += t.warp * wu;
    v += t.warp * wv;
  }
  double value = 0;
  switch (t.pattern) {
    case Pattern::clouds: value = 0.5 + 0.6 * fbm(t.seed, u, v, t.octaves); break;
    case Pattern::blotches: {
      const double f = fbm(t.seed, u, v, t.octaves);
      value = 0.5 + 0.5 * std::tanh(8.0 * (f - t.level)) * 0.9 + 0.1 * f;
      break;
    }
    case Pattern::cells: {
      const WorleyResult w = worley(t.seed, u * 1.5, v * 1.5);
      value = std::min(1.0, (w.f2 - w.f1) * 1.6) * 0.8 + 0.2 * (0.5 + 0.5 * fbm(t.seed ^ 1, u, v, 2));
      break;
    }
    case Pattern::stripes: value = 0.5 + 0.5 * std::sin(6.0 * u + 2.5 * fbm(t.seed, u, v, t.octaves)); break;
  }
  Rgb col = palette_at(t.palette, value);
  const double grain = t.detail * fbm(t.seed ^ 0xD37A11, u * 6.0, v * 6.0, 2);
  for (double& ch : col) ch = clamp01(ch + grain);
  return col;
}

}  // namespace cuttle::data
