// CPU kernel of topk (engine/ops/index.h): a partial sort of each lane's positions under a strict
// order that breaks ties by index, so the selection is unique and thread-count independent.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/index_util.h"
#include "engine/device_route.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/topk.h"
#endif
#include "engine/ops/index.h"
#include "engine/parallel.h"
#include "engine/topk_order.h"

namespace cuttle::engine {

namespace {

// The order of engine/topk_order.h over one lane of a strided tensor.
template <typename T>
struct Before {
  const T* lane;
  int64_t stride;
  bool largest;
  bool operator()(int64_t i, int64_t j) const { return topk_before(lane[i * stride], i, lane[j * stride], j, largest); }
};

}  // namespace

TopK topk(const Tensor& x, int64_t k, int64_t axis, bool largest, bool sorted) {
  CUTTLE_CHECK(x.defined() && x.dim() >= 1, "topk: expected at least a 1-D tensor, got ", x.str());
  const int a = normalize_axis(axis, x.dim(), "topk");
  const int64_t n = x.size(a);
  CUTTLE_CHECK(k >= 0 && k <= n, "topk: k = ", k, " is out of range for axis ", a, " of size ", n, " in ", x.str());
  CUTTLE_ROUTE_CUDA("topk", cuda::topk(x, k, a, largest, sorted), x);
  cpu::require_cpu("topk", x);
  Shape out_shape = x.shape();
  out_shape[a] = k;
  TopK r{Tensor::empty(out_shape, x.dtype()), Tensor::empty(out_shape, DType::i64)};
  const cpu::AxisDims d = cpu::axis_dims(x.shape(), a);
  const Tensor xc = x.contiguous();
  dispatch_numeric(x.dtype(), "topk", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    T* pv = r.values.data<T>();
    int64_t* pi = r.indices.data<int64_t>();
    const int64_t lanes = d.outer * d.inner;
    parallel_for(0, lanes, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
      std::vector<int64_t> order(n);
      for (int64_t l = b; l < e; ++l) {
        const int64_t o = l / d.inner, j = l % d.inner;
        const T* lane = px + o * n * d.inner + j;
        std::iota(order.begin(), order.end(), 0);
        const Before<T> before{lane, d.inner, largest};
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        if (!sorted) std::sort(order.begin(), order.begin() + k);
        const int64_t out_base = o * k * d.inner + j;
        for (int64_t t = 0; t < k; ++t) {
          pv[out_base + t * d.inner] = lane[order[t] * d.inner];
          pi[out_base + t * d.inner] = order[t];
        }
      }
    });
  });
  return r;
}

}  // namespace cuttle::engine
