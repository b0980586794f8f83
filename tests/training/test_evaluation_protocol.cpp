// The evaluation protocol end to end: what the trainer's validation computes (evaluate_model: the
// prediction resized to each mask's own size, 8-bit) equals what eval_cod computes on the PNGs that
// infer_cod writes, here on a dataset whose images (80x48) are not the model's square input (64x64).
#include <filesystem>

#include "data/eval_folder.h"
#include "data/image_io.h"
#include "data/synthetic/export.h"
#include "models/config_overrides.h"
#include "models/inference.h"
#include "models/model_factory.h"
#include "models/training/datasets.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace fs = std::filesystem;

TEST_SUITE("models") {

TEST_CASE("validation metrics equal eval_cod on the written prediction PNGs") {
  const fs::path root = fs::temp_directory_path() / "cuttle_test_protocol";
  fs::remove_all(root);
  data::ExportOptions eo;
  eo.train = 0;
  eo.test = 5;
  eo.height = 48;
  eo.width = 80;
  data::export_synthetic((root / "data").string(), eo);
  const auto sets = models::open_sets({(root / "data").string()}, "test");
  REQUIRE(sets.size() == 1);
  REQUIRE(sets[0]->size() == 5);

  const models::CamoXpertConfig cfg = models::load_config(
      test_dir() + "/../models/configs/camoxpert-tiny.json",
      {"backbone.dims=[8,8,16,16]", "head_width=8", "image_size=64", "moe.experts=[\"CODEdge\",\"CODTexture\"]",
       "moe.top_k=1"});
  engine::Generator gen(4);
  auto model = models::make_camoxpert(cfg, gen);
  model->eval();
  models::InferenceOptions io;
  io.image_size = 64;
  io.batch = 2;
  fs::create_directories(root / "pred");
  const models::DatasetEvaluation ev =
      models::evaluate_model(*model, *sets[0], io, [&](int64_t, const data::Sample& s, const data::Image& map) {
        CHECK(map.height == 48);
        CHECK(map.width == 80);
        data::write_png((root / "pred" / (s.name + ".png")).string(), map);
      });
  const data::FolderEvalResult folder = data::evaluate_folders((root / "pred").string(), (root / "data" / "Test" / "GT_Object").string());
  CHECK(folder.resized == 0);
  CHECK(folder.dataset.images == 5);
  CHECK(folder.dataset.sm == doctest::Approx(ev.metrics.sm).epsilon(1e-12));
  CHECK(folder.dataset.mean_em == doctest::Approx(ev.metrics.mean_em).epsilon(1e-12));
  CHECK(folder.dataset.wfm == doctest::Approx(ev.metrics.wfm).epsilon(1e-12));
  CHECK(folder.dataset.mae == doctest::Approx(ev.metrics.mae).epsilon(1e-12));
  CHECK(folder.dataset.bin_iou == doctest::Approx(ev.metrics.bin_iou).epsilon(1e-12));
}

}
