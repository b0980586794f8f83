// Config overrides: dotted assignments reach nested fields, values parse as JSON or stay strings, a
// typo in a field name fails like one in the file, shipped configs are found by name.
#include "models/config_overrides.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

TEST_SUITE("models") {

TEST_CASE("config overrides set nested fields and keep unknown fields errors") {
  nlohmann::json j = {{"train", {{"lr", 1e-3}}}};
  models::apply_config_override(j, "train.lr=3e-4");
  models::apply_config_override(j, "backbone.type=small_cnn");
  models::apply_config_override(j, "moe.experts=[\"CODEdge\",\"CODTexture\"]");
  models::apply_config_override(j, "train.ema=true");
  CHECK(j["train"]["lr"].get<double>() == doctest::Approx(3e-4));
  CHECK(j["backbone"]["type"] == "small_cnn");
  CHECK(j["moe"]["experts"].size() == 2);
  CHECK(j["train"]["ema"] == true);
  CHECK_THROWS_AS(models::apply_config_override(j, "no-equals-sign"), cuttle::Error);
  CHECK_THROWS_AS(models::apply_config_override(j, "train.lr.x=1"), cuttle::Error);

  const std::string tiny = models::find_config("camoxpert-tiny", {test_dir() + "/../models/configs"});
  const models::CamoXpertConfig c = models::load_config(tiny, {"train.batch=4", "head_width=16"});
  CHECK(c.train.batch == 4);
  CHECK(c.head_width == 16);
  CHECK_THROWS_WITH_AS(models::load_config(tiny, {"train.learning_rate=1"}), doctest::Contains("learning_rate"),
                       cuttle::Error);
  CHECK_THROWS_WITH_AS(models::find_config("no-such-config", {test_dir()}), doctest::Contains("not found"), cuttle::Error);
}

}
