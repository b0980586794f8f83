// Golden tests against PyTorch twins (fixtures from tools/golden_attention.py): each twin's f32
// state_dict loads strictly by name into the cuttle layer, whose float64 outputs, gradients and BN
// updates match PyTorch's. Skipped, with a message, when the fixtures are absent.
#include <filesystem>
#include <functional>

#include "autograd/functions/attention.h"
#include "tests/layers/attention/attention_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;

namespace {

std::string fixture(const std::string& name) { return cuttle::test::test_dir() + "/fixtures/attention/" + name; }

bool have(const std::vector<std::string>& files) {
  for (const std::string& f : files)
    if (!std::filesystem::exists(fixture(f))) {
      MESSAGE("skipped: fixture " << fixture(f) << " is absent (make it with tools/golden_attention.py)");
      return false;
    }
  return true;
}

// Loads T_weights into `m`, then compares eval and train (or eval-only) runs with T_golden.
void check_twin(const std::string& twin, Module& m, const std::function<Var(const Var&)>& fwd, bool grads_in_train) {
  if (!have({twin + "_weights.safetensors", twin + "_golden.safetensors"})) return;
  m.load_state(fixture(twin + "_weights.safetensors"));  // strict: every name must match
  m.to(DType::f64);
  auto gold = eng::load_safetensors(fixture(twin + "_golden.safetensors")).tensors;
  const Tensor& x = gold.at("x");
  m.eval();
  CHECK(max_rel_diff(fwd(Var(x)).data(), gold.at("y_eval")) < 1e-12);

  m.train(grads_in_train);
  Var xv(x.clone(), true);
  Var y = fwd(xv);
  if (grads_in_train) CHECK(max_rel_diff(y.data(), gold.at("y_train")) < 1e-12);
  y.backward(gold.at("r"));
  CHECK(max_rel_diff(xv.grad(), gold.at("grad.x")) < 1e-11);
  for (const auto& [name, p] : m.named_parameters()) {
    CAPTURE(name);
    CHECK(max_rel_diff(p.grad(), gold.at("grad." + name)) < 1e-11);
  }
  for (const auto& [name, b] : m.named_buffers()) {
    CAPTURE(name);
    CHECK(max_rel_diff(b.to(DType::f64), gold.at("after." + name).to(DType::f64)) < 1e-12);
  }
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("attention PyTorch golden SpatialReductionAttention sr 2") {
  eng::Generator g(0);
  SpatialReductionAttention a(16, 2, 2, g);
  check_twin("sra_sr2", a, [&](const Var& x) { return a.forward(x, 4, 6); }, true);
}

TEST_CASE("attention PyTorch golden SpatialReductionAttention sr 1") {
  eng::Generator g(0);
  SpatialReductionAttention a(16, 4, 1, g);
  check_twin("sra_sr1", a, [&](const Var& x) { return a.forward(x, 3, 5); }, true);
}

TEST_CASE("attention PyTorch golden CODAttention") {
  eng::Generator g(0);
  CODAttentionExpert e(64, 2, g);
  check_twin("cod_attention", e, [&](const Var& x) { return e.forward(x); }, true);
}

TEST_CASE("attention PyTorch golden linear Attention expert") {
  eng::Generator g(0);
  LinearAttentionExpert e(16, g);
  check_twin("linear_attention", e, [&](const Var& x) { return e.forward(x); }, false);
}

TEST_CASE("attention PyTorch golden functions") {
  if (!have({"functions_golden.safetensors"})) return;
  auto f = eng::load_safetensors(fixture("functions_golden.safetensors")).tensors;
  std::map<std::string, Var> v;
  for (const char* k : {"q", "k", "v", "lq"}) v[k] = Var(f.at(k).clone(), true);
  Var y = autograd::scaled_dot_product_attention(v["q"], v["k"], v["v"], 0.3);
  Var ly = autograd::linear_attention(v["lq"], v["k"], v["v"]);
  CHECK(max_rel_diff(y.data(), f.at("sdpa")) < 1e-13);
  CHECK(max_rel_diff(ly.data(), f.at("linear")) < 1e-13);
  y.backward(f.at("r"));
  ly.backward(f.at("lr"));
  for (const auto& [k, var] : v) {
    CAPTURE(k);
    CHECK(max_rel_diff(var.grad(), f.at("grad." + k)) < 1e-12);
  }
}

}  // TEST_SUITE layers
