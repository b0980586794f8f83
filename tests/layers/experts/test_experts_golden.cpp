// Golden tests of the expert layers against their PyTorch twins (fixtures from
// tools/golden_experts.py): the PyTorch state_dict loads strictly by name, and in float64 the eval
// output, the train output, the gradients of sum(y * r) w.r.t. the input and every parameter, and
// the buffers after the train step match. Skipped with a message while the fixtures are absent.
#include <filesystem>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "tests/layers/experts/expert_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;

namespace {

std::string fixture(const std::string& name) { return cuttle::test::test_dir() + "/fixtures/experts/" + name; }

// Keep in step with EXPERTS, C and the shape of x in tools/golden_experts.py.
constexpr int64_t kGoldenC = 10;

void check_golden(const std::string& type) {
  const std::string weights = fixture(type + "_weights.safetensors"), golden = fixture(type + "_golden.safetensors");
  if (!std::filesystem::exists(weights) || !std::filesystem::exists(golden)) {
    MESSAGE("skipped: no fixture for ", type, " (run tools/golden_experts.py tests/fixtures/experts)");
    return;
  }
  eng::Generator gen(0);
  auto m = make_expert(type, kGoldenC, gen);
  LoadReport r = m->load_state(weights);  // strict: the names must match exactly
  CHECK(r.missing.empty());
  m->to(DType::f64);
  auto gold = eng::load_safetensors(golden).tensors;
  const Tensor& x = gold.at("x");

  m->eval();
  CHECK(max_rel_diff(m->forward(Var(x)).data(), gold.at("y_eval")) < 1e-10);

  m->train();
  Var xv(x.clone(), true);
  Var y = m->forward(xv);
  CHECK(max_rel_diff(y.data(), gold.at("y_train")) < 1e-10);
  autograd::sum(y * Var(gold.at("r"))).backward();
  CHECK(max_rel_diff(xv.grad(), gold.at("grad.x")) < 1e-9);
  for (const auto& [name, p] : m->named_parameters()) {
    CAPTURE(name);
    REQUIRE(gold.count("grad." + name) == 1);
    CHECK(max_rel_diff(p.grad(), gold.at("grad." + name)) < 1e-9);
  }
  for (const auto& [name, b] : m->named_buffers()) {
    CAPTURE(name);
    REQUIRE(gold.count("after." + name) == 1);
    const Tensor& want = gold.at("after." + name);
    CHECK(max_rel_diff(b.to(DType::f64), want.to(DType::f64)) < 1e-10);
  }
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("PyTorch golden experts: CODTexture") { check_golden("CODTexture"); }
TEST_CASE("PyTorch golden experts: CODFrequency") { check_golden("CODFrequency"); }
TEST_CASE("PyTorch golden experts: CODEdge") { check_golden("CODEdge"); }
TEST_CASE("PyTorch golden experts: ContrastEnhancement") { check_golden("ContrastEnhancement"); }
TEST_CASE("PyTorch golden experts: CODHybrid") { check_golden("CODHybrid"); }
TEST_CASE("PyTorch golden experts: Texture") { check_golden("Texture"); }
TEST_CASE("PyTorch golden experts: Hybrid") { check_golden("Hybrid"); }
TEST_CASE("PyTorch golden experts: Frequency") { check_golden("Frequency"); }
TEST_CASE("PyTorch golden experts: Edge") { check_golden("Edge"); }
TEST_CASE("PyTorch golden experts: SemanticContext") { check_golden("SemanticContext"); }
TEST_CASE("PyTorch golden experts: Contrast") { check_golden("Contrast"); }
TEST_CASE("PyTorch golden experts: ContrastBN") { check_golden("ContrastBN"); }

}  // TEST_SUITE
