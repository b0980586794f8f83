// CPU kernels of the softmax op family (engine/ops/softmax.h). A tensor is seen as [outer, n, inner]
// with the softmax axis in the middle; work is cut into blocks of up to kLanes neighbouring inner
// positions, so an axis that is not the last is still read in contiguous runs. Each output element is
// produced by one thread in a fixed order (sums in double), whatever the thread count.
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/cpu/cpu_only.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/softmax.h"
#endif
#include "engine/ops/softmax.h"
#include "engine/parallel.h"

namespace cuttle::engine {

namespace {

constexpr int64_t kLanes = 64;

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisSplit split_at(const Shape& s, int64_t axis, const char* op) {
  const int a = normalize_axis(axis, (int64_t)s.size(), op);
  AxisSplit r;
  for (int i = 0; i < (int)s.size(); ++i) (i < a ? r.outer : i == a ? r.n : r.inner) *= s[i];
  return r;
}

// Calls fn(offset, width) for each block of lanes (offset of the block's first element at k = 0),
// in parallel; lanes of a block are contiguous, consecutive k are `inner` apart.
template <typename Fn>
void for_lane_blocks(const AxisSplit& sp, const Fn& fn) {
  const int64_t blocks = (sp.inner + kLanes - 1) / kLanes;
  const int64_t work = sp.n * std::min(sp.inner, kLanes);
  parallel_for(0, sp.outer * blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t t = b; t < e; ++t) {
                   const int64_t o = t / blocks, j0 = (t % blocks) * kLanes;
                   fn(o * sp.n * sp.inner + j0, std::min(kLanes, sp.inner - j0));
                 }
               });
}

template <typename T> using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <typename T, bool kLog>
void softmax_forward(const Tensor& x, Tensor& y, const AxisSplit& sp) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t n = sp.n, inner = sp.inner;
  for_lane_blocks(sp, [&](int64_t off, int64_t w) {
    T mx[kLanes];
    Acc<T> sum[kLanes];
    const T* xs = px + off;
    T* ys = py + off;
    for (int64_t j = 0; j < w; ++j) {
      mx[j] = -std::numeric_limits<T>::infinity();
      sum[j] = 0;
    }
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) mx[j] = std::max(mx[j], xs[k * inner + j]);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) {
        const T e = std::exp(xs[k * inner + j] - mx[j]);
        if constexpr (!kLog) ys[k * inner + j] = e;
        sum[j] += e;
      }
    if constexpr (kLog) {
      T shift[kLanes];
      for (int64_t j = 0; j < w; ++j) shift[j] = mx[j] + static_cast<T>(std::log(sum[j]));
      for (int64_t k = 0; k < n; ++k)
        for (int64_t j = 0; j < w; ++j) ys[k * inner + j] = xs[k * inner + j] - shift[j];
    } else {
      T inv[kLanes];
      for (int64_t j = 0; j < w; ++j) inv[j] = static_cast<T>(Acc<T>(1) / sum[j]);
      for (int64_t k = 0; k < n; ++k)
        for (int64_t j = 0; j < w; ++j) ys[k * inner + j] *= inv[j];
    }
  });
}

template <typename T, bool kLog>
void softmax_backward_kernel(const Tensor& g, const Tensor& y, Tensor& dx, const AxisSplit& sp) {
  const T* pg = g.data<T>();
  const T* py = y.data<T>();
  T* pd = dx.data<T>();
  const int64_t n = sp.n, inner = sp.inner;
  for_lane_blocks(sp, [&](int64_t off, int64_t w) {
    Acc<T> dot[kLanes];
    const T *gs = pg + off, *ys = py + off;
    T* ds = pd + off;
    for (int64_t j = 0; j < w; ++j) dot[j] = 0;
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) {
        if constexpr (kLog) dot[j] += gs[k * inner + j];
        else dot[j] += Acc<T>(gs[k * inner + j]) * ys[k * inner + j];
      }
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < w; ++j) {
        const int64_t i = k * inner + j;
        if constexpr (kLog) ds[i] = gs[i] - std::exp(ys[i]) * static_cast<T>(dot[j]);
        else ds[i] = ys[i] * (gs[i] - static_cast<T>(dot[j]));
      }
  });
}

template <bool kLog>
Tensor forward(const Tensor& x, int64_t axis, const char* op) {
  CUTTLE_CHECK(x.dim() >= 1, op, ": expected at least a 1-D tensor, got ", x.str());
  CUTTLE_ROUTE_CUDA(op, cuda::softmax(x, normalize_axis(axis, x.dim(), op), kLog), x);
  cpu::require_cpu(op, x);
  const AxisSplit sp = split_at(x.shape(), axis, op);
  const Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_forward<T, kLog>(xc, y, sp);
  });
  return y;
}

template <bool kLog>
Tensor backward(const Tensor& grad, const Tensor& y, int64_t axis, const char* op) {
  CUTTLE_CHECK(grad.defined() && y.defined(), op, ": an input tensor is undefined");
  cpu::require_same_dtype(op, grad, y);
  CUTTLE_CHECK(grad.shape() == y.shape(), op, ": grad ", grad.str(), " does not match output ", y.str());
  CUTTLE_CHECK(y.dim() >= 1, op, ": expected at least a 1-D tensor, got ", y.str());
  CUTTLE_ROUTE_CUDA(op, cuda::softmax_backward(grad, y, normalize_axis(axis, y.dim(), op), kLog), grad, y);
  cpu::require_cpu(op, grad, y);
  const AxisSplit sp = split_at(y.shape(), axis, op);
  const Tensor gc = grad.contiguous(), yc = y.contiguous();
  Tensor dx = Tensor::empty(y.shape(), y.dtype());
  dispatch_float(y.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_backward_kernel<T, kLog>(gc, yc, dx, sp);
  });
  return dx;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return forward<false>(x, axis, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return forward<true>(x, axis, "log_softmax"); }
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t axis) {
  return backward<false>(grad, y, axis, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t axis) {
  return backward<true>(grad, y, axis, "log_softmax_backward");
}

}  // namespace cuttle::engine
