// The synthetic task must be learnable but not trivial: a colour-outlier baseline (pixels whose colour
// is far from the image's mean colour) must fail at the default cue, and do clearly better as the cue
// grows. Scored with the field's S-measure over 200 fixed-seed 64x64 scenes.
#include "data/metrics/prepare.h"
#include "data/metrics/smeasure.h"
#include "data/synthetic/generator.h"
#include "tests/test_util.h"

using namespace cuttle;

namespace {

// Binary map: colour distance to the image mean above mean + 1 std of that distance.
double baseline_smeasure(const data::SyntheticSample& s) {
  const int64_t h = s.mask.size(0), w = s.mask.size(1), n = h * w;
  const float* img = s.image.data<float>();
  double mean[3] = {0, 0, 0};
  for (int c = 0; c < 3; ++c) {
    for (int64_t i = 0; i < n; ++i) mean[c] += img[c * n + i];
    mean[c] /= n;
  }
  std::vector<double> d(n);
  double md = 0, sd = 0;
  for (int64_t i = 0; i < n; ++i) {
    double q = 0;
    for (int c = 0; c < 3; ++c) q += (img[c * n + i] - mean[c]) * (img[c * n + i] - mean[c]);
    d[i] = std::sqrt(q);
    md += d[i] / n;
  }
  for (int64_t i = 0; i < n; ++i) sd += (d[i] - md) * (d[i] - md) / n;
  const double thr = md + std::sqrt(sd);
  std::vector<uint8_t> pred(n);
  for (int64_t i = 0; i < n; ++i) pred[i] = d[i] > thr ? 255 : 0;
  return data::metrics::smeasure(data::metrics::prepare(pred.data(), h, w, s.mask.data<uint8_t>(), h, w));
}

data::SyntheticConfig fixed_cue(double cue) {
  data::SyntheticConfig cfg;
  cfg.cue_min = cfg.cue_max = cue;
  return cfg;
}

double mean_baseline(const data::SyntheticConfig& cfg) {
  double total = 0;
  for (int i = 0; i < 200; ++i)
    total += baseline_smeasure(data::generate_synthetic(data::synthetic_seed(2024, "test", i), 64, 64, cfg));
  return total / 200;
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("the synthetic task defeats a colour-outlier baseline and the cue makes it easier") {
  const double s_default = mean_baseline(data::SyntheticConfig{});
  const double s_low = mean_baseline(fixed_cue(0.2)), s_high = mean_baseline(fixed_cue(0.8));
  MESSAGE("baseline S-measure: default cue ", s_default, ", cue 0.2 ", s_low, ", cue 0.8 ", s_high);
  CHECK(s_default <= 0.55);
  CHECK(s_high - s_low >= 0.1);
}

}
