// Tests of the one-op loss-free balancing step (engine/ops/moe_balance.h, used by
// layers::moe::update_balance): thirty steps against the formula written out in doubles, with a
// bias pinned at the clamp and an expert nobody chose, for f32 and f64 buffers; and its checks.
#include <algorithm>
#include <vector>

#include "engine/ops/moe_balance.h"
#include "layers/moe/routing.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

TEST_SUITE("layers") {

TEST_CASE("the loss-free balancing step in one op follows its formula") {
  const std::vector<double> usage = {0.5, 0.1, 0.1, 0.1, 0.2, 0.0};
  const double momentum = 0.9, rate = 0.05, limit = 5.0;
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(engine::dtype_name(dt));
    std::vector<double> bias = {0.1, -0.2, 0.3, 0.0, 4.999, -4.999}, ema(6, 1.0 / 6);
    layers::moe::BalanceState st{Tensor::from_vector<double>(bias, {6}).to(dt), Tensor::full({6}, 1.0 / 6, dt)};
    layers::moe::BalanceOptions o;
    o.ema = momentum;
    o.rate = rate;
    o.clamp = limit;
    auto stored = [](double v) { return (double)(float)v; };  // rounded to f32 for either buffer dtype
    if (dt == DType::f32) {
      for (double& b : bias) b = stored(b);
      for (double& m : ema) m = stored(m);
    }
    for (int step = 0; step < 30; ++step) {
      layers::moe::update_balance(st, Tensor::from_vector<double>(usage, {6}).to(DType::f32), o);
      for (size_t e = 0; e < 6; ++e) {
        ema[e] = stored(ema[e] * momentum + (double)(float)usage[e] * (1 - momentum));
        bias[e] = stored(std::clamp(bias[e] - (ema[e] - 1.0 / 6) * rate, -limit, limit));
      }
    }
    const double tol = 1e-6;  // f32 results; contraction into FMA may move the last bit
    CHECK(max_rel_diff(st.usage_ema, Tensor::from_vector<double>(ema, {6}).to(dt)) <= tol);
    CHECK(max_rel_diff(st.bias, Tensor::from_vector<double>(bias, {6}).to(dt)) <= tol);
    CHECK(st.bias.to_vector<double>()[0] < 0.1);   // the favoured expert is pushed down
    CHECK(st.bias.to_vector<double>()[5] > -5.0);  // the unused one up, off the clamp
  }
}

TEST_CASE("the balancing op names mismatched buffers") {
  Tensor bias = Tensor::zeros({6}), ema = Tensor::zeros({5});
  CHECK_THROWS_WITH_AS(engine::moe_balance_update_(bias, ema, Tensor::zeros({6}), 0.9, 0.01, 5),
                       doctest::Contains("must be contiguous [E] floats"), cuttle::Error);
  Tensor ema6 = Tensor::zeros({6});
  CHECK_THROWS_WITH_AS(engine::moe_balance_update_(bias, ema6, Tensor::zeros({4}), 0.9, 0.01, 5),
                       doctest::Contains("usage f32[4] cpu must be 6"), cuttle::Error);
}

}
