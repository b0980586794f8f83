// Tests that gradcheck itself works: deliberately wrong backward functions must fail it.
#include "autograd/functions/elementwise.h"
#include "engine/ops/elementwise.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using V = std::vector<Var>;

namespace {
// x * y whose backward forgets the product rule's second factor for the first input.
Var broken_mul(const Var& a, const Var& b) {
  Tensor x = a.data(), y = b.data();
  return record("broken_mul", eng::mul(x, y), {a, b}, [x](const auto& g, const auto&) {
    return std::vector<Tensor>{g[0], eng::mul(g[0], x)};
  });
}
// tanh with its derivative off by 1%: small enough to look plausible, large enough to catch.
Var slightly_wrong_tanh(const Var& a) {
  Tensor x = a.data();
  Tensor y = eng::unary(eng::UnaryOp::tanh, x);
  return record("slightly_wrong_tanh", y, {a}, [x, y](const auto& g, const auto&) {
    Tensor d = eng::unary_backward(eng::UnaryOp::tanh, g[0], x, y);
    return std::vector<Tensor>{eng::binary_scalar(eng::BinaryOp::mul, d, 1.01)};
  });
}
// A backward that drops the gradient of one element (a typical indexing bug).
Var drops_last_element(const Var& a) {
  Tensor x = a.data();
  return record("drops_last_element", eng::unary(eng::UnaryOp::square, x), {a}, [x](const auto& g, const auto&) {
    Tensor d = eng::mul(g[0], eng::binary_scalar(eng::BinaryOp::mul, x, 2.0));
    d.slice(0, -1, d.size(0)).fill_(0.0);
    return std::vector<Tensor>{d};
  });
}
}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck rejects a wrong product rule") {
  auto r = gradcheck([](const V& v) { return broken_mul(v[0], v[1]); }, {randn({4}, 1), randn({4}, 2)});
  CHECK(!r.ok);
}

TEST_CASE("gradcheck rejects a derivative off by one percent") {
  auto r = gradcheck([](const V& v) { return slightly_wrong_tanh(v[0]); }, {randn({5}, 3)});
  CHECK(!r.ok);
  CHECK(r.message.find("analytic") != std::string::npos);
}

TEST_CASE("gradcheck rejects a dropped gradient element") {
  auto r = gradcheck([](const V& v) { return drops_last_element(v[0]); }, {rand_uniform({5}, 0.5, 1.5, 4)});
  CHECK(!r.ok);
}

TEST_CASE("gradcheck accepts the correct versions of the same functions") {
  check_gradcheck([](const V& v) { return v[0] * v[1]; }, {randn({4}, 1), randn({4}, 2)});
  check_gradcheck([](const V& v) { return tanh(v[0]); }, {randn({5}, 3)});
  check_gradcheck([](const V& v) { return square(v[0]); }, {rand_uniform({5}, 0.5, 1.5, 4)});
}

TEST_CASE("gradcheck refuses f32 inputs") {
  CHECK_THROWS_AS(gradcheck([](const V& v) { return v[0]; }, {Tensor::ones({2}, DType::f32)}), cuttle::Error);
}

}
