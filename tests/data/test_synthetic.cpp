// Tests of the synthetic camouflage generator: determinism, sizes and aspect ratios, object sizes,
// empty scenes, and that the cue knob changes the object's texture and nothing else.
#include "data/synthetic/generator.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

namespace {
double mask_fraction(const Tensor& mask) {
  const std::vector<int64_t> m = mask.to_vector<int64_t>();
  double on = 0;
  for (int64_t v : m) on += v > 128;
  return on / (double)m.size();
}
}  // namespace

TEST_SUITE("data") {

TEST_CASE("synthetic scenes are deterministic per seed and differ across seeds") {
  data::SyntheticConfig cfg;
  auto a = data::generate_synthetic(data::synthetic_seed(1, "train", 5), 48, 64, cfg);
  auto b = data::generate_synthetic(data::synthetic_seed(1, "train", 5), 48, 64, cfg);
  auto c = data::generate_synthetic(data::synthetic_seed(1, "train", 6), 48, 64, cfg);
  CHECK(a.image.shape() == Shape{3, 48, 64});
  CHECK(a.mask.shape() == Shape{48, 64});
  CHECK(a.mask.dtype() == DType::u8);
  CHECK(a.image.to_vector<float>() == b.image.to_vector<float>());
  CHECK(a.mask.to_vector<int64_t>() == b.mask.to_vector<int64_t>());
  CHECK(a.image.to_vector<float>() != c.image.to_vector<float>());
  CHECK(data::synthetic_seed(1, "train", 5) != data::synthetic_seed(1, "val", 5));
  // Values in range, masks binary.
  for (float v : a.image.to_vector<float>()) CHECK((v >= 0.0f && v <= 1.0f));
  for (int64_t v : a.mask.to_vector<int64_t>()) CHECK((v == 0 || v == 255));
}

TEST_CASE("synthetic object sizes span the configured range and some scenes are empty") {
  data::SyntheticConfig cfg;
  int empty = 0, small = 0, large = 0;
  const int n = 120;
  for (int i = 0; i < n; ++i) {
    const double f = mask_fraction(data::generate_synthetic(data::synthetic_seed(3, "train", i), 64, 64, cfg).mask);
    CHECK(f <= 0.6);
    if (f == 0) ++empty;
    if (f > 0 && f < 0.06) ++small;
    if (f > 0.2) ++large;
  }
  CHECK(empty >= 1);
  CHECK(empty <= n / 8);
  CHECK(small >= n / 10);
  CHECK(large >= n / 15);
}

TEST_CASE("synthetic scenes of any size and aspect ratio") {
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{8, 8}, {33, 100}, {128, 40}, {200, 200}}) {
    auto s = data::generate_synthetic(data::synthetic_seed(9, "test", 1), h, w);
    CHECK(s.image.shape() == Shape{3, h, w});
  }
  CHECK_THROWS_AS(data::generate_synthetic(1, 4, 64), cuttle::Error);
  data::SyntheticConfig bad;
  bad.cue_max = 1.5;
  CHECK_THROWS_AS(data::generate_synthetic(1, 32, 32, bad), cuttle::Error);
}

TEST_CASE("the cue changes the object and leaves the background and the mask alone") {
  data::SyntheticConfig lo, hi;
  lo.cue_min = lo.cue_max = 0.0;
  hi.cue_min = hi.cue_max = 1.0;
  int compared = 0;
  for (int i = 0; i < 10; ++i) {
    const uint64_t seed = data::synthetic_seed(4, "train", i);
    auto a = data::generate_synthetic(seed, 64, 64, lo), b = data::generate_synthetic(seed, 64, 64, hi);
    CHECK(a.mask.to_vector<int64_t>() == b.mask.to_vector<int64_t>());
    // Far from every object (mask 0 within 9 pixels) the pixels are identical.
    std::vector<int64_t> m = a.mask.to_vector<int64_t>();
    std::vector<float> ia = a.image.to_vector<float>(), ib = b.image.to_vector<float>();
    double inside_diff = 0;
    int inside = 0;
    for (int64_t y = 0; y < 64; ++y)
      for (int64_t x = 0; x < 64; ++x) {
        bool near = false;
        for (int64_t dy = -9; dy <= 9 && !near; ++dy)
          for (int64_t dx = -9; dx <= 9 && !near; ++dx) {
            const int64_t yy = std::clamp<int64_t>(y + dy, 0, 63), xx = std::clamp<int64_t>(x + dx, 0, 63);
            near = m[yy * 64 + xx] != 0;
          }
        for (int k = 0; k < 3; ++k) {
          const size_t j = (size_t)(k * 4096 + y * 64 + x);
          // Within two 8-bit levels: inside_distance measures between 1/stretch and stretch pixels per
          // unit, so along an elongated object's long axis the feathered outline and the blur reach a
          // little beyond 9 pixels, where cue 1's larger colour shift shows.
          if (!near) CHECK(std::abs(ia[j] - ib[j]) < 2.0f / 255);
          if (m[y * 64 + x]) {
            inside_diff += std::abs(ia[j] - ib[j]);
            ++inside;
          }
        }
      }
    if (inside > 0) {
      CHECK(inside_diff / inside > 0.01);
      ++compared;
    }
  }
  CHECK(compared >= 5);
}

}
