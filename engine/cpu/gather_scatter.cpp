// CPU kernels of gather and scatter_add (engine/ops/index.h). Both walk the positions of idx with the
// indexed axis taken out of the iteration: each iteration step owns one line along the axis, so
// scatter_add's repeated targets are only ever hit by the thread that owns the line, in index order.
#include <algorithm>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/index_util.h"
#include "engine/cpu/strided_loop.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/index.h"
#endif
#include "engine/ops/index.h"

namespace cuttle::engine {

namespace {

Shape drop(const Shape& s, int axis) {
  Shape r = s;
  r.erase(r.begin() + axis);
  return r;
}

void check_same_rank(const char* op, const Tensor& a, const Tensor& idx) {
  CUTTLE_CHECK(a.dim() == idx.dim() && a.dim() >= 1, op, ": index ", idx.str(), " must have the rank of ", a.str());
}

}  // namespace

Tensor gather(const Tensor& x, int64_t axis, const Tensor& idx) {
  CUTTLE_CHECK(x.defined() && idx.defined(), "gather: an input tensor is undefined");
  check_same_rank("gather", x, idx);
  const int a = normalize_axis(axis, x.dim(), "gather");
  for (int d = 0; d < x.dim(); ++d)
    CUTTLE_CHECK(d == a || idx.size(d) <= x.size(d), "gather: index ", idx.str(), " is larger than input ", x.str(),
                 " on axis ", d);
  CUTTLE_ROUTE_CUDA("gather", cuda::gather(x, a, idx), x, idx);
  cpu::require_cpu("gather", x, idx);
  cpu::check_index_range("gather", idx, a, x.size(a));
  Tensor out = Tensor::empty(idx.shape(), x.dtype());
  const Shape iter = drop(idx.shape(), a);
  const std::array<Shape, 3> st{drop(out.strides(), a), drop(idx.strides(), a), drop(x.strides(), a)};
  const int64_t len = idx.size(a), os = out.strides()[a], is = idx.strides()[a], xs = x.strides()[a];
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::dispatch_index(idx.dtype(), "gather", [&](auto itag) {
      using I = typename decltype(itag)::type;
      T* po = out.data<T>();
      const I* pi = idx.data<I>();
      const T* px = x.data<T>();
      cpu::strided_loop<3>(iter, st, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& inc) {
        for (int64_t i = 0; i < n; ++i) {
          T* o = po + off[0] + i * inc[0];
          const I* ix = pi + off[1] + i * inc[1];
          const T* xl = px + off[2] + i * inc[2];
          for (int64_t j = 0; j < len; ++j) o[j * os] = xl[(int64_t)ix[j * is] * xs];
        }
      });
    });
  });
  return out;
}

Tensor scatter_add(const Tensor& base, int64_t axis, const Tensor& idx, const Tensor& src) {
  CUTTLE_CHECK(base.defined() && idx.defined() && src.defined(), "scatter_add: an input tensor is undefined");
  cpu::require_same_dtype("scatter_add", base, src);
  check_same_rank("scatter_add", base, idx);
  check_same_rank("scatter_add", src, idx);
  const int a = normalize_axis(axis, base.dim(), "scatter_add");
  for (int d = 0; d < base.dim(); ++d) {
    CUTTLE_CHECK(idx.size(d) <= src.size(d), "scatter_add: index ", idx.str(), " is larger than src ", src.str(),
                 " on axis ", d);
    CUTTLE_CHECK(d == a || idx.size(d) <= base.size(d), "scatter_add: index ", idx.str(), " is larger than base ",
                 base.str(), " on axis ", d);
  }
  CUTTLE_ROUTE_CUDA("scatter_add", cuda::scatter_add(base, a, idx, src), base, idx, src);
  cpu::require_cpu("scatter_add", base, idx, src);
  cpu::check_index_range("scatter_add", idx, a, base.size(a));
  Tensor out = base.clone();
  const Shape iter = drop(idx.shape(), a);
  const std::array<Shape, 3> st{drop(out.strides(), a), drop(idx.strides(), a), drop(src.strides(), a)};
  const int64_t len = idx.size(a), os = out.strides()[a], is = idx.strides()[a], ss = src.strides()[a];
  dispatch_numeric(base.dtype(), "scatter_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::dispatch_index(idx.dtype(), "scatter_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      T* po = out.data<T>();
      const I* pi = idx.data<I>();
      const T* ps = src.data<T>();
      cpu::strided_loop<3>(iter, st, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& inc) {
        for (int64_t i = 0; i < n; ++i) {
          T* o = po + off[0] + i * inc[0];
          const I* ix = pi + off[1] + i * inc[1];
          const T* sl = ps + off[2] + i * inc[2];
          for (int64_t j = 0; j < len; ++j) o[(int64_t)ix[j * is] * os] += sl[j * ss];
        }
      });
    });
  });
  return out;
}

Tensor scatter_add(const Shape& shape, int64_t axis, const Tensor& idx, const Tensor& src) {
  CUTTLE_CHECK(src.defined(), "scatter_add: src is undefined");
  return scatter_add(Tensor::zeros(shape, src.dtype(), src.device()), axis, idx, src);
}

}  // namespace cuttle::engine
