// Tests of the CamoXpert model with a stand-in backbone: output shapes at 64x64 and 96x64, the
// multiple-of-32 error, the backbone-dims check, and the state-dict names of CAMOXPERT.md.
#include <map>
#include <set>
#include <string>

#include "autograd/functions/reduce.h"
#include "engine/error.h"
#include "models/camoxpert.h"
#include "tests/models/stand_in_backbone.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

namespace {

void check_shapes(int64_t H, int64_t W) {
  auto m = make_tiny_camoxpert();
  Var x(randn({2, 3, H, W}, 3, DType::f32));
  models::CamoXpertOutput o = m->forward(x);
  const Shape full{2, 1, H, W};
  CHECK(o.logits.shape() == full);
  CHECK(o.pred_1.shape() == full);
  CHECK(o.p0.shape() == full);
  CHECK(o.fg.shape() == full);
  CHECK(o.search.shape() == full);
  CHECK(o.u.shape() == full);
  REQUIRE(o.deep.size() == 3);
  CHECK(o.deep[0].shape() == Shape{2, 1, H / 16, W / 16});
  CHECK(o.deep[1].shape() == Shape{2, 1, H / 8, W / 8});
  CHECK(o.deep[2].shape() == Shape{2, 1, H / 4, W / 4});
  CHECK(o.moe_aux.empty());  // off by default
  for (double v : o.u.data().to_vector<double>()) CHECK((v >= 0.99e-8 && v <= 10.0));
  for (double v : o.logits.data().to_vector<double>()) CHECK(std::abs(v) <= 15.0);
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("camoxpert output shapes at 64x64") { check_shapes(64, 64); }
  TEST_CASE("camoxpert output shapes at 96x64") { check_shapes(96, 64); }

  TEST_CASE("camoxpert rejects sizes that are not multiples of 32") {
    auto m = make_tiny_camoxpert();
    Var x(randn({1, 3, 48, 64}, 3, DType::f32));
    CHECK_THROWS_WITH_AS(m->forward(x), doctest::Contains("multiples of 32"), cuttle::Error);
  }

  TEST_CASE("camoxpert checks the config dims against the backbone") {
    models::CamoXpertConfig c = tiny_test_config();
    c.backbone.dims = {8, 8, 8, 16};
    CHECK_THROWS_WITH_AS(make_tiny_camoxpert(1, c), doctest::Contains("differ from the backbone"), cuttle::Error);
    c.backbone.dims.clear();  // empty: take the backbone's
    CHECK_NOTHROW(make_tiny_camoxpert(1, c));
    c = tiny_test_config();
    c.head_width = 6;
    CHECK_THROWS_WITH_AS(make_tiny_camoxpert(1, c), doctest::Contains("head_width"), cuttle::Error);
  }

  TEST_CASE("camoxpert state dict names follow CAMOXPERT.md") {
    auto m = make_tiny_camoxpert();
    std::set<std::string> names;
    std::map<std::string, Shape> shapes;
    for (auto& [name, t] : m->state_dict()) {
      names.insert(name);
      shapes[name] = t.shape();
    }
    const std::vector<std::string> prefixes{"backbone.", "moe.0.", "moe.1.", "moe.2.", "moe.3.", "search.",
                                            "decoder.0.", "decoder.1.", "decoder.2.", "decoder.3.", "ra.",
                                            "unc.", "refine.blocks.0.", "refine.blocks.1.", "refine.heads.0.",
                                            "refine.heads.1.", "deep.0.", "deep.1.", "deep.2."};
    for (const auto& n : names) {
      bool ok = false;
      for (const auto& p : prefixes) ok = ok || n.rfind(p, 0) == 0;
      INFO(n);
      CHECK(ok);
    }
    for (const auto& p : prefixes) {
      bool found = false;
      for (const auto& n : names) found = found || n.rfind(p, 0) == 0;
      INFO(p);
      CHECK(found);
    }
    for (const char* n : {"moe.0.router.weight", "moe.0.router.bias", "moe.2.bias", "moe.2.usage_ema",
                          "search.branch.2.weight", "search.ident.0.conv.weight", "search.ident.1.bn.running_mean",
                          "decoder.3.1.conv.weight", "ra.bg.2.weight", "ra.fuse.0.conv.weight",
                          "unc.shared.conv.weight", "unc.mean.1.weight", "unc.scale.1.bias",
                          "refine.blocks.1.0.conv.weight", "refine.heads.1.weight", "deep.2.weight"}) {
      INFO(n);
      CHECK(names.count(n));
    }
    // 6 experts per scale.
    for (int e = 0; e < 6; ++e) {
      bool found = false;
      const std::string p = "moe.3.experts." + std::to_string(e) + ".";
      for (const auto& n : names) found = found || n.rfind(p, 0) == 0;
      CHECK(found);
    }
    // Widths follow h: the refinement block takes h + 2 channels.
    CHECK(shapes.at("refine.blocks.0.0.conv.weight") == Shape{8, 10, 3, 3});
    CHECK(shapes.at("ra.fuse.0.conv.weight") == Shape{8, 9, 3, 3});
  }
}
