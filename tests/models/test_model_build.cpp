// Tests of models/model_factory.h: the shipped tiny config builds with the parameter count the PyTorch twin
// and docs/MODELS.md give, PVTv2 backbones come from backbone.type, mismatched dims fail, and the
// optimizer groups put exactly the routers at router_lr_scale.
#include "engine/error.h"
#include "models/backbones/pvt_v2.h"
#include "models/model_factory.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

TEST_SUITE("models") {

TEST_CASE("make_camoxpert builds the shipped tiny config") {
  const models::CamoXpertConfig cfg =
      models::load_camoxpert_config(test_dir() + "/../models/configs/camoxpert-tiny.json");
  engine::Generator gen(0);
  auto model = models::make_camoxpert(cfg, gen);
  CHECK(model->num_parameters() == 2'511'081);  // tools/camoxpert_torch.py --info counts the same
  CHECK(model->backbone().num_parameters() == 491'272);
  const auto groups = models::camoxpert_param_groups(*model, cfg.train);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].lr_scale == 1.0);
  CHECK(groups[1].lr_scale == cfg.train.router_lr_scale);
  CHECK(groups[1].params.size() == 8);  // 4 routers: weight and bias
  CHECK(groups[0].params.size() + groups[1].params.size() == model->parameters().size());
}

TEST_CASE("make_backbone builds PVTv2 from backbone.type and CamoXpert checks its dims") {
  models::CamoXpertConfig cfg;
  cfg.backbone.type = "pvt_v2_b0";
  engine::Generator gen(0);
  auto bb = models::make_backbone(cfg.backbone, gen);
  CHECK(dynamic_cast<models::PvtV2*>(bb.get()) != nullptr);
  CHECK(bb->dims() == std::array<int64_t, 4>{32, 64, 160, 256});
  cfg.backbone.dims = {64, 128, 320, 512};  // b2's dims on a b0
  CHECK_THROWS_AS(models::make_camoxpert(cfg, gen), Error);
}

}
