// Float64 gradient checks of the losses.
#include "autograd/functions/losses.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
using V = std::vector<Var>;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck binary_cross_entropy_with_logits mean") {
  check_gradcheck([](const V& v) { return binary_cross_entropy_with_logits(v[0], v[1]); },
                  {randn({3, 4}, 1), rand_uniform({3, 4}, 0, 1, 2)});
}

TEST_CASE("gradcheck binary_cross_entropy_with_logits sum and none") {
  Tensor x = randn({5}, 3), t = rand_uniform({5}, 0, 1, 4);
  check_gradcheck([](const V& v) { return binary_cross_entropy_with_logits(v[0], v[1], Reduction::sum); }, {x, t});
  check_gradcheck([](const V& v) { return binary_cross_entropy_with_logits(v[0], v[1], Reduction::none); }, {x, t});
}

TEST_CASE("gradcheck mse_loss") {
  Tensor x = randn({2, 3}, 5), t = randn({2, 3}, 6);
  check_gradcheck([](const V& v) { return mse_loss(v[0], v[1]); }, {x, t});
  check_gradcheck([](const V& v) { return mse_loss(v[0], v[1], Reduction::none); }, {x, t});
}

TEST_CASE("gradcheck cross_entropy") {
  Tensor target = Tensor::from_vector<int64_t>({2, 0, 3}, {3});
  check_gradcheck([target](const V& v) { return cross_entropy(v[0], target); }, {randn({3, 4}, 7)});
  check_gradcheck([target](const V& v) { return cross_entropy(v[0], target, Reduction::sum); }, {randn({3, 4}, 8)});
}

}  // TEST_SUITE
