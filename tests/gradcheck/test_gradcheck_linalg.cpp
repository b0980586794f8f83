// Float64 gradient checks of matmul, linear and softmax.
#include "autograd/functions/linalg.h"
#include "autograd/functions/softmax.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
using V = std::vector<Var>;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck matmul 2-D") {
  check_gradcheck([](const V& v) { return matmul(v[0], v[1]); }, {randn({3, 4}, 1), randn({4, 5}, 2)});
}

TEST_CASE("gradcheck matmul transposed") {
  check_gradcheck([](const V& v) { return matmul(v[0], v[1], true, false); }, {randn({4, 3}, 3), randn({4, 2}, 4)});
  check_gradcheck([](const V& v) { return matmul(v[0], v[1], false, true); }, {randn({3, 4}, 5), randn({2, 4}, 6)});
  check_gradcheck([](const V& v) { return matmul(v[0], v[1], true, true); }, {randn({4, 3}, 7), randn({2, 4}, 8)});
}

TEST_CASE("gradcheck batched matmul") {
  check_gradcheck([](const V& v) { return matmul(v[0], v[1]); }, {randn({2, 3, 4}, 9), randn({2, 4, 2}, 10)});
}

TEST_CASE("gradcheck batched matmul with broadcast batch axes") {
  check_gradcheck([](const V& v) { return matmul(v[0], v[1], false, true); },
                  {randn({2, 1, 3, 4}, 11), randn({3, 2, 4}, 12)});
  check_gradcheck([](const V& v) { return matmul(v[0], v[1], true, false); }, {randn({4, 3}, 13), randn({2, 4, 2}, 14)});
}

TEST_CASE("gradcheck linear with bias") {
  check_gradcheck([](const V& v) { return linear(v[0], v[1], v[2]); },
                  {randn({2, 3, 4}, 15), randn({5, 4}, 16), randn({5}, 17)});
}

TEST_CASE("gradcheck linear without bias") {
  check_gradcheck([](const V& v) { return linear(v[0], v[1]); }, {randn({3, 4}, 18), randn({2, 4}, 19)});
}

TEST_CASE("gradcheck softmax over the last axis") {
  check_gradcheck([](const V& v) { return softmax(v[0], -1); }, {randn({3, 5}, 20)});
}

TEST_CASE("gradcheck softmax over a middle axis") {
  check_gradcheck([](const V& v) { return softmax(v[0], 1); }, {randn({2, 4, 3}, 21)});
}

TEST_CASE("gradcheck log_softmax") {
  check_gradcheck([](const V& v) { return log_softmax(v[0], -1); }, {randn({3, 5}, 22)});
  check_gradcheck([](const V& v) { return log_softmax(v[0], 0); }, {randn({4, 3}, 23)});
}

}  // TEST_SUITE
