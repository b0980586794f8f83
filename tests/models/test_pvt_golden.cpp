// Golden test of PvtV2 against timm (fixtures from tools/golden_pvt.py, f32, TF32 off): timm's
// state_dict (head included) loads strictly through load_timm_state, and the four stage maps agree
// to max|a - b| / max|b| < 1e-4 each. Skipped, with a message, while the fixtures are absent.
#include <algorithm>
#include <filesystem>

#include "tests/models/backbone_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::models;

namespace {

std::string fixture(const std::string& name) { return test_dir() + "/fixtures/pvt/" + name; }

void check_against_timm(const std::string& twin, const PvtV2Config& cfg) {
  for (const std::string f : {twin + "_weights.safetensors", twin + "_golden.safetensors"})
    if (!std::filesystem::exists(fixture(f))) {
      MESSAGE("skipped: fixture " << fixture(f) << " is absent (make it with tools/golden_pvt.py)");
      return;
    }
  engine::Generator g(0);
  PvtV2 net(cfg, g);
  layers::LoadReport r = net.load_timm_state(fixture(twin + "_weights.safetensors"));  // strict
  CHECK(r.missing.empty());
  net.eval();
  auto gold = engine::load_safetensors(fixture(twin + "_golden.safetensors")).tensors;
  std::vector<Var> f = net.features(Var(gold.at("x")));
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(rel_to_max(f[i].data(), gold.at("f" + std::to_string(i))) < 1e-4);
  }
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("PvtV2 timm golden pvt_v2_b0") { check_against_timm("b0", pvt_v2_b0()); }

// 25 M parameters (100 MB of fixture): generated and run on the GPU machine, not committed.
TEST_CASE("PvtV2 timm golden pvt_v2_b2") { check_against_timm("b2", pvt_v2_b2()); }

TEST_CASE("PvtV2 timm golden tiny") {
  PvtV2Config c;
  c.embed_dims = {16, 32, 64, 128};
  c.depths = {1, 1, 1, 1};
  c.num_heads = {1, 2, 4, 8};
  check_against_timm("tiny", c);
}

}  // TEST_SUITE
