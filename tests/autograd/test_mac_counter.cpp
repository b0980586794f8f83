// Tests of MacCounter: the multiply-adds of conv2d (grouped, strided), linear, matmul (transposed) and
// attention forwards, counted per op; nesting; nothing counted without a live counter or in backward.
#include "autograd/functions/attention.h"
#include "autograd/functions/conv.h"
#include "autograd/functions/linalg.h"
#include "autograd/functions/reduce.h"
#include "autograd/mac_counter.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

TEST_SUITE("autograd") {

TEST_CASE("MacCounter counts the multiply-adds of conv2d linear matmul and attention") {
  autograd::MacCounter c;
  engine::Conv2dParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_h = p.pad_w = 1;
  p.groups = 2;
  // [2,4,8,8] * [6,2,3,3] stride 2 pad 1 groups 2 -> [2,6,4,4]: 192 outputs x 2*3*3.
  autograd::conv2d(Var(randn({2, 4, 8, 8}, 1)), Var(randn({6, 2, 3, 3}, 2)), Var(), p);
  CHECK(c.by_op().at("conv2d") == 192 * 18);
  autograd::linear(Var(randn({5, 3, 7}, 3)), Var(randn({4, 7}, 4)), Var());  // 15 rows x 7 x 4
  CHECK(c.by_op().at("linear") == 15 * 7 * 4);
  autograd::matmul(Var(randn({2, 6, 3}, 5)), Var(randn({2, 6, 5}, 6)), true, false);  // [2,3,6] x [2,6,5]
  CHECK(c.by_op().at("matmul") == 2 * 3 * 6 * 5);
  {
    autograd::MacCounter inner;  // the inner counter counts alone
    autograd::scaled_dot_product_attention(Var(randn({2, 4, 3}, 7)), Var(randn({2, 5, 3}, 8)), Var(randn({2, 5, 6}, 9)),
                                           0.5);
    CHECK(inner.total() == 2 * 4 * 5 * 3 + 2 * 4 * 5 * 6);  // q k^T, then P v
  }
  CHECK(c.by_op().count("attention") == 0);
  CHECK(c.total() == 192 * 18 + 15 * 7 * 4 + 2 * 3 * 6 * 5);
}

TEST_CASE("MacCounter ignores backward passes") {
  Var x(randn({3, 4}, 1), true), w(randn({5, 4}, 2), true);
  Var y = autograd::linear(x, w, Var());
  autograd::MacCounter c;
  autograd::sum(y).backward();
  CHECK(c.total() == 0);
}

}
