// Golden tests against PyTorch (fixtures from tools/golden_layers.py): a PyTorch state_dict loads
// strictly by name into the cuttle twin, whose outputs, gradients and BN updates in float64 match
// PyTorch's; files written by PyTorch's safetensors read back exactly; cuttle's BF16/F16 rounding
// equals PyTorch's.
#include "engine/io/half.h"
#include "layers/layers.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;

namespace {

std::string fixture(const std::string& name) { return cuttle::test::test_dir() + "/fixtures/pytorch/" + name; }

// The twin of the PyTorch Sequential in tools/golden_layers.py.
std::shared_ptr<Sequential> make_twin() {
  eng::Generator g(0);
  auto m = std::make_shared<Sequential>();
  m->push_back(std::make_shared<Conv2d>(3, 4, 3, g, Conv2dOptions::same(3)));
  m->push_back(std::make_shared<BatchNorm2d>(4));
  m->push_back(std::make_shared<GELU>());
  m->push_back(std::make_shared<Conv2d>(4, 4, 3, g, Conv2dOptions::same(3, 2).with_groups(4)));
  m->push_back(std::make_shared<ReLU>());
  m->push_back(std::make_shared<AvgPool2d>(3, Pool2dOptions{{1, 1}, {1, 1}}));
  m->push_back(std::make_shared<Conv2d>(4, 2, 1, g, Conv2dOptions().with_bias(false)));
  m->push_back(Upsample::by_scale(2));
  return m;
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("PyTorch golden: state_dict loads by name and forward backward and BN updates match") {
  auto m = make_twin();
  LoadReport r = m->load_state(fixture("torch_seq_weights.safetensors"));  // strict
  CHECK(r.missing.empty());
  m->to(DType::f64);
  auto gold = eng::load_safetensors(fixture("torch_seq_golden.safetensors")).tensors;
  const Tensor& x = gold.at("x");

  m->eval();
  CHECK(max_rel_diff(m->forward(Var(x)).data(), gold.at("y_eval")) < 1e-12);

  m->train();
  Var xv(x.clone(), true);
  Var y = m->forward(xv);
  CHECK(max_rel_diff(y.data(), gold.at("y_train")) < 1e-12);
  y.backward(gold.at("r"));
  CHECK(max_rel_diff(xv.grad(), gold.at("grad.x")) < 1e-12);
  for (const auto& [name, p] : m->named_parameters()) {
    CAPTURE(name);
    CHECK(max_rel_diff(p.grad(), gold.at("grad." + name)) < 1e-12);
  }
  for (const auto& [name, b] : m->named_buffers()) {
    CAPTURE(name);
    const Tensor& want = gold.at("after." + name);
    CHECK(b.dtype() == want.dtype());
    CHECK(max_rel_diff(b.to(DType::f64), want.to(DType::f64)) < 1e-12);
  }
  CHECK(m->named_buffers().back().second.item<int64_t>() == 4);
}

TEST_CASE("PyTorch golden: safetensors written by PyTorch read back exactly") {
  eng::SafetensorsContents c = eng::load_safetensors(fixture("torch_dtypes.safetensors"));
  CHECK(c.metadata.at("source") == "torch");
  CHECK(c.tensors.at("bf16").to_vector<float>() == std::vector<float>{1.0f, -0.5f, 3.140625f, 0.00099945068359375f});
  CHECK(c.stored_dtypes.at("f16") == eng::StDType::F16);
  std::vector<float> f16 = c.tensors.at("f16").to_vector<float>();
  CHECK(f16[1] == -5.0f);
  CHECK(f16[2] == 65504.0f);
  CHECK(f16[3] == std::ldexp(1.0f, -24));  // 6e-8 is the smallest subnormal
  CHECK(c.tensors.at("f64").shape() == Shape{1, 2});
  CHECK(c.tensors.at("f64").to_vector<double>() == std::vector<double>{1.5, -2.25});
  CHECK(c.tensors.at("i64").to_vector<int64_t>() == std::vector<int64_t>{-(int64_t(1) << 40), 7});
  CHECK(c.tensors.at("i32").to_vector<int32_t>() == std::vector<int32_t>{-2, 3});
  CHECK(c.tensors.at("u8").to_vector<int>() == std::vector<int>{0, 255});
  CHECK(c.tensors.at("bool").dtype() == DType::boolean);
  CHECK(c.tensors.at("bool").to_vector<int>() == std::vector<int>{1, 0, 1});
  CHECK(c.tensors.at("scalar").dim() == 0);
  CHECK(c.tensors.at("scalar").item() == 2.5);
}

TEST_CASE("PyTorch golden: BF16 and F16 rounding equals PyTorch's on 2013 values") {
  eng::SafetensorsContents c = eng::load_safetensors(fixture("torch_dtypes.safetensors"));
  std::vector<float> src = c.tensors.at("f32_src").to_vector<float>();
  std::vector<float> bf = c.tensors.at("f32_as_bf16").to_vector<float>();
  std::vector<float> hf = c.tensors.at("f32_as_f16").to_vector<float>();
  REQUIRE(src.size() == 2013);
  int bad_bf = 0, bad_hf = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    bad_bf += eng::f32_bits(eng::bf16_to_f32(eng::f32_to_bf16(src[i]))) != eng::f32_bits(bf[i]);
    bad_hf += eng::f32_bits(eng::f16_to_f32(eng::f32_to_f16(src[i]))) != eng::f32_bits(hf[i]);
  }
  CHECK(bad_bf == 0);
  CHECK(bad_hf == 0);
}

}
