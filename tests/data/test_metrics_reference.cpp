// The metrics against PySODMetrics 1.4.3 (tests/fixtures/pysodmetrics/reference.json): every
// per-image value, the full 256-point curves and every dataset value, within 1e-6.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "data/eval_folder.h"
#include "data/image_io.h"
#include "data/metrics/accumulator.h"
#include "engine/parallel.h"

using namespace cuttle;
using namespace cuttle::data;
using namespace cuttle::data::metrics;

namespace {

const std::string kFixtures = cuttle::test::test_dir() + "/fixtures/pysodmetrics";
constexpr double kTol = 1e-6;

nlohmann::json reference() {
  std::ifstream f(kFixtures + "/reference.json");
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

void check_curve(const Curve& got, const nlohmann::json& want, const std::string& what) {
  REQUIRE(want.size() == 256);
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < 256; ++i) {
    const double d = std::abs(got[i] - want[i].get<double>());
    if (d > worst) worst = d, at = i;
  }
  INFO(what << ": worst |diff| " << worst << " at index " << at);
  CHECK(worst <= kTol);
}

void check_value(double got, double want, const std::string& what) {
  INFO(what << ": got " << got << " want " << want);
  CHECK(std::abs(got - want) <= kTol);
}

}  // namespace

TEST_SUITE("metrics") {

TEST_CASE("per-image values and curves match PySODMetrics") {
  const nlohmann::json ref = reference();
  for (const auto& [name, want] : ref["images"].items()) {
    const Image pred = read_image(kFixtures + "/preds/" + name, ColorMode::grey);
    const Image gt = read_image(kFixtures + "/masks/" + name, ColorMode::grey);
    CHECK(gt.height == want["shape"][0].get<int64_t>());
    CHECK(gt.width == want["shape"][1].get<int64_t>());
    const ImageMetrics m = evaluate_image(pred, gt);
    check_value(m.sm, want["S"], name + " S");
    check_value(m.wfm, want["wF"], name + " wF");
    check_value(m.mae, want["MAE"], name + " MAE");
    check_value(m.adp_em, want["adpE"], name + " adpE");
    check_value(m.adp_fm, want["adpF"], name + " adpF");
    check_value(m.adp_iou, want["adpIoU"], name + " adpIoU");
    check_value(m.adp_dice, want["adpDice"], name + " adpDice");
    check_value(m.bin_iou, want["binIoU"], name + " binIoU");
    check_value(m.bin_dice, want["binDice"], name + " binDice");
    check_curve(m.em_curve, want["Ecurve"], name + " Ecurve");
    check_curve(m.fm_curve, want["Fcurve"], name + " Fcurve");
    check_curve(m.iou_curve, want["IoUcurve"], name + " IoUcurve");
    check_curve(m.dice_curve, want["DiceCurve"], name + " DiceCurve");
  }
}

TEST_CASE("dataset values match PySODMetrics") {
  const nlohmann::json ref = reference();
  MetricsAccumulator acc;
  for (const auto& [name, want] : ref["images"].items())
    acc.add(evaluate_image(read_image(kFixtures + "/preds/" + name, ColorMode::grey),
                           read_image(kFixtures + "/masks/" + name, ColorMode::grey)));
  const DatasetMetrics d = acc.result();
  const nlohmann::json& w = ref["dataset"];
  CHECK(d.images == 3);
  check_value(d.sm, w["S"], "S");
  check_value(d.wfm, w["wF"], "wF");
  check_value(d.mae, w["MAE"], "MAE");
  check_value(d.adp_em, w["adpE"], "adpE");
  check_value(d.mean_em, w["meanE"], "meanE");
  check_value(d.max_em, w["maxE"], "maxE");
  check_value(d.adp_fm, w["adpF"], "adpF");
  check_value(d.mean_fm, w["meanF"], "meanF");
  check_value(d.max_fm, w["maxF"], "maxF");
  check_value(d.adp_iou, w["adpIoU"], "adpIoU");
  check_value(d.mean_iou, w["meanIoU"], "meanIoU");
  check_value(d.max_iou, w["maxIoU"], "maxIoU");
  check_value(d.bin_iou, w["binIoU"], "binIoU");
  check_value(d.adp_dice, w["adpDice"], "adpDice");
  check_value(d.mean_dice, w["meanDice"], "meanDice");
  check_value(d.max_dice, w["maxDice"], "maxDice");
  check_value(d.bin_dice, w["binDice"], "binDice");
  // The JSON form carries PySODMetrics' key names.
  const nlohmann::json j = to_json(d);
  for (const char* key : {"Smeasure", "wFmeasure", "MAE", "adpEm", "meanEm", "maxEm", "adpFm", "meanFm", "maxFm",
                          "adpIoU", "meanIoU", "maxIoU", "binIoU", "adpDice", "meanDice", "maxDice", "binDice"})
    CHECK(j.contains(key));
  check_value(j["Smeasure"].get<double>(), w["S"], "json Smeasure");
  check_value(j["meanEm"].get<double>(), w["meanE"], "json meanEm");
}

TEST_CASE("evaluate_folders on the fixture folders matches the reference and is thread-count independent") {
  const nlohmann::json w = reference()["dataset"];
  const int threads = engine::num_threads();
  engine::set_num_threads(1);
  const FolderEvalResult one = evaluate_folders(kFixtures + "/preds", kFixtures + "/masks");
  engine::set_num_threads(3);
  int64_t calls = 0;
  FolderEvalOptions opts;
  opts.progress = [&](int64_t done, int64_t total) {
    ++calls;
    CHECK(done <= total);
  };
  const FolderEvalResult many = evaluate_folders(kFixtures + "/preds", kFixtures + "/masks", opts);
  engine::set_num_threads(threads);
  CHECK(calls == 3);
  CHECK(one.names == std::vector<std::string>{"0001.png", "19.png", "aerial-1867541__340.png"});
  CHECK(one.resized == 0);
  check_value(one.dataset.sm, w["S"], "S");
  check_value(one.dataset.wfm, w["wF"], "wF");
  check_value(one.dataset.mean_em, w["meanE"], "meanE");
  check_value(one.dataset.max_fm, w["maxF"], "maxF");
  check_value(one.dataset.mae, w["MAE"], "MAE");
  CHECK(to_json(one.dataset, true).dump() == to_json(many.dataset, true).dump());  // bit-identical
  const std::string table = format_metrics_table(one.dataset);
  CHECK(table.find("0.9030") != std::string::npos);  // S
  CHECK(table.find("0.5580") != std::string::npos);  // weighted F
}

}  // TEST_SUITE
