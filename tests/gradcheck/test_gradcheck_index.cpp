// Float64 gradient checks of topk, index_select, gather, scatter_add and index_add.
#include "autograd/functions/index.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
using V = std::vector<Var>;

namespace {
Tensor idx64(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }
}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck topk values") {
  // Distinct values spaced well beyond eps, so no perturbation reorders the selection.
  Tensor x = Tensor::from_vector<double>({0.3, -1.2, 2.5, 0.9, -0.4, 1.7, 0.1, -2.0, 1.1, 0.6, -0.8, 2.2}, {3, 4});
  check_gradcheck([](const V& v) { return topk(v[0], 2, 1).values; }, {x});
  check_gradcheck([](const V& v) { return topk(v[0], 2, 0, false).values; }, {x});
}

TEST_CASE("gradcheck index_select with repeated indices") {
  Tensor idx = idx64({2, 0, 2, 1, 2}, {5});
  check_gradcheck([idx](const V& v) { return index_select(v[0], 1, idx); }, {randn({2, 3, 2}, 1)});
}

TEST_CASE("gradcheck gather") {
  Tensor idx = idx64({3, 0, 3, 1, 1, 2, 0, 0}, {2, 4});
  check_gradcheck([idx](const V& v) { return gather(v[0], 1, idx); }, {randn({2, 4}, 2)});
}

TEST_CASE("gradcheck scatter_add") {
  Tensor idx = idx64({1, 0, 1, 2, 2, 2}, {2, 3});
  check_gradcheck([idx](const V& v) { return scatter_add(v[0], 1, idx, v[1]); }, {randn({2, 4}, 3), randn({2, 5}, 4)});
}

TEST_CASE("gradcheck index_add with repeated indices") {
  Tensor idx = idx64({1, 0, 1, 1}, {4});
  check_gradcheck([idx](const V& v) { return index_add(v[0], 0, idx, v[1]); }, {randn({3, 2, 2}, 5), randn({4, 2, 2}, 6)});
}

}  // TEST_SUITE
