// CUDA kernels of the element-wise op family: one grid-stride kernel per (op family, dtype) with the
// op chosen inside by a uniform switch, a contiguous fast path and a strided/broadcast path.
#include "engine/cuda/elementwise.h"
#include "engine/cuda/kernel_util.cuh"
#include "engine/dispatch.h"
#include "engine/scalar_ops.h"

namespace cuttle::engine::cuda {

namespace {

#define CUTTLE_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

template <typename TO, typename T, typename Fn>
__global__ void binary_contiguous(TO* out, const T* a, const T* b, int64_t n, Fn fn) {
  CUTTLE_GRID_LOOP(i, n) out[i] = fn(a[i], b[i]);
}

template <typename TO, typename T, typename Fn>
__global__ void binary_strided(TO* out, const T* a, const T* b, int64_t n, StridedIndex<3> idx, Fn fn) {
  CUTTLE_GRID_LOOP(i, n) {
    int64_t off[3];
    idx.offsets(i, off);
    out[off[0]] = fn(a[off[1]], b[off[2]]);
  }
}

template <typename T, typename Fn>
__global__ void unary_strided(T* out, const T* x, int64_t n, StridedIndex<2> idx, Fn fn) {
  CUTTLE_GRID_LOOP(i, n) {
    int64_t off[2];
    idx.offsets(i, off);
    out[off[0]] = fn(x[off[1]]);
  }
}

template <typename T>
__global__ void unary_contiguous(T* out, const T* x, int64_t n, UnaryOp op, T p) {
  CUTTLE_GRID_LOOP(i, n) out[i] = scalar::unary<T>(op, x[i], p);
}

template <typename T>
__global__ void unary_backward_contiguous(T* out, const T* g, const T* x, const T* y, int64_t n, UnaryOp op, T p) {
  CUTTLE_GRID_LOOP(i, n) out[i] = g[i] * scalar::unary_derivative<T>(op, x[i], y[i], p);
}

// out[...] = fn(a, b) over broadcast operands; out is fresh and contiguous.
template <typename TO, typename T, typename Fn>
void launch_binary(Tensor& out, const Tensor& a, const Tensor& b, Fn fn, const char* name) {
  const int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  cudaStream_t s = stream_of(out);
  TO* po = out.data<TO>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == out.shape() && b.shape() == out.shape()) {
    binary_contiguous<TO, T><<<blocks_for(n), kThreads, 0, s>>>(po, pa, pb, n, fn);
  } else {
    const Shape so = out.strides(), sa = broadcast_strides_to(a, out.shape()), sb = broadcast_strides_to(b, out.shape());
    const Shape* st[3] = {&so, &sa, &sb};
    binary_strided<TO, T><<<blocks_for(n), kThreads, 0, s>>>(po, pa, pb, n, make_strided_index<3>(out.shape(), st), fn);
  }
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

template <typename T>
struct BinaryFn {
  BinaryOp op;
  __device__ T operator()(T a, T b) const { return scalar::binary<T>(op, a, b); }
};
template <typename T>
struct CompareFn {
  CompareOp op;
  __device__ bool operator()(T a, T b) const { return scalar::compare<T>(op, a, b); }
};
template <typename T>
struct UnaryFn {
  UnaryOp op;
  T p;
  __device__ T operator()(T x) const { return scalar::unary<T>(op, x, p); }
};

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  dispatch_numeric(a.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_binary<T, T>(out, a, b, BinaryFn<T>{op}, "binary");
  });
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::boolean, a.device());
  dispatch_numeric(a.dtype(), "compare", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_binary<bool, T>(out, a, b, CompareFn<T>{op}, "compare");
  });
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x, double param) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return out;
  DeviceGuard guard(x.device().index);
  cudaStream_t s = stream_of(x);
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (x.is_contiguous()) {
      unary_contiguous<T><<<blocks_for(n), kThreads, 0, s>>>(out.data<T>(), x.data<T>(), n, op, (T)param);
    } else {
      const Shape so = out.strides(), sx = x.strides();
      const Shape* st[2] = {&so, &sx};
      unary_strided<T><<<blocks_for(n), kThreads, 0, s>>>(out.data<T>(), x.data<T>(), n,
                                                           make_strided_index<2>(x.shape(), st), UnaryFn<T>{op, (T)param});
    }
    CUTTLE_CUDA_CHECK_LAUNCH(unary_op_name(op));
  });
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param) {
  const Tensor gc = grad.contiguous(), xc = x.contiguous(), yc = y.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return out;
  DeviceGuard guard(x.device().index);
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    unary_backward_contiguous<T><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(out.data<T>(), gc.data<T>(), xc.data<T>(),
                                                                              yc.data<T>(), n, op, (T)param);
    CUTTLE_CUDA_CHECK_LAUNCH(unary_op_name(op));
  });
  return out;
}

}  // namespace cuttle::engine::cuda
