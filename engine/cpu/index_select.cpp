// CPU kernels of index_select and index_add (engine/ops/index.h), on [outer, n, inner] views of
// contiguous tensors. index_add splits the work over (outer, inner) and walks the indices in order
// inside each piece, so repeated indices accumulate identically for any thread count.
#include <algorithm>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/index_util.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/index.h"
#endif
#include "engine/ops/index.h"
#include "engine/parallel.h"

namespace cuttle::engine {

namespace {
thread_local bool t_indices_vouched = false;
}  // namespace

IndicesVouched::IndicesVouched(bool on) : prev_(t_indices_vouched) { t_indices_vouched = prev_ || on; }
IndicesVouched::~IndicesVouched() { t_indices_vouched = prev_; }
bool IndicesVouched::active() { return t_indices_vouched; }

namespace {
constexpr int64_t kInnerBlock = 1024;

void check_index_vector(const char* op, const Tensor& idx) {
  CUTTLE_CHECK(idx.dim() == 1, op, ": indices must be 1-D, got ", idx.str());
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& idx) {
  CUTTLE_CHECK(x.defined() && idx.defined(), "index_select: an input tensor is undefined");
  check_index_vector("index_select", idx);
  CUTTLE_CHECK(x.dim() >= 1, "index_select: expected at least a 1-D tensor, got ", x.str());
  const int a = normalize_axis(axis, x.dim(), "index_select");
  CUTTLE_ROUTE_CUDA("index_select", cuda::index_select(x, a, idx), x, idx);
  cpu::require_cpu("index_select", x, idx);
  cpu::check_index_range("index_select", idx, a, x.size(a));
  const int64_t L = idx.numel();
  Shape out_shape = x.shape();
  out_shape[a] = L;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const cpu::AxisDims d = cpu::axis_dims(x.shape(), a);
  const Tensor xc = x.contiguous(), ic = idx.contiguous();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::dispatch_index(idx.dtype(), "index_select", [&](auto itag) {
      using I = typename decltype(itag)::type;
      const T* px = xc.data<T>();
      const I* pi = ic.data<I>();
      T* po = out.data<T>();
      const int64_t inner = d.inner, n = d.n;
      parallel_for(0, d.outer * L, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t r = b; r < e; ++r) {
                       const int64_t o = r / L, i = r % L;
                       const T* s = px + (o * n + (int64_t)pi[i]) * inner;
                       std::copy(s, s + inner, po + r * inner);
                     }
                   });
    });
  });
  return out;
}

Tensor index_add(const Tensor& base, int64_t axis, const Tensor& idx, const Tensor& src) {
  CUTTLE_CHECK(base.defined() && idx.defined() && src.defined(), "index_add: an input tensor is undefined");
  cpu::require_same_dtype("index_add", base, src);
  check_index_vector("index_add", idx);
  CUTTLE_CHECK(base.dim() >= 1, "index_add: expected at least a 1-D base, got ", base.str());
  const int a = normalize_axis(axis, base.dim(), "index_add");
  const int64_t L = idx.numel();
  Shape want = base.shape();
  want[a] = L;
  CUTTLE_CHECK(src.shape() == want, "index_add: src ", src.str(), " must be ", shape_str(want), " for base ",
               base.str(), " and ", L, " indices on axis ", a);
  CUTTLE_ROUTE_CUDA("index_add", cuda::index_add(base, a, idx, src), base, idx, src);
  cpu::require_cpu("index_add", base, idx, src);
  cpu::check_index_range("index_add", idx, a, base.size(a));
  Tensor out = base.clone();
  const cpu::AxisDims d = cpu::axis_dims(base.shape(), a);
  const Tensor sc = src.contiguous(), ic = idx.contiguous();
  dispatch_numeric(base.dtype(), "index_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::dispatch_index(idx.dtype(), "index_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      const T* ps = sc.data<T>();
      const I* pi = ic.data<I>();
      T* po = out.data<T>();
      const int64_t inner = d.inner, n = d.n;
      const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
      const int64_t work = L * std::min(inner, kInnerBlock);
      parallel_for(0, d.outer * blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t t = b; t < e; ++t) {
                       const int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock;
                       const int64_t w = std::min(kInnerBlock, inner - j0);
                       for (int64_t i = 0; i < L; ++i) {
                         T* dst = po + (o * n + (int64_t)pi[i]) * inner + j0;
                         const T* s = ps + (o * L + i) * inner + j0;
                         for (int64_t j = 0; j < w; ++j) dst[j] += s[j];
                       }
                     }
                   });
    });
  });
  return out;
}

}  // namespace cuttle::engine
