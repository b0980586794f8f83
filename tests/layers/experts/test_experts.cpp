// Behaviour tests of the expert layers: shapes on odd sizes, the residual identity, CODEdge's
// Sobel/Laplacian init, the Edge expert's fixed buffers, parameter counts at C=64, state names,
// the registry and its errors.
#include <cmath>
#include <set>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "layers/experts/common.h"
#include "tests/layers/experts/expert_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;

namespace {

const std::vector<std::string>& built_types() {  // every type except the two attention experts
  static const std::vector<std::string> t{"CODTexture", "CODFrequency", "CODEdge",   "ContrastEnhancement",
                                          "CODHybrid",  "Texture",      "Hybrid",    "Frequency",
                                          "Edge",       "SemanticContext", "Contrast", "ContrastBN"};
  return t;
}

Tensor state_entry(const Module& m, const std::string& name) {
  for (auto& [n, t] : m.state_dict())
    if (n == name) return t;
  FAIL("no state entry ", name);
  return Tensor();
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("experts preserve odd shapes and C outside the C/4 grid") {
  for (const std::string& type : built_types()) {
    CAPTURE(type);
    eng::Generator gen(5);
    auto m = make_expert(type, 10, gen);  // q = 2, c4 = 4; thirds 3, 3, 4
    CHECK(m->type_name() == type);
    for (Shape s : {Shape{2, 10, 7, 9}, Shape{1, 10, 5, 3}}) {
      m->train();
      CHECK(m->forward(Var(randn(s, 3, DType::f32))).shape() == s);
      m->eval();
      CHECK(m->forward(Var(randn(s, 4, DType::f32))).shape() == s);
    }
  }
}

TEST_CASE("experts are the identity when the fusion conv is zero") {
  // Every table ends with fusion conv1x1 -> (norm -> act) -> + x (ContrastEnhancement: x + con * amp
  // with con = fusion(...)). With the conv's weight and bias zero, BN/LN of a constant map is their
  // bias (0 at init), ReLU(0) = GELU(0) = 0, so the output is exactly x, in train and eval mode.
  for (const std::string& type : built_types()) {
    CAPTURE(type);
    eng::Generator gen(6);
    auto m = make_expert(type, 8, gen);
    m->to(DType::f64);
    state_entry(*m, "fusion.0.weight").copy_(Tensor::zeros({8, 8, 1, 1}, DType::f64));
    state_entry(*m, "fusion.0.bias").copy_(Tensor::zeros({8}, DType::f64));
    Tensor x = randn({2, 8, 6, 5}, 9);
    for (bool train : {true, false}) {
      m->train(train);
      CHECK(max_rel_diff(m->forward(Var(x)).data(), x) == 0.0);
    }
  }
}

TEST_CASE("CODEdge starts from Sobel-x Sobel-y and Laplacian filters plus a small random part") {
  const int64_t C = 12, ci = 3;  // quarter split: 3, 3, 3, 3
  eng::Generator gen(7);
  CODEdge m(C, gen);
  const double* kernels[3] = {experts_detail::kSobelX, experts_detail::kSobelY, experts_detail::kLaplacian};
  const double rand_bound = 0.1 / std::sqrt(double(C * 9));  // 0.1 x the default bound 1/sqrt(fan_in)
  for (int j = 0; j < 3; ++j) {
    CAPTURE(j);
    Tensor w = state_entry(m, "branches." + std::to_string(j) + ".0.weight");
    REQUIRE(w.shape() == Shape{ci, C, 3, 3});
    std::vector<double> v = w.to_vector<double>();
    double max_rand = 0;
    std::set<double> residuals;
    for (int64_t o = 0; o < ci; ++o)
      for (int64_t i = 0; i < C; ++i)
        for (int t = 0; t < 9; ++t) {
          double pattern = (i % ci == o) ? kernels[j][t] / 8.0 : 0.0;  // sum |K| = 8 for all three
          double r = v[size_t((o * C + i) * 9 + t)] - pattern;
          CHECK(std::abs(r) <= rand_bound * (1 + 1e-6));
          max_rand = std::max(max_rand, std::abs(r));
          residuals.insert(r);
        }
    CHECK(max_rand > 0.5 * rand_bound);                // the random part is there ...
    CHECK(residuals.size() > size_t(ci * C * 9 / 2));  // ... and differs between the filters
    CHECK(state_entry(m, "branches." + std::to_string(j) + ".0.bias").to_vector<double>() ==
          std::vector<double>(ci, 0.0));
  }
  // The Sobel-x filter of output 0 sees input 0 (0 = 0 mod 3) but not input 1.
  Tensor w0 = state_entry(m, "branches.0.0.weight");
  CHECK(w0.to_vector<double>()[2] == doctest::Approx(1.0 / 8).epsilon(0.2));
  // The 1x1 branch keeps PyTorch's default init (bias included).
  std::vector<double> b3 = state_entry(m, "branches.3.0.bias").to_vector<double>();
  CHECK(std::any_of(b3.begin(), b3.end(), [](double b) { return b != 0.0; }));
}

TEST_CASE("Edge keeps its Sobel and Laplacian filters as untrained buffers in the state_dict") {
  eng::Generator gen(8);
  Edge m(8, gen);
  std::set<std::string> params;
  for (auto& [n, p] : m.named_parameters()) params.insert(n);
  for (const char* b : {"sobel_x", "sobel_y", "laplacian"}) {
    CAPTURE(b);
    CHECK(params.count(b) == 0);
    Tensor t = state_entry(m, b);
    CHECK(t.shape() == Shape{8, 1, 3, 3});
  }
  std::vector<double> lap = m.buffer("laplacian").to_vector<double>();
  CHECK(std::vector<double>(lap.begin() + 9, lap.begin() + 18) ==
        std::vector<double>{0, 1, 0, 1, -4, 1, 0, 1, 0});
  std::vector<double> sx = m.buffer("sobel_x").to_vector<double>();
  CHECK(std::vector<double>(sx.begin(), sx.begin() + 9) == std::vector<double>{-1, 0, 1, -2, 0, 2, -1, 0, 1});
  CHECK(m.named_buffers().size() == 3);
  // A training step leaves them alone: backward reaches the parameters only.
  Tensor before = m.buffer("sobel_y").clone();
  Var x(randn({1, 8, 5, 5}, 10, DType::f32), true);
  autograd::sum(m.forward(x)).backward();
  CHECK(x.grad().defined());
  CHECK(max_rel_diff(m.buffer("sobel_y").to(DType::f64), before.to(DType::f64)) == 0.0);
  m.unfreeze();
  CHECK(m.num_parameters(true) == m.num_parameters());
  CHECK(m.num_parameters() == 4 * (8 * 2 + 2 + 2 * 2) + (64 + 8 + 16));  // 4 x (conv 8->2, LN 2) + fusion
  // A state saved and loaded by name round-trips the buffers.
  auto state = m.state_dict();
  std::map<std::string, Tensor> sm(state.begin(), state.end());
  eng::Generator gen2(9);
  Edge m2(8, gen2);
  m2.load_state_dict(sm);
  CHECK(max_rel_diff(m2.buffer("laplacian").to(DType::f64), m.buffer("laplacian").to(DType::f64)) == 0.0);
}

TEST_CASE("expert parameter counts at C=64") {
  // conv k x k in->out (groups g): out * in/g * k * k + out; BN and LN2d: 2C.
  // C = 64: quarter split 16, 16, 16, 16; third split 21, 21, 22; C/4 = 16.
  //   conv1x1 64->16 = 1040, conv3x3 16->16 = 2320, conv3x3 64->16 = 9232, conv5x5 64->16 = 25616,
  //   conv7x7 64->16 = 50192, conv1x1 64->64 = 4160, dwconv5x5 = 1664, dwconv3x3 = 640,
  //   gate/amp = conv1x1 64->16 + conv1x1 16->64 = 1040 + 1088 = 2128,
  //   fusion = 4160 + norm 128 = 4288.
  const std::map<std::string, int64_t> expected{
      // 4 x (1040 + 2320 + BN 32) + 4288
      {"CODTexture", 4 * (1040 + 2320 + 32) + 4288},
      // 9232 + 25616 + 50192 + 1040 + 4 x BN 32 + 4288
      {"CODFrequency", 9232 + 25616 + 50192 + 1040 + 4 * 32 + 4288},
      // 3 x 9232 + 1040 + 4 x BN 32 + 4288
      {"CODEdge", 3 * 9232 + 1040 + 4 * 32 + 4288},
      // conv3x3 64->21 = 12117, conv5x5 64->21 = 33621, conv7x7 64->22 = 69014, BN 2 x 64, fusion, amp
      {"ContrastEnhancement", 12117 + 33621 + 69014 + 128 + 4288 + 2128},
      // dw 1664 + BN 128 + conv 4160 + gate 2128 + conv 4160 + BN 128
      {"CODHybrid", 1664 + 128 + 4160 + 2128 + 4160 + 128},
      // as CODTexture with LN2d
      {"Texture", 4 * (1040 + 2320 + 32) + 4288},
      // dw 1664 + LN 128 + conv 4160 + gate 2128 + conv 4160
      {"Hybrid", 1664 + 128 + 4160 + 2128 + 4160},
      // 4 x (1040 + LN 32) + 4288 (pools and filters have no parameters)
      {"Frequency", 4 * (1040 + 32) + 4288},
      {"Edge", 4 * (1040 + 32) + 4288},
      {"SemanticContext", 4 * (1040 + 32) + 4288},
      // dw 640 + LN 128 + conv 4160 + LN 128 + 4288
      {"Contrast", 640 + 128 + 4160 + 128 + 4288},
      // conv3x3 9232 + conv3x3 dil 2 9232 + conv5x5 25616 + conv1x1 1040 + 4 x BN 32 + 4288
      {"ContrastBN", 9232 + 9232 + 25616 + 1040 + 4 * 32 + 4288},
  };
  CHECK(expected.at("CODTexture") == 17856);
  CHECK(expected.at("CODFrequency") == 90496);
  CHECK(expected.at("CODEdge") == 33152);
  CHECK(expected.at("ContrastEnhancement") == 121296);
  CHECK(expected.at("CODHybrid") == 12368);
  CHECK(expected.at("Hybrid") == 12240);
  CHECK(expected.at("Frequency") == 8576);
  CHECK(expected.at("Contrast") == 9344);
  CHECK(expected.at("ContrastBN") == 49536);
  for (const std::string& type : built_types()) {
    CAPTURE(type);
    eng::Generator gen(1);
    CHECK(make_expert(type, 64, gen)->num_parameters() == expected.at(type));
  }
}

TEST_CASE("CODHybrid state_dict names follow the PyTorch naming scheme") {
  eng::Generator gen(2);
  CODHybrid m(8, gen);
  std::vector<std::string> names;
  for (auto& [n, t] : m.state_dict()) names.push_back(n);
  const std::vector<std::string> expected{
      "local.0.weight", "local.0.bias",  // dwconv5x5
      "local.1.weight", "local.1.bias", "local.1.running_mean", "local.1.running_var",
      "local.1.num_batches_tracked",     // BN
      "local.2.weight", "local.2.bias",  // conv1x1 (local.3 = ReLU)
      "gate.1.weight",  "gate.1.bias",   // conv1x1 C->C/4 (gate.0 = GAP, gate.2 = ReLU)
      "gate.3.weight",  "gate.3.bias",   // conv1x1 C/4->C (gate.4 = Sigmoid)
      "fusion.0.weight", "fusion.0.bias", "fusion.1.weight", "fusion.1.bias", "fusion.1.running_mean",
      "fusion.1.running_var", "fusion.1.num_batches_tracked"};
  CHECK(names == expected);
  // Branch experts: branches.{j}.{k} with every table layer counted, e.g. CODTexture's BN at k = 2.
  CODTexture t(8, gen);
  CHECK(state_entry(t, "branches.3.1.weight").shape() == Shape{2, 2, 3, 3});
  CHECK(state_entry(t, "branches.3.2.running_var").shape() == Shape{2});
  CHECK(state_entry(t, "fusion.1.weight").shape() == Shape{8});
}

TEST_CASE("experts built twice from one seed are identical") {
  for (const std::string& type : built_types()) {
    CAPTURE(type);
    eng::Generator g1(42), g2(42);
    auto a = make_expert(type, 8, g1), b = make_expert(type, 8, g2);
    auto sa = a->state_dict(), sb = b->state_dict();
    REQUIRE(sa.size() == sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
      CHECK(sa[i].first == sb[i].first);
      CHECK(max_rel_diff(sa[i].second.to(DType::f64), sb[i].second.to(DType::f64)) == 0.0);
    }
  }
}

TEST_CASE("expert registry lists every type and rejects bad types and channel counts") {
  const std::vector<std::string>& types = expert_types();
  CHECK(types.size() == 14);
  CHECK(std::set<std::string>(types.begin(), types.end()).size() == 14);
  for (const std::string& t : built_types()) CHECK(std::find(types.begin(), types.end(), t) != types.end());
  eng::Generator gen(3);
  for (const char* t : {"CODAttention", "Attention"}) {
    CAPTURE(t);
    CHECK(std::find(types.begin(), types.end(), t) != types.end());
    auto e = make_expert(t, 64, gen);
    Var y = e->forward(Var(randn({2, 64, 8, 8}, 4, DType::f32)));
    CHECK(y.shape() == Shape{2, 64, 8, 8});
  }
  CHECK_THROWS_WITH_AS(make_expert("Texturee", 64, gen), doctest::Contains("unknown expert type 'Texturee'"),
                       cuttle::Error);
  CHECK_THROWS_WITH_AS(make_expert("CODTexture", 3, gen), doctest::Contains("CODTexture: needs C >= 4 channels, got C = 3"),
                       cuttle::Error);
  CHECK_THROWS_WITH_AS(make_expert("ContrastEnhancement", 2, gen), doctest::Contains("ContrastEnhancement"),
                       cuttle::Error);
  CHECK_NOTHROW(make_expert("Contrast", 1, gen));
  auto m = make_expert("Hybrid", 8, gen);
  CHECK_THROWS_WITH_AS(m->forward(Var(randn({1, 4, 5, 5}, 1, DType::f32))), doctest::Contains("Hybrid(C=8)"),
                       cuttle::Error);
}

TEST_CASE("BN experts update running statistics in train mode only") {
  for (const char* type : {"CODTexture", "ContrastBN"}) {
    CAPTURE(type);
    eng::Generator gen(4);
    auto m = make_expert(type, 8, gen);
    Tensor x = randn({2, 8, 6, 6}, 5, DType::f32);
    m->eval();
    Tensor y_eval = m->forward(Var(x)).data();
    CHECK(state_entry(*m, "fusion.1.num_batches_tracked").item<int64_t>() == 0);
    m->train();
    Tensor y_train = m->forward(Var(x)).data();
    CHECK(state_entry(*m, "fusion.1.num_batches_tracked").item<int64_t>() == 1);
    CHECK(max_rel_diff(y_train.to(DType::f64), y_eval.to(DType::f64)) > 1e-3);
  }
}

}  // TEST_SUITE
