// Config values of the wrong kind or out of range fail naming the field and the file: fractional or
// negative integers (json::get would truncate 8.5 to 8 and wrap a negative seed), ranges the trainer
// relies on, and a config file that is not a JSON object (with overrides).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "models/camoxpert_config.h"
#include "models/config_overrides.h"
#include "tests/test_util.h"

using namespace cuttle;
using json = nlohmann::json;

namespace {

void check_rejected(const json& j, const std::string& what) {
  CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(j, "my.json"), doctest::Contains(what.c_str()), cuttle::Error);
}

// A recipe value out of range: a checkpoint's config with it still loads (inference needs only the
// model's fields), training refuses it.
void check_recipe_rejected(const json& j, const std::string& what) {
  const models::CamoXpertConfig c = models::parse_camoxpert_config(j, "my.json");
  CHECK_THROWS_WITH_AS(c.validate_training("my.json"), doctest::Contains(what.c_str()), cuttle::Error);
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("config integers must be integers") {
    check_rejected(json{{"head_width", 8.5}}, "my.json: field 'head_width' has the wrong type (expected an integer, got 8.5)");
    check_rejected(json{{"train", {{"batch", 2.5}}}}, "field 'train.batch' has the wrong type");
    check_rejected(json{{"train", {{"seed", -5}}}}, "field 'train.seed' has the wrong type (expected a non-negative integer");
    check_rejected(json{{"backbone", {{"dims", {8, 8, 16, 16.5}}}}}, "field 'backbone.dims' has the wrong type (element 3");
    check_rejected(json{{"train", {{"lr", true}}}}, "field 'train.lr' has the wrong type");
    check_rejected(json{{"train", {{"ema", 1}}}}, "field 'train.ema' has the wrong type");
    // Whole numbers written as floats are integers.
    CHECK(models::parse_camoxpert_config(json{{"train", {{"steps", 1e3}}}}).train.steps == 1000);
  }

  TEST_CASE("config ranges the trainer relies on are checked") {
    check_rejected(json{{"image_size", 32}}, "my.json: image_size = 32 must be a multiple of 32, at least 64");
    check_recipe_rejected(json{{"train", {{"low_res_size", 32}}}}, "train.low_res_size = 32");
    check_recipe_rejected(json{{"train", {{"steps", -2}}}}, "train.steps and train.epochs must be >= 0");
    check_recipe_rejected(json{{"train", {{"min_lr", -1}}}}, "train.min_lr = -1 must lie in [0, train.lr");
    check_recipe_rejected(json{{"train", {{"lr", 1e-3}, {"min_lr", 5}}}}, "train.min_lr = 5");
    check_recipe_rejected(json{{"train", {{"beta1", 2}}}}, "train.beta1 and train.beta2 must lie in [0, 1)");
    check_recipe_rejected(json{{"train", {{"warmup_steps", -3}}}}, "train.warmup_steps");
    check_recipe_rejected(json{{"train", {{"freeze_backbone_epochs", -1}}}}, "freeze_backbone_epochs");
    check_recipe_rejected(json{{"train", {{"val_size", 0}}}}, "train.val_size must be at least 1");
    check_recipe_rejected(json{{"loss", {{"final", -1}}}}, "the loss weights must be >= 0");
    check_recipe_rejected(json{{"moe", {{"aux_coef_min", -1}}}}, "moe.aux_coef_min");
  }

  TEST_CASE("a config file that is not an object fails naming the file") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(CUTTLE_TEST_BINARY_DIR) / "config_strictness";
    fs::create_directories(dir);
    const std::string array = (dir / "array.json").string(), train5 = (dir / "train5.json").string();
    std::ofstream(array) << "[1, 2]\n";
    std::ofstream(train5) << "{\"train\": 5}\n";
    CHECK_THROWS_WITH_AS(models::load_config(array, {"train.steps=1"}), doctest::Contains("array.json' must be a JSON object"),
                         cuttle::Error);
    CHECK_THROWS_WITH_AS(models::load_config(train5, {"train.steps=1"}),
                         doctest::Contains("train5.json': config override 'train.steps=1': 'train' is not a section"),
                         cuttle::Error);
  }
}
