// CUDA clamp, clamp_backward, where, add_, mul_scalar_ and add_scalar_ (engine/cuda/elementwise_extra.h): one
// strided grid-stride kernel; each op is a small functor over the operands' element offsets.
#include "engine/cuda/elementwise_extra.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <int N, typename Fn>
__global__ void strided_apply(int64_t n, StridedIndex<N> idx, Fn fn) {
  CUTTLE_KERNEL_LOOP(i, n) {
    int64_t off[N];
    idx.offsets(i, off);
    fn(off);
  }
}

// Runs fn(offsets) for every element of `shape`, operand k having strides *strides[k].
template <int N, typename Fn>
void launch(const Shape& shape, const Shape* const* strides, const Device& dev, Fn fn, const char* name) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  DeviceGuard guard(dev.index);
  strided_apply<N><<<blocks_for(n), kThreads, 0, stream(dev.index)>>>(n, make_strided_index<N>(shape, strides), fn);
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

template <typename T>
struct ClampFn {
  T* out;
  const T* x;
  T lo, hi;
  __device__ void operator()(const int64_t* o) const {
    const T v = x[o[1]];
    out[o[0]] = v < lo ? lo : (v > hi ? hi : v);
  }
};
template <typename T>
struct ClampBackwardFn {
  T* out;
  const T* g;
  const T* x;
  T lo, hi;
  __device__ void operator()(const int64_t* o) const {
    const T v = x[o[2]];
    out[o[0]] = (v >= lo && v <= hi) ? g[o[1]] : T(0);
  }
};
template <typename T>
struct WhereFn {
  T* out;
  const bool* c;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t* o) const { out[o[0]] = c[o[1]] ? a[o[2]] : b[o[3]]; }
};
template <typename T>
struct AddFn {
  T* a;
  const T* b;
  T alpha;
  __device__ void operator()(const int64_t* o) const { a[o[0]] = static_cast<T>(a[o[0]] + alpha * b[o[1]]); }
};
template <typename T>
struct ScaleFn {
  T* a;
  T s;
  __device__ void operator()(const int64_t* o) const { a[o[0]] = static_cast<T>(a[o[0]] * s); }
};

template <typename T>
struct ShiftFn {
  T* a;
  T t;
  __device__ void operator()(const int64_t* o) const { a[o[0]] = static_cast<T>(a[o[0]] + t); }
};

}  // namespace

Tensor clamp(const Tensor& x, double lo, double hi) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const Shape so = out.strides(), sx = x.strides();
  const Shape* st[2] = {&so, &sx};
  dispatch_numeric(x.dtype(), "clamp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<2>(x.shape(), st, x.device(), ClampFn<T>{out.data<T>(), x.data<T>(), (T)lo, (T)hi}, "clamp");
  });
  return out;
}

Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const Shape so = out.strides(), sg = broadcast_strides_to(grad, x.shape()), sx = x.strides();
  const Shape* st[3] = {&so, &sg, &sx};
  dispatch_float(x.dtype(), "clamp_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<3>(x.shape(), st, x.device(), ClampBackwardFn<T>{out.data<T>(), grad.data<T>(), x.data<T>(), (T)lo, (T)hi},
              "clamp_backward");
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  const Tensor c = cond.to(DType::boolean);
  const Shape so = out.strides(), sc = broadcast_strides_to(c, out_shape), sa = broadcast_strides_to(a, out_shape),
              sb = broadcast_strides_to(b, out_shape);
  const Shape* st[4] = {&so, &sc, &sa, &sb};
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<4>(out_shape, st, a.device(), WhereFn<T>{out.data<T>(), c.data<bool>(), a.data<T>(), b.data<T>()}, "where");
  });
  return out;
}

void add_(Tensor& a, const Tensor& b, double alpha) {
  const Shape sa = a.strides(), sb = broadcast_strides_to(b, a.shape());
  const Shape* st[2] = {&sa, &sb};
  dispatch_numeric(a.dtype(), "add_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<2>(a.shape(), st, a.device(), AddFn<T>{a.data<T>(), b.data<T>(), (T)alpha}, "add_");
  });
}

void mul_scalar_(Tensor& a, double s) {
  const Shape sa = a.strides();
  const Shape* st[1] = {&sa};
  dispatch_numeric(a.dtype(), "mul_scalar_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<1>(a.shape(), st, a.device(), ScaleFn<T>{a.data<T>(), (T)s}, "mul_scalar_");
  });
}

void add_scalar_(Tensor& a, double t) {
  const Shape sa = a.strides();
  const Shape* st[1] = {&sa};
  dispatch_numeric(a.dtype(), "add_scalar_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<1>(a.shape(), st, a.device(), ShiftFn<T>{a.data<T>(), (T)t}, "add_scalar_");
  });
}

}  // namespace cuttle::engine::cuda
