// Float64 gradchecks of the backbones at tiny sizes, through FeaturesAsOne (all four maps at once):
// SmallCNN element by element w.r.t. its input and parameters (dims [2, 2, 4, 4]) and along random
// directions at dims [4, 4, 8, 8]; the tiny PVTv2 along random directions w.r.t. its input and
// parameters (element by element it takes minutes: ~18k elements at ~5 ms a forward).
// SmallCNN runs in eval mode: with a 32x32 input its stride-32 map is 1x1, so training-mode batch
// statistics would rest on two values per channel (BatchNorm2d has its own gradchecks in layers).
#include "models/backbones/small_cnn.h"
#include "tests/layers/module_test_util.h"
#include "tests/models/backbone_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::models;

TEST_SUITE("gradcheck") {

namespace {
void randomise_running_stats(layers::Module& m) {
  // Running statistics other than (0, 1), so eval BN is a real affine map.
  for (auto& [name, b] : m.named_buffers()) {
    if (name.find("running_mean") != std::string::npos) b.copy_(rand_uniform(b.shape(), -0.2, 0.2, 11));
    if (name.find("running_var") != std::string::npos) b.copy_(rand_uniform(b.shape(), 0.5, 1.5, 12));
  }
}
}  // namespace

TEST_CASE("models SmallCNN gradcheck input and parameters") {
  engine::Generator g(0);
  auto net = std::make_shared<SmallCNN>(std::array<int64_t, 4>{2, 2, 4, 4}, g);
  FeaturesAsOne m(net);
  m.to(DType::f64);
  m.eval();
  randomise_running_stats(m);
  check_module_gradcheck(m, randn({1, 3, 32, 32}, 3));
}

TEST_CASE("models SmallCNN directional gradcheck train mode") {
  engine::Generator g(0);
  auto net = std::make_shared<SmallCNN>(std::array<int64_t, 4>{4, 4, 8, 8}, g);
  FeaturesAsOne m(net);
  m.to(DType::f64);
  // Batch statistics: each shifted evaluation also updates the running ones, which training-mode
  // outputs do not read, so the check stays exact. 64x64 keeps 2x2x2 values per channel at stride 32.
  check_directional_gradcheck(m, randn({2, 3, 64, 64}, 3));
}

TEST_CASE("models PvtV2 tiny gradcheck input and parameters") {
  engine::Generator g(0);
  auto net = std::make_shared<PvtV2>(tiny_pvt_config(), g);
  FeaturesAsOne m(net);
  m.to(DType::f64);
  check_directional_gradcheck(m, randn({1, 3, 32, 32}, 4), 16);
}

}  // TEST_SUITE
