// Tests of the backbones (models/backbones): feature shapes at strides 4/8/16/32, parameter counts,
// state names against timm's PVTv2 layout, and the loading of timm's other spellings.
#include <map>

#include "models/backbones/small_cnn.h"
#include "tests/models/backbone_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::models;

namespace {

void check_feature_shapes(Backbone& b, int64_t B, int64_t H, int64_t W) {
  std::vector<Var> f = b.features(Var(randn({B, 3, H, W}, 7, DType::f32)));
  REQUIRE(f.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    const int64_t s = Backbone::strides()[i];
    CHECK(f[i].shape() == Shape{B, b.dims()[i], H / s, W / s});
  }
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("SmallCNN feature shapes at strides 4 8 16 32") {
  engine::Generator g(0);
  SmallCNN net(g);
  CHECK(net.dims() == std::array<int64_t, 4>{16, 32, 64, 128});
  check_feature_shapes(net, 2, 64, 64);  // 16, 8, 4, 2
  check_feature_shapes(net, 1, 96, 64);  // non-square
  net.eval();
  check_feature_shapes(net, 1, 32, 32);
}

TEST_CASE("SmallCNN parameter count for dims 16 32 64 128") {
  engine::Generator g(0);
  SmallCNN net({16, 32, 64, 128}, g);
  // conv3x3 without bias: 9 * in * out; BN: 2 * c trainable (+ 3 buffers, not parameters).
  auto down = [](int64_t a, int64_t b) { return 9 * a * b + 2 * b; };
  auto res = [](int64_t c) { return 2 * (9 * c * c + 2 * c); };
  const int64_t s0 = down(3, 8) + down(8, 16) + res(16);  // 232 + 1184 + 4672 = 6088
  const int64_t s1 = down(16, 32) + res(32);              // 4672 + 18560 = 23232
  const int64_t s2 = down(32, 64) + res(64);              // 18560 + 73984 = 92544
  const int64_t s3 = down(64, 128) + res(128);            // 73984 + 295424 = 369408
  CHECK(s0 + s1 + s2 + s3 == 491272);
  CHECK(net.num_parameters() == 491272);
}

TEST_CASE("SmallCNN state names") {
  engine::Generator g(0);
  SmallCNN net({4, 4, 8, 8}, g);
  std::map<std::string, Tensor> sd;
  for (auto& [k, v] : net.state_dict()) sd.emplace(k, v);
  for (const char* k : {"stages.0.0.conv.weight", "stages.0.0.bn.running_var", "stages.0.1.conv.weight",
                        "stages.0.2.conv1.weight", "stages.0.2.bn2.num_batches_tracked", "stages.3.0.conv.weight",
                        "stages.3.1.conv2.weight", "stages.3.1.bn2.bias"}) {
    CAPTURE(k);
    CHECK(sd.count(k) == 1);
  }
  CHECK(sd.at("stages.0.0.conv.weight").shape() == Shape{2, 3, 3, 3});
  CHECK(sd.count("stages.0.0.conv.bias") == 0);
  // Per conv 1 entry (weight), per BN 5; stage 0 = 2 down + 1 res, stages 1-3 = 1 down + 1 res.
  CHECK(sd.size() == size_t(2 * 6 + 12 + 3 * (6 + 12)));
}

TEST_CASE("SmallCNN rejects bad dims and inputs") {
  engine::Generator g(0);
  CHECK_THROWS_AS(SmallCNN({15, 32, 64, 128}, g), Error);
  SmallCNN net({4, 4, 8, 8}, g);
  CHECK_THROWS_AS(net.features(Var(randn({1, 3, 48, 64}, 1, DType::f32))), Error);
  CHECK_THROWS_AS(net.features(Var(randn({1, 1, 64, 64}, 1, DType::f32))), Error);
}

TEST_CASE("PvtV2 b0 feature shapes at strides 4 8 16 32") {
  engine::Generator g(0);
  PvtV2 net(pvt_v2_b0(), g);
  CHECK(net.dims() == std::array<int64_t, 4>{32, 64, 160, 256});
  check_feature_shapes(net, 2, 64, 64);  // 16, 8, 4, 2
  check_feature_shapes(net, 1, 64, 96);
}

TEST_CASE("PvtV2 tiny feature shapes") {
  engine::Generator g(0);
  PvtV2 net(tiny_pvt_config(), g);
  check_feature_shapes(net, 2, 32, 32);
  check_feature_shapes(net, 1, 64, 64);
}

TEST_CASE("PvtV2 configs and parameter counts") {
  PvtV2Config b1 = pvt_v2_b1(), b2 = pvt_v2_b2();
  CHECK(b1.embed_dims == std::array<int64_t, 4>{64, 128, 320, 512});
  CHECK(b1.depths == std::array<int64_t, 4>{2, 2, 2, 2});
  CHECK(b2.depths == std::array<int64_t, 4>{3, 4, 6, 3});
  CHECK(pvt_v2_config("pvt_v2_b2").depths == b2.depths);
  CHECK_THROWS_AS(pvt_v2_config("b7"), Error);
  engine::Generator g(0);
  // timm's pvt_v2_b0 / b1 / b2 without their classifier head (head = 1000 * (D3 + 1)): 3,666,760 -
  // 257,000 = 3,409,760; 14,009,000 - 513,000 = 13,496,000; 25,362,856 - 513,000 = 24,849,856.
  CHECK(PvtV2(pvt_v2_b0(), g).num_parameters() == 3409760);
  CHECK(PvtV2(b1, g).num_parameters() == 13496000);
  CHECK(PvtV2(b2, g).num_parameters() == 24849856);
}

TEST_CASE("PvtV2 state names are timm's") {
  for (const PvtV2Config& c : {tiny_pvt_config(), pvt_v2_b2()}) {
    engine::Generator g(0);
    PvtV2 net(c, g);
    std::vector<std::string> names;
    for (auto& [k, v] : net.state_dict()) names.push_back(k);
    CHECK(names == timm_pvt_names(c));
  }
  engine::Generator g(0);
  PvtV2 net(tiny_pvt_config(), g);
  std::map<std::string, Tensor> sd;
  for (auto& [k, v] : net.state_dict()) sd.emplace(k, v);
  CHECK(sd.at("patch_embed.proj.weight").shape() == Shape{8, 3, 7, 7});
  CHECK(sd.at("stages.1.downsample.proj.weight").shape() == Shape{16, 8, 3, 3});
  CHECK(sd.at("stages.0.blocks.0.attn.sr.weight").shape() == Shape{8, 8, 8, 8});
  CHECK(sd.at("stages.0.blocks.0.attn.kv.weight").shape() == Shape{16, 8});
  CHECK(sd.at("stages.0.blocks.0.mlp.fc1.weight").shape() == Shape{64, 8});
  CHECK(sd.at("stages.0.blocks.0.mlp.dwconv.weight").shape() == Shape{64, 1, 3, 3});
  CHECK(sd.at("stages.3.blocks.0.mlp.fc1.weight").shape() == Shape{64, 16});
  CHECK(sd.count("stages.3.blocks.0.attn.sr.weight") == 0);
  CHECK(sd.count("stages.0.downsample.proj.weight") == 0);
}

TEST_CASE("PvtV2 timm init") {
  engine::Generator g(3);
  PvtV2 net(pvt_v2_b0(), g);
  std::map<std::string, Tensor> sd;
  for (auto& [k, v] : net.state_dict()) sd.emplace(k, v);
  auto stddev = [](const Tensor& t) {
    std::vector<double> v = t.to_vector<double>();
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s / double(v.size()));
  };
  CHECK(stddev(sd.at("stages.2.blocks.0.mlp.fc1.weight")) == doctest::Approx(0.02).epsilon(0.02));
  CHECK(stddev(sd.at("stages.2.blocks.0.mlp.fc1.bias")) == 0.0);
  // patch_embed conv: fan_out = 7 * 7 * 32.
  CHECK(stddev(sd.at("patch_embed.proj.weight")) == doctest::Approx(std::sqrt(2.0 / (49 * 32))).epsilon(0.05));
  CHECK(stddev(sd.at("stages.0.blocks.0.mlp.dwconv.weight")) == doctest::Approx(std::sqrt(2.0 / 9)).epsilon(0.05));
  CHECK(stddev(sd.at("stages.0.norm.bias")) == 0.0);
  // Seeded: the same seed gives the same model.
  engine::Generator g2(3);
  PvtV2 again(pvt_v2_b0(), g2);
  CHECK(max_rel_diff(again.state_dict()[5].second, net.state_dict()[5].second) == 0.0);
}

TEST_CASE("PvtV2 loads the stages_N and dwconv.dwconv spellings and ignores head") {
  engine::Generator ga(1), gb(2);
  PvtV2 a(tiny_pvt_config(), ga), b(tiny_pvt_config(), gb);
  std::map<std::string, Tensor> timm;
  for (auto& [k, v] : a.state_dict()) {
    std::string n = k;
    if (n.rfind("stages.", 0) == 0) n = "stages_" + n.substr(7, 1) + n.substr(8);  // stages.2.x -> stages_2.x
    if (size_t p = n.find(".mlp.dwconv."); p != std::string::npos) n.replace(p, 12, ".mlp.dwconv.dwconv.");
    timm.emplace(n, v.clone());
  }
  CHECK(timm.count("stages_1.downsample.proj.weight") == 1);
  CHECK(timm.count("stages_0.blocks.0.mlp.dwconv.dwconv.weight") == 1);
  timm.emplace("head.weight", Tensor::zeros({10, 16}));
  timm.emplace("head.bias", Tensor::zeros({10}));
  CHECK_THROWS_AS(b.load_state_dict(timm), Error);  // not cuttle's names as they stand
  layers::LoadReport r = b.load_timm_state_dict(timm);  // strict
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  Var x(randn({1, 3, 32, 32}, 5, DType::f32));
  std::vector<Var> fa = a.features(x), fb = b.features(x);
  for (int i = 0; i < 4; ++i) CHECK(max_rel_diff(fa[i].data(), fb[i].data()) == 0.0);
  // Two spellings of one entry collide.
  std::map<std::string, Tensor> dup{{"stages.0.norm.weight", Tensor::ones({8})}, {"stages_0.norm.weight", Tensor::ones({8})}};
  CHECK_THROWS_AS(normalize_pvt_state_dict(dup), Error);
}

}  // TEST_SUITE
