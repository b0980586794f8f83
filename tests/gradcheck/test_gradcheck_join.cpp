// Float64 gradient checks of concat, split, chunk, stack and pad.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/join.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
using engine::PadMode;
using V = std::vector<Var>;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck concat along 0") {
  check_gradcheck([](const V& v) { return concat({v[0], v[1], v[0]}, 0); }, {randn({2, 3}, 1), randn({1, 3}, 2)});
}

TEST_CASE("gradcheck concat along 1") {
  check_gradcheck([](const V& v) { return concat({v[0], v[1]}, 1); }, {randn({2, 3, 2}, 3), randn({2, 1, 2}, 4)});
}

TEST_CASE("gradcheck split") {
  // The middle piece is unused: its gradient arrives as zeros.
  check_gradcheck([](const V& v) {
    std::vector<Var> p = split(v[0], {1, 2, 2}, 1);
    return concat({p[2] * 2.0, p[0]}, 1);
  }, {randn({2, 5}, 5)});
}

TEST_CASE("gradcheck chunk") {
  check_gradcheck([](const V& v) {
    std::vector<Var> p = chunk(v[0], 3, 0);  // pieces of 3, 3, 1
    return p[0] * p[1] + p[2];
  }, {randn({7, 2}, 6)});
}

TEST_CASE("gradcheck stack") {
  check_gradcheck([](const V& v) { return stack({v[0], v[1], v[0]}, 1); }, {randn({2, 3}, 7), randn({2, 3}, 8)});
}

TEST_CASE("gradcheck pad constant") {
  check_gradcheck([](const V& v) { return pad(v[0], {1, 2, 0, 1, 1, 0}, PadMode::constant, 0.5); },
                  {randn({2, 2, 3}, 9)});
}

TEST_CASE("gradcheck pad reflect") {
  check_gradcheck([](const V& v) { return pad(v[0], {2, 1, 1, 2}, PadMode::reflect); }, {randn({2, 3, 4}, 10)});
}

TEST_CASE("gradcheck pad replicate") {
  check_gradcheck([](const V& v) { return pad(v[0], {2, 1, 0, 3}, PadMode::replicate); }, {randn({1, 2, 3, 2}, 11)});
  check_gradcheck([](const V& v) { return pad(v[0], {1, 2}, PadMode::replicate); }, {randn({2, 3}, 12)});
}

}  // TEST_SUITE
