// The shipped camoxpert-tiny config with the real SmallCNN backbone: it builds, runs a training step's
// forward and backward at 128x128, and has about the parameter count CAMOXPERT.md states (2.6 M).
#include "autograd/functions/reduce.h"
#include "engine/ops/elementwise.h"
#include "models/backbones/small_cnn.h"
#include "models/camoxpert.h"
#include "models/camoxpert_config.h"
#include "models/loss.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

TEST_SUITE("models") {

TEST_CASE("camoxpert-tiny with the small CNN backbone trains one step") {
  const models::CamoXpertConfig cfg =
      models::load_camoxpert_config(test_dir() + "/../models/configs/camoxpert-tiny.json");
  engine::Generator gen(0);
  auto backbone = std::make_shared<models::SmallCNN>(std::array<int64_t, 4>{16, 32, 64, 128}, gen);
  models::CamoXpert model(cfg, backbone, gen);
  const int64_t params = model.num_parameters();
  MESSAGE("camoxpert-tiny parameters: ", params);
  CHECK(params > 2'000'000);
  CHECK(params < 3'200'000);
  model.train();
  Tensor x = randn({2, 3, 128, 128}, 1, DType::f32);
  Tensor t = engine::compare_scalar(engine::CompareOp::gt, randn({2, 1, 128, 128}, 2, DType::f32), 0.5).to(DType::f32);
  models::CamoXpertOutput out = model.forward(autograd::Var(x));
  CHECK(out.logits.shape() == Shape{2, 1, 128, 128});
  models::LossTerms loss = models::camoxpert_loss(out, t, cfg.loss);
  CHECK(std::isfinite(loss.total.item()));
  loss.total.backward();
  int with_grad = 0;
  for (const autograd::Var& p : model.parameters())
    if (p.grad().defined()) ++with_grad;
  CHECK(with_grad > 100);
}

}
