// Golden test of SparseMoE against its PyTorch twin (tools/golden_moe.py): five COD experts, top-2,
// a non-zero balancing bias. In float64 the routing, the eval and train outputs, the gradients of
// sum(y * r) for the input and every parameter (absent for the expert nobody chose), and the buffers
// after the train step (BN statistics, usage EMA and balancing bias) match.
#include <filesystem>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "engine/io/safetensors.h"
#include "layers/experts/registry.h"
#include "layers/moe/sparse_moe.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

TEST_SUITE("layers") {

TEST_CASE("SparseMoE matches its PyTorch twin") {
  const std::string dir = test_dir() + "/fixtures/moe/";
  if (!std::filesystem::exists(dir + "moe_golden.safetensors")) {
    MESSAGE("skipped: no fixture (run tools/golden_moe.py tests/fixtures/moe)");
    return;
  }
  engine::Generator gen(0);
  std::vector<std::shared_ptr<layers::UnaryModule>> experts;
  for (const char* t : {"CODTexture", "CODFrequency", "CODEdge", "ContrastEnhancement", "CODHybrid"})
    experts.push_back(layers::make_expert(t, 10, gen));
  layers::SparseMoE moe(10, experts, layers::SparseMoEOptions{}, gen);
  moe.load_state(dir + "moe_weights.safetensors");  // strict: names must match PyTorch's
  moe.to(DType::f64);
  auto gold = engine::load_safetensors(dir + "moe_golden.safetensors").tensors;
  const Tensor& x = gold.at("x");

  moe.eval();
  CHECK(max_rel_diff(moe(Var(x)).data(), gold.at("y_eval")) < 1e-10);
  CHECK(moe.last_indices().to_vector<int64_t>() == gold.at("idx_eval").to_vector<int64_t>());

  moe.train();
  Var xv(x.clone(), true);
  Var y = moe(xv);
  CHECK(moe.last_indices().to_vector<int64_t>() == gold.at("idx_train").to_vector<int64_t>());
  CHECK(max_rel_diff(y.data(), gold.at("y_train")) < 1e-10);
  autograd::sum(autograd::mul(y, Var(gold.at("r")))).backward();
  CHECK(max_rel_diff(xv.grad(), gold.at("grad.x")) < 1e-9);
  int absent = 0;
  for (const auto& [name, p] : moe.named_parameters()) {
    CAPTURE(name);
    if (!gold.count("grad." + name)) {  // an expert nobody chose: no gradient at all, as in PyTorch
      CHECK(!p.grad().defined());
      ++absent;
      continue;
    }
    REQUIRE(p.grad().defined());
    CHECK(max_rel_diff(p.grad(), gold.at("grad." + name)) < 1e-9);
  }
  CHECK(absent > 0);
  for (const auto& [name, b] : moe.named_buffers()) {
    CAPTURE(name);
    REQUIRE(gold.count("after." + name) == 1);
    CHECK(max_rel_diff(b.to(DType::f64), gold.at("after." + name).to(DType::f64)) < 1e-6);
  }
}

}
