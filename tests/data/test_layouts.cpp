// Tests of dataset layout detection and FolderDataset on small trees written into a temporary folder:
// each standard layout, combining roots, the COD10K camouflaged-only filter, and problem reports.
#include <filesystem>
#include <unistd.h>

#include <fstream>

#include "data/datasets/folder_dataset.h"
#include "data/synthetic/export.h"
#include "data/image_io.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace fs = std::filesystem;

namespace {

struct TempTree {
  fs::path root;
  explicit TempTree(const std::string& name) {
    root = fs::temp_directory_path() / ("cuttle-test-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~TempTree() { fs::remove_all(root); }
  // A w x h picture (RGB) or mask (grey, left half on).
  void image(const fs::path& rel, int64_t w = 12, int64_t h = 8) {
    fs::create_directories((root / rel).parent_path());
    data::Image img(h, w, 3);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) img.at(y, x, c) = (uint8_t)(x * 20 + c * 7 + y);
    data::write_png((root / rel).string(), img);
  }
  void mask(const fs::path& rel, int64_t w = 12, int64_t h = 8) {
    fs::create_directories((root / rel).parent_path());
    data::Image m(h, w, 1);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) m.at(y, x) = x < w / 2 ? 255 : (x == w / 2 ? 128 : 0);
    data::write_png((root / rel).string(), m);
  }
};

data::FolderDatasetOptions split(const char* s) {
  data::FolderDatasetOptions o;
  o.scan.split = s;
  return o;
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("COD10K layout with the camouflaged-only filter") {
  TempTree t("cod10k");
  for (const char* stem : {"COD10K-CAM-1-Aquatic-1-BatFish-1", "COD10K-NonCAM-5-Background-1-Sky-2"}) {
    t.image(fs::path("Train/Image") / (std::string(stem) + ".png"));
    t.mask(fs::path("Train/GT_Object") / (std::string(stem) + ".png"));
  }
  t.image("Test/Image/COD10K-CAM-2-x.png");
  t.mask("Test/GT_Object/COD10K-CAM-2-x.png");
  data::FolderDataset all({t.root.string()}, split("train"));
  CHECK(all.size() == 2);
  CHECK(all.sets()[0].layout == data::Layout::cod10k);
  CHECK(all.name() == "COD10K-train");
  data::FolderDatasetOptions cam = split("train");
  cam.scan.cod10k_camouflaged_only = true;
  CHECK(data::FolderDataset({t.root.string()}, cam).size() == 1);
  data::FolderDataset test({t.root.string()}, split("test"));
  CHECK(test.size() == 1);
  data::Sample s = test.get(0);
  CHECK(s.image.shape() == Shape{3, 8, 12});
  CHECK(s.mask.shape() == Shape{8, 12});
  std::vector<int64_t> m = s.mask.to_vector<int64_t>();
  CHECK(m[0] == 255);
  CHECK(m[6] == 0);  // 128 is background (binarised at > 128)
  CHECK(s.image.to_vector<float>()[1] == doctest::Approx(20.0f / 255));
}

TEST_CASE("CAMO NC4K SINet bundle and plain folder layouts") {
  TempTree camo("CAMO"), nc4k("NC4K"), sinet("SINet"), plain("mydata");
  camo.image("Images/Train/camourflage_00001.png");
  camo.mask("GT/camourflage_00001.png");
  camo.image("Images/Test/camourflage_00002.png");
  camo.mask("GT/camourflage_00002.png");
  nc4k.image("Imgs/1.png");
  nc4k.mask("GT/1.png");
  sinet.image("TrainValDataset/Imgs/a.png");
  sinet.mask("TrainValDataset/GT/a.png");
  for (const char* d : {"CAMO", "CHAMELEON"}) {
    sinet.image(fs::path("TestDataset") / d / "Imgs/b.png");
    sinet.mask(fs::path("TestDataset") / d / "GT/b.png");
  }
  plain.image("image/x.png");
  plain.mask("mask/x.png");
  CHECK(data::FolderDataset({camo.root.string()}, split("train")).sets()[0].layout == data::Layout::camo);
  CHECK(data::FolderDataset({camo.root.string()}, split("test")).size() == 1);
  CHECK(data::FolderDataset({nc4k.root.string()}, split("test")).sets()[0].layout == data::Layout::nc4k);
  data::FolderDataset st({sinet.root.string()}, split("test"));
  CHECK(st.sets().size() == 2);
  CHECK(st.sets()[1].name == "SINet/CHAMELEON");
  CHECK(data::FolderDataset({sinet.root.string()}, split("train")).size() == 1);
  CHECK(data::FolderDataset({plain.root.string()}, split("train")).sets()[0].layout == data::Layout::folder_pair);
  // Combined roots: the usual COD10K + CAMO style training set.
  data::FolderDataset both({camo.root.string(), sinet.root.string()}, split("train"));
  CHECK(both.size() == 2);
  CHECK(both.name() == "CAMO-train+SINet/TrainValDataset");
}

TEST_CASE("optional masks: image folders alone are layouts and unlabelled images stay as pairs") {
  TempTree cod("cod10k-unlabelled"), mixed("NC4K-mixed"), bare("bare");
  cod.image("Test/Image/COD10K-CAM-1-Aquatic-1-BatFish-3.png");
  mixed.image("Imgs/1.png");
  mixed.mask("GT/1.png");
  mixed.image("Imgs/2.png");
  bare.image("images/a.png");
  data::ScanOptions opts;
  opts.split = "test";
  // Without the option a missing mask folder is an error and an unlabelled image a problem.
  CHECK_THROWS_WITH_AS(data::scan_layout(cod.root.string(), opts), doctest::Contains("mask folder"), cuttle::Error);
  CHECK(data::scan_layout(mixed.root.string(), opts)[0].problems.size() == 1);
  CHECK_THROWS_AS(data::scan_layout(bare.root.string(), opts), cuttle::Error);
  opts.masks_optional = true;
  const auto c = data::scan_layout(cod.root.string(), opts);
  REQUIRE(c.size() == 1);
  CHECK(c[0].layout == data::Layout::cod10k);
  CHECK(c[0].mask_dir.empty());
  REQUIRE(c[0].pairs.size() == 1);
  CHECK(c[0].pairs[0].mask.empty());
  const auto m = data::scan_layout(mixed.root.string(), opts);
  CHECK(m[0].layout == data::Layout::nc4k);
  CHECK(m[0].problems.empty());
  REQUIRE(m[0].pairs.size() == 2);
  CHECK(!m[0].pairs[0].mask.empty());
  CHECK(m[0].pairs[1].mask.empty());
  const auto b = data::scan_layout(bare.root.string(), opts);
  CHECK(b[0].layout == data::Layout::folder_pair);
  CHECK(b[0].pairs.size() == 1);
  // Training and evaluation read every mask: a dataset refuses the option.
  data::FolderDatasetOptions ds = split("test");
  ds.scan.masks_optional = true;
  CHECK_THROWS_WITH_AS(data::FolderDataset({mixed.root.string()}, ds), doctest::Contains("needs its mask"), cuttle::Error);
}

TEST_CASE("every problem is reported at once and skip leaves the faulty pairs out") {
  TempTree t("problems");
  t.image("Imgs/good.png");
  t.mask("GT/good.png");
  t.image("Imgs/lonely.png");
  t.mask("GT/orphan.png");
  t.image("Imgs/big.png", 16, 8);
  t.mask("GT/big.png", 12, 8);
  fs::create_directories(t.root / "Imgs");
  std::ofstream(t.root / "Imgs/broken.png") << "not a png";
  t.mask("GT/broken.png");
  try {
    data::FolderDataset ds({t.root.string()}, split("test"));
    FAIL("expected an error");
  } catch (const cuttle::Error& e) {
    const std::string m = e.what();
    CHECK(m.find("4 problem(s) in the dataset; fix or remove these files:") != std::string::npos);
    CHECK(m.find("'skip'") == std::string::npos);  // a library policy train_cod users cannot choose
    CHECK(m.find("lonely.png") != std::string::npos);
    CHECK(m.find("orphan.png") != std::string::npos);
    CHECK(m.find("size mismatch") != std::string::npos);
    CHECK(m.find("broken.png") != std::string::npos);
  }
  data::FolderDatasetOptions skip = split("test");
  skip.on_problem = data::ProblemPolicy::skip;
  data::FolderDataset ds({t.root.string()}, skip);
  CHECK(ds.size() == 1);
  CHECK(ds.report().find("skipped") != std::string::npos);
  CHECK_THROWS_AS(data::FolderDataset({(t.root / "nope").string()}, skip), cuttle::Error);
}


TEST_CASE("decode_files finds a truncated image that the header check lets through") {
  TempTree t("truncated");
  t.image("Imgs/good.png", 64, 48);
  t.mask("GT/good.png", 64, 48);
  t.image("Imgs/cut.png", 64, 48);
  t.mask("GT/cut.png", 64, 48);
  const fs::path cut = t.root / "Imgs/cut.png";
  fs::resize_file(cut, fs::file_size(cut) / 2);  // the header survives, the pixel data does not
  data::FolderDataset headers_only({t.root.string()}, split("test"));
  CHECK(headers_only.size() == 2);
  data::FolderDatasetOptions full = split("test");
  full.decode_files = true;
  try {
    data::FolderDataset ds({t.root.string()}, full);
    FAIL("expected an error");
  } catch (const cuttle::Error& e) {
    const std::string m = e.what();
    CHECK(m.find("1 problem(s) in the dataset") != std::string::npos);
    CHECK(m.find("cut.png") != std::string::npos);
    CHECK(m.find("good.png") == std::string::npos);
  }
  full.on_problem = data::ProblemPolicy::skip;
  data::FolderDataset skipped({t.root.string()}, full);
  REQUIRE(skipped.size() == 1);
  CHECK(skipped.pairs()[0].stem == "good");
}
}

TEST_SUITE("data") {

TEST_CASE("exported synthetic data is recognised as a COD10K layout and reads back") {
  TempTree t("export");
  data::ExportOptions o;
  o.train = 3;
  o.test = 2;
  o.height = 24;
  o.width = 40;
  CHECK(data::export_synthetic(t.root.string(), o) == 10);
  data::FolderDataset train({t.root.string()}, split("train"));
  CHECK(train.size() == 3);
  CHECK(train.sets()[0].layout == data::Layout::cod10k);
  data::Sample s = train.get(0);
  CHECK(s.image.shape() == Shape{3, 24, 40});
  // The mask survives exactly (PNG); the image within JPEG error of the generated one.
  data::SyntheticSample g = data::generate_synthetic(data::synthetic_seed(0, "train", 0), 24, 40, o.config);
  CHECK(s.mask.to_vector<int64_t>() == g.mask.to_vector<int64_t>());
  CHECK(max_rel_diff(s.image, g.image) < 0.15);
  CHECK(data::FolderDataset({t.root.string()}, split("test")).size() == 2);
}

}
