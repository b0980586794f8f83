// Float64 gradchecks of the attention layers with respect to the input and every trainable parameter:
// SpatialReductionAttention at sr 1, 2, 4; CODAttention in train and eval (its BN), and w.r.t. the
// input alone with several heads; the linear Attention expert in eval (dropout is random in training).
#include "tests/layers/attention/attention_test_util.h"
#include "tests/layers/module_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck attention SpatialReductionAttention sr 1 2 4") {
  for (int64_t s : {1, 2, 4}) {
    CAPTURE(s);
    eng::Generator g(10 + s);
    auto a = std::make_shared<SpatialReductionAttention>(8, 2, s, g);
    a->to(DType::f64);
    randomize(*a, 20 + s);
    SraAtSize m(a, 4, 8);
    check_module_gradcheck(m, randn({1, 32, 8}, 30 + s));
  }
}

TEST_CASE("gradcheck attention CODAttention train") {
  eng::Generator g(40);
  CODAttentionExpert e(8, 2, g);
  e.to(DType::f64);
  randomize(e, 41);
  check_module_gradcheck(e, randn({2, 8, 4, 4}, 42));
}

TEST_CASE("gradcheck attention CODAttention eval") {
  eng::Generator g(43);
  CODAttentionExpert e(8, 1, g);
  e.to(DType::f64);
  randomize(e, 44);
  e.eval();
  check_module_gradcheck(e, randn({1, 8, 4, 2}, 45));
}

TEST_CASE("gradcheck attention CODAttention with 2 heads w.r.t. the input") {
  eng::Generator g(46);
  CODAttentionExpert e(64, 2, g);
  REQUIRE(e.heads() == 2);
  e.to(DType::f64);
  randomize(e, 47);
  check_gradcheck([&](const std::vector<Var>& v) { return e.forward(v[0]); }, {randn({1, 64, 4, 2}, 48)});
}

TEST_CASE("gradcheck attention linear Attention expert eval") {
  eng::Generator g(50);
  LinearAttentionExpert e(16, g);
  e.to(DType::f64);
  randomize(e, 51);
  e.eval();
  check_module_gradcheck(e, randn({1, 16, 3, 2}, 52));
}

}  // TEST_SUITE gradcheck
