// Tests of CamoXpertConfig parsing: defaults, unknown fields named with the file, invalid values,
// a JSON round trip, and the shipped configs.
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "models/camoxpert_config.h"
#include "tests/test_util.h"

using namespace cuttle;
using json = nlohmann::json;

TEST_SUITE("models") {
  TEST_CASE("camoxpert config defaults") {
    models::CamoXpertConfig c = models::parse_camoxpert_config(json::object(), "empty.json");
    CHECK(c.backbone.type == "pvt_v2_b2");
    CHECK(c.moe.experts == models::default_cod_experts());
    CHECK(c.moe.experts.size() == 6);
    CHECK(c.moe.top_k == 2);
    CHECK(c.moe.sr_ratios == std::vector<int64_t>{8, 4, 2, 1});
    CHECK(c.head_width == 64);
    CHECK(c.image_size == 352);
    CHECK(c.loss.final_map == 1.0);
    CHECK(c.loss.refine == 0.5);
    CHECK(c.loss.deep == 0.4);
    CHECK(c.loss.uncertainty == 0.3);
    CHECK(c.train.lr == 1e-4);
    CHECK(c.train.router_lr_scale == 0.1);
    CHECK(c.train.clip == 1.0);
    CHECK(c.train.batch == 16);
  }

  TEST_CASE("camoxpert config unknown fields are errors naming the field and file") {
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"moe", {{"topk", 3}}}}, "my.json"),
                         doctest::Contains("unknown field 'moe.topk'"), cuttle::Error);
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"head_widht", 32}}, "my.json"),
                         doctest::Contains("my.json: unknown field 'head_widht'"), cuttle::Error);
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"head_width", "wide"}}, "my.json"),
                         doctest::Contains("head_width"), cuttle::Error);
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"head_width", 30}}, "my.json"),
                         doctest::Contains("multiple of 4"), cuttle::Error);
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"moe", {{"experts", {"CODTexture", "Nope"}}}}}, "my.json"),
                         doctest::Contains("Nope"), cuttle::Error);
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"backbone", {{"type", "resnet"}}}}, "my.json"),
                         doctest::Contains("resnet"), cuttle::Error);
    for (const json& cue : {json{0.5, 0.2}, json{0.1}, json{-0.1, 0.5}, json{0.2, 1.5}})
      CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"train", {{"synthetic_cue", cue}}}}, "my.json")
                               .validate_training("my.json"),
                           doctest::Contains("train.synthetic_cue"), cuttle::Error);
  }

  TEST_CASE("camoxpert config checks the progressive-resizing fields") {
    for (int64_t size : {-32, 100})
      CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"image_size", 352}, {"train", {{"low_res_size", size}}}}, "my.json")
                               .validate_training("my.json"),
                           doctest::Contains("my.json: train.low_res_size"), cuttle::Error);
    // A size not below image_size is accepted and leaves the phase off (an --image-size override).
    CHECK(models::parse_camoxpert_config(json{{"image_size", 64}, {"train", {{"low_res_size", 96}}}}).train.low_res_size == 96);
    CHECK_THROWS_WITH_AS(models::parse_camoxpert_config(json{{"train", {{"low_res_steps", -1}}}}, "my.json")
                             .validate_training("my.json"),
                         doctest::Contains("train.low_res_steps"), cuttle::Error);
    const models::CamoXpertConfig c =
        models::parse_camoxpert_config(json{{"image_size", 128}, {"train", {{"low_res_size", 96}, {"low_res_steps", 600}}}});
    CHECK(c.train.low_res_size == 96);
    CHECK(c.train.low_res_steps == 600);
    CHECK(models::CamoXpertConfig().train.low_res_size == 0);  // off unless a recipe asks
  }

  TEST_CASE("camoxpert config round trips through json") {
    models::CamoXpertConfig c;
    c.head_width = 32;
    c.moe.experts = {"Texture", "Texture", "CODEdge"};
    c.loss.deep = 0.7;
    c.train.steps = 123;
    c.train.synthetic_cue = {0.1, 0.6};
    c.train.tf32 = false;
    c.train.low_res_size = 64;
    c.train.low_res_steps = 7;
    models::CamoXpertConfig d = models::parse_camoxpert_config(models::to_json(c), "round trip");
    CHECK(models::to_json(d) == models::to_json(c));
    CHECK_FALSE(d.train.tf32);
    CHECK(models::CamoXpertConfig().train.tf32);  // the recipe's precision by default
  }

  TEST_CASE("camoxpert shipped configs parse") {
    const std::string dir = test::test_dir() + "/../models/configs/";
    models::CamoXpertConfig tiny = models::load_camoxpert_config(dir + "camoxpert-tiny.json");
    CHECK(tiny.backbone.type == "small_cnn");
    CHECK(tiny.backbone.dims == std::vector<int64_t>{16, 32, 64, 128});
    CHECK(tiny.head_width == 16);
    CHECK(tiny.image_size == 128);
    CHECK(tiny.train.lr == 1.5e-3);
    CHECK(tiny.train.steps == 900);
    CHECK(tiny.train.low_res_size == 96);
    CHECK(tiny.train.low_res_steps == 600);
    CHECK(tiny.train.batch == 16);
    CHECK(tiny.train.synthetic_cue == std::vector<double>{0.3, 1.0});
    models::CamoXpertConfig b2 = models::load_camoxpert_config(dir + "camoxpert-pvt-b2.json");
    CHECK(b2.backbone.type == "pvt_v2_b2");
    CHECK(b2.backbone.dims == std::vector<int64_t>{64, 128, 320, 512});
    CHECK(b2.head_width == 64);
    CHECK(b2.image_size == 352);
    CHECK_THROWS_WITH_AS(models::load_camoxpert_config(dir + "missing.json"), doctest::Contains("missing.json"),
                         cuttle::Error);
  }
}
