// evaluate_folders: matching by stem, resizing to the mask size, and one error listing every problem.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/test_util.h"
#include "data/eval_folder.h"
#include "data/image_io.h"
#include "data/resize.h"
#include "tests/data/png_bytes.h"

using namespace cuttle;
using namespace cuttle::data;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = cuttle::test::test_dir() + "/fixtures/pysodmetrics";

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / "cuttle_test_eval_folder" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string error_of(const std::string& pred, const std::string& gt, const FolderEvalOptions& o = {}) {
  try {
    evaluate_folders(pred, gt, o);
  } catch (const cuttle::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("evaluate_folders reports missing unmatched and unreadable files all at once") {
  const fs::path root = fresh_dir("problems");
  const fs::path preds = root / "preds", masks = root / "masks";
  fs::create_directories(preds);
  fs::create_directories(masks);
  for (const char* n : {"a", "b", "c"}) fs::copy_file(kFixtures + "/masks/0001.png", masks / (std::string(n) + ".png"));
  fs::copy_file(kFixtures + "/preds/0001.png", preds / "a.png");
  fs::copy_file(kFixtures + "/preds/0001.png", preds / "zzz.png");
  const std::string e = error_of(preds.string(), masks.string());
  CHECK(e.find("b.png") != std::string::npos);    // mask without prediction
  CHECK(e.find("c.png") != std::string::npos);
  CHECK(e.find("zzz.png") != std::string::npos);  // prediction without mask

  // Matching sets, one unreadable prediction and one unreadable mask: both named.
  fs::remove(preds / "zzz.png");
  test::write_bytes((preds / "b.png").string(), {'n', 'o', 't'});
  fs::copy_file(kFixtures + "/preds/0001.png", preds / "c.jpg");  // stem match with another extension
  fs::remove(masks / "a.png");
  test::write_bytes((masks / "a.png").string(), {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0});
  const std::string e2 = error_of(preds.string(), masks.string());
  CHECK(e2.find((preds / "b.png").string()) != std::string::npos);
  CHECK(e2.find((masks / "a.png").string()) != std::string::npos);
  CHECK(e2.find("2 problems") != std::string::npos);

  CHECK(error_of((root / "nope").string(), masks.string()).find("nope") != std::string::npos);
  const fs::path empty = fresh_dir("empty");
  CHECK(error_of(empty.string(), empty.string()).find("no PNG or JPEG") != std::string::npos);
}

TEST_CASE("evaluate_folders resizes predictions to the mask size") {
  const fs::path root = fresh_dir("resize");
  const fs::path preds = root / "preds", masks = root / "masks";
  fs::create_directories(preds);
  fs::create_directories(masks);
  fs::copy_file(kFixtures + "/masks/19.png", masks / "19.png");
  const Image pred = read_image(kFixtures + "/preds/19.png", ColorMode::grey);
  const Image gt = read_image(kFixtures + "/masks/19.png", ColorMode::grey);
  const Image small = resize_bilinear(pred, 200, 260);
  write_png((preds / "19.png").string(), small);
  const FolderEvalResult r = evaluate_folders(preds.string(), masks.string());
  CHECK(r.resized == 1);
  const metrics::ImageMetrics want = metrics::evaluate_image(resize_bilinear(small, gt.height, gt.width), gt);
  CHECK(r.per_image[0].sm == want.sm);
  CHECK(r.dataset.wfm == want.wfm);
  CHECK(r.dataset.sm > 0.7);  // still close to the full-size prediction's 0.79

  FolderEvalOptions strict;
  strict.resize_to_mask = false;
  const std::string e = error_of(preds.string(), masks.string(), strict);
  CHECK(e.find("19.png") != std::string::npos);
  CHECK(e.find("200x260") != std::string::npos);
}

}  // TEST_SUITE
