// Edge cases of the metrics: every row of METRICS.md's table, the empty-quadrant S-measure decision,
// the distance transform's tie-breaking (as scipy's), size mismatches, and hand-checkable values.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "data/metrics/accumulator.h"
#include "data/metrics/edt.h"
#include "data/metrics/emeasure.h"
#include "data/metrics/fmeasure.h"
#include "data/metrics/smeasure.h"
#include "data/metrics/summation.h"

using namespace cuttle;
using namespace cuttle::data;
using namespace cuttle::data::metrics;

namespace {

constexpr int64_t kH = 40, kW = 60;

Image filled(uint8_t v) { return Image(kH, kW, 1, v); }
Image box(uint8_t inside, uint8_t outside) {  // rows 10..29, cols 20..44 inclusive
  Image img = filled(outside);
  for (int64_t y = 10; y < 30; ++y)
    for (int64_t x = 20; x < 45; ++x) img.at(y, x) = inside;
  return img;
}

struct Row {
  const char* name;
  Image gt, pred;
  double s, wf, mae, adp_e, mean_e, max_e, adp_f, mean_f, max_f;
};

}  // namespace

TEST_SUITE("metrics") {

TEST_CASE("every row of the METRICS.md edge-case table") {
  const std::vector<Row> rows = {
      {"empty GT pred 0", filled(0), filled(0), 1, 0, 0, 0, 0.996509, 1.000417, 0, 0, 0},
      {"empty GT pred 255", filled(0), filled(255), 0, 0, 1, 0, 0, 0, 0, 0, 0},
      {"full GT pred 255", filled(255), filled(255), 1, 1, 0, 1.000417, 1.000417, 1.000417, 1, 1, 1},
      {"full GT pred 0", filled(255), filled(0), 0, 0.126417, 1, 1.000417, 0.003908, 1.000417, 1, 0.003906, 1},
      {"box GT pred == GT", box(255, 0), box(255, 0), 1, 1, 0, 1.000417, 0.997486, 1.000417, 1, 0.997089, 1},
      {"box GT pred 0", box(255, 0), filled(0), 0.395833, 0, 0.208333, 0.250104, 0.250104, 0.250104, 0.254902,
       0.000996, 0.254902},
      {"box GT pred const 128", box(255, 0), filled(128), 0.399448, 0.216095, 0.501144, 0.250104, 0.250104,
       0.250104, 0, 0.128447, 0.254902},
      {"box GT pred 255-GT", box(255, 0), box(0, 255), 0, 0, 1, 0, 0.000977, 0.250104, 0, 0.000996, 0.254902},
  };
  constexpr double tol = 1e-6;  // the table has 6 decimals
  for (const Row& r : rows) {
    MetricsAccumulator acc;  // one image: dataset mean/max are those of its curves
    acc.add(evaluate_image(r.pred, r.gt));
    const DatasetMetrics d = acc.result();
    INFO(r.name);
    CHECK(std::abs(d.sm - r.s) <= tol);
    CHECK(std::abs(d.wfm - r.wf) <= tol);
    CHECK(std::abs(d.mae - r.mae) <= tol);
    CHECK(std::abs(d.adp_em - r.adp_e) <= tol);
    CHECK(std::abs(d.mean_em - r.mean_e) <= tol);
    CHECK(std::abs(d.max_em - r.max_e) <= tol);
    CHECK(std::abs(d.adp_fm - r.adp_f) <= tol);
    CHECK(std::abs(d.mean_fm - r.mean_f) <= tol);
    CHECK(std::abs(d.max_fm - r.max_f) <= tol);
  }
}

TEST_CASE("a perfect map scores E = N/(N-1) and IoU = Dice = 1") {
  const ImageMetrics m = evaluate_image(box(255, 0), box(255, 0));
  const double n = kH * kW;
  CHECK(m.adp_em == doctest::Approx(n / (n - 1)).epsilon(1e-12));
  CHECK(m.adp_iou == 1.0);
  CHECK(m.bin_dice == 1.0);
  CHECK(m.mae == 0.0);
}

TEST_CASE("empty S-measure quadrant counts 0 instead of NaN") {
  // Foreground only in the last column: the centroid column is W - 1, so X = W and the right
  // quadrants are empty (the reference returns NaN here).
  Image gt(8, 6, 1, 0), pred(8, 6, 1, 0);
  for (int64_t y = 2; y < 7; ++y) gt.at(y, 5) = 255;
  const double s_perfect = smeasure(prepare(gt, gt));
  CHECK(std::isfinite(s_perfect));
  CHECK(s_perfect == doctest::Approx(1.0).epsilon(1e-9));
  for (int64_t y = 0; y < 8; ++y) pred.at(y, 4) = 200;
  const double s = smeasure(prepare(pred, gt));
  CHECK(std::isfinite(s));
  CHECK(s >= 0.0);
  CHECK(s < 1.0);
  // Same for the last row.
  Image gt_row(5, 7, 1, 0);
  for (int64_t x = 1; x < 6; ++x) gt_row.at(4, x) = 255;
  CHECK(std::isfinite(smeasure(prepare(gt_row, gt_row))));
  CHECK(std::isfinite(evaluate_image(pred, gt).sm));
}

TEST_CASE("distance transform picks scipy's pixel among equally near ones") {
  // distance_transform_edt(mask == 0, return_indices=True) of scipy 1.10 for this 5x6 mask.
  const std::vector<uint8_t> fg = {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const std::vector<int32_t> rows = {1, 0, 0, 0, 2, 2, 1, 1, 0, 2, 2, 2, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 2, 4, 1, 2, 2, 2, 4, 4};
  const std::vector<int32_t> cols = {0, 1, 1, 1, 3, 3, 0, 0, 1, 3, 3, 3, 0, 0, 3, 3, 3, 3, 0, 0, 3, 3, 3, 5, 0, 3, 3, 3, 5, 5};
  const std::vector<int> d2 = {1, 0, 1, 4, 5, 8, 0, 1, 2, 1, 2, 5, 1, 2, 1, 0, 1, 4, 4, 5, 2, 1, 2, 1, 9, 8, 5, 4, 1, 0};
  const DistanceTransform dt = distance_to_foreground(fg, 5, 6);
  CHECK(dt.nearest_row == rows);
  CHECK(dt.nearest_col == cols);
  for (size_t i = 0; i < d2.size(); ++i) CHECK(dt.distance[i] == std::sqrt((double)d2[i]));
  // 1-D ties: the upper row, the left column.
  const DistanceTransform col = distance_to_foreground({1, 0, 1}, 3, 1);
  CHECK(col.nearest_row[1] == 0);
  const DistanceTransform row = distance_to_foreground({1, 0, 1}, 1, 3);
  CHECK(row.nearest_col[1] == 0);
  CHECK_THROWS_AS(distance_to_foreground({0, 0, 0, 0}, 2, 2), cuttle::Error);
}

TEST_CASE("E F IoU and Dice from counts by hand") {
  // 10 pixels, |G| = 4, the map marks 3 of G and 1 outside: TP 3, FP 1, FN 1, TN 5.
  const Counts c{3, 1, 4, 10};
  CHECK(fmeasure(c) == doctest::Approx(1.3 * 0.75 * 0.75 / (0.3 * 0.75 + 0.75)));
  CHECK(iou(c) == doctest::Approx(3.0 / 5.0));
  CHECK(dice(c) == doctest::Approx(6.0 / 8.0));
  // E by the per-pixel definition: mean(B) = 0.4, mean(G) = 0.4.
  auto enh = [](double a, double b) {
    const double al = 2 * a * b / (a * a + b * b + kEps);
    return (al + 1) * (al + 1) / 4;
  };
  const double want = (3 * enh(0.6, 0.6) + 1 * enh(0.6, -0.4) + 1 * enh(-0.4, 0.6) + 5 * enh(-0.4, -0.4)) / (9 + kEps);
  CHECK(emeasure(c) == doctest::Approx(want).epsilon(1e-12));
  CHECK(fmeasure(Counts{0, 5, 4, 10}) == 0.0);
  CHECK(iou(Counts{0, 0, 0, 10}) == 0.0);
}

TEST_CASE("metrics refuse predictions of another size") {
  CHECK_THROWS_AS(evaluate_image(Image(4, 5, 1), Image(5, 4, 1)), cuttle::Error);
  CHECK_THROWS_AS(evaluate_image(Image(4, 5, 3), Image(4, 5, 1)), cuttle::Error);
  CHECK_THROWS_AS(MetricsAccumulator().result(), cuttle::Error);
}

TEST_CASE("numpy-order summation") {
  std::vector<double> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 1.0 / (double)(i + 1);
  double plain = 0;
  for (double x : v) plain += x;
  CHECK(numpy_sum(v) == doctest::Approx(plain).epsilon(1e-14));
  CHECK(numpy_sum(std::vector<double>{1, 2, 3}) == 6.0);
  CHECK(numpy_sum_buffered(v) == numpy_sum(v));  // one buffer
}

}  // TEST_SUITE
