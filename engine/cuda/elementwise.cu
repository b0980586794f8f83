// CUDA kernels of the element-wise op family. Contiguous operands (and a one-element operand
// broadcast against a contiguous one) go through launch_packed_map with the op a compile-time
// constant: wide loads and no per-element switch; an operand broadcast along all but one run of axes
// (a per-channel bias or gate) has its own packed kernel. Other broadcasts and strided views use one
// grid-stride kernel per (op family, dtype) with the op chosen by a uniform switch; a unary op over a
// transposed view reads through shared-memory tiles (tiled_transpose.cuh).
#include "engine/cuda/elementwise.h"
#include "engine/cuda/kernel_util.cuh"
#include "engine/cuda/packed_map.cuh"
#include "engine/cuda/tiled_transpose.cuh"
#include "engine/dispatch.h"
#include "engine/op_constants.h"
#include "engine/scalar_ops.h"

namespace cuttle::engine::cuda {

namespace {

#define CUTTLE_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

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
struct BinaryFn {
  BinaryOp op;
  __device__ T operator()(T a, T b) const { return scalar::binary<T>(op, a, b); }
};
template <typename T, BinaryOp Op>
struct BinaryConstFn {
  __device__ T operator()(T a, T b) const { return scalar::binary<T>(Op, a, b); }
};
// One operand is a single element on the device, read once per thread.
template <typename T, BinaryOp Op, bool kScalarFirst>
struct BinaryScalarFn {
  const T* s;
  __device__ T operator()(T v) const { return kScalarFirst ? scalar::binary<T>(Op, *s, v) : scalar::binary<T>(Op, v, *s); }
};
// One operand a host scalar passed by value (no device constant to fill first).
template <typename T, BinaryOp Op, bool kScalarFirst>
struct BinaryValueFn {
  T s;
  __device__ T operator()(T v) const { return kScalarFirst ? scalar::binary<T>(Op, s, v) : scalar::binary<T>(Op, v, s); }
};
template <typename T>
struct CompareValueFn {
  CompareOp op;
  T s;
  __device__ bool operator()(T v) const { return scalar::compare<T>(op, v, s); }
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
template <typename T, UnaryOp Op>
struct UnaryConstFn {
  T p;
  __device__ T operator()(T x) const { return scalar::unary<T>(Op, x, p); }
};
// g * f'(x, y), in the four forms of what the derivative reads (the operands it does not read are
// not loaded at all).
template <typename T, UnaryOp Op>
struct GradXYFn {
  T p;
  __device__ T operator()(T g, T x, T y) const { return g * scalar::unary_derivative<T>(Op, x, y, p); }
};
template <typename T, UnaryOp Op>
struct GradXFn {
  T p;
  __device__ T operator()(T g, T x) const { return g * scalar::unary_derivative<T>(Op, x, T(0), p); }
};
template <typename T, UnaryOp Op>
struct GradYFn {
  T p;
  __device__ T operator()(T g, T y) const { return g * scalar::unary_derivative<T>(Op, T(0), y, p); }
};
template <typename T, UnaryOp Op>
struct GradConstFn {
  T p;
  __device__ T operator()(T g) const { return g * scalar::unary_derivative<T>(Op, T(0), T(0), p); }
};

bool dense_like(const Tensor& t, const Shape& out_shape) { return t.is_contiguous() && t.shape() == out_shape; }

// A contiguous operand whose shape, aligned right against out's, is 1 outside one run of axes where
// it equals out's ([1, C, 1, 1] or [C, 1, 1] against [N, C, H, W]; [N, C, 1, 1] too): element i of
// out reads element (i / inner) % m of it. Per-channel biases and gates take this path.
struct ChannelBroadcast {
  bool ok = false;
  int64_t m = 1, inner = 1;
};
ChannelBroadcast channel_broadcast(const Tensor& t, const Shape& out) {
  ChannelBroadcast cb;
  if (!t.is_contiguous() || t.dim() > (int64_t)out.size() || t.numel() <= 1) return cb;
  const int64_t lead = (int64_t)out.size() - t.dim();
  int first = -1, last = -1;  // the run of axes where t is not 1
  for (int64_t d = 0; d < (int64_t)out.size(); ++d) {
    const int64_t size = d < lead ? 1 : t.size(d - lead);
    if (size == 1) continue;
    if (size != out[d] || (last >= 0 && last != d - 1)) return cb;
    if (first < 0) first = (int)d;
    last = (int)d;
  }
  for (int64_t d = first; d <= last; ++d) cb.m *= out[d];
  for (int64_t d = last + 1; d < (int64_t)out.size(); ++d) cb.inner *= out[d];
  cb.ok = true;
  return cb;
}

// out[i] = op(a[i], c[(i / inner) % m]) (or op(c[...], a[i])), V values of one inner run per thread.
template <typename T, BinaryOp Op, bool kBroadcastFirst, int V>
__global__ void binary_channel(T* out, const T* a, const T* c, int64_t n, int64_t m, int64_t inner) {
  const int64_t packs = n / V;
  CUTTLE_GRID_LOOP(p, packs) {
    const int64_t i = p * V;
    const T cv = c[(i / inner) % m];
    Pack<T, V> av = reinterpret_cast<const Pack<T, V>*>(a)[p], o;
#pragma unroll
    for (int k = 0; k < V; ++k)
      o.v[k] = kBroadcastFirst ? scalar::binary<T>(Op, cv, av.v[k]) : scalar::binary<T>(Op, av.v[k], cv);
    reinterpret_cast<Pack<T, V>*>(out)[p] = o;
  }
}

template <typename T, BinaryOp Op, bool kBroadcastFirst>
void launch_binary_channel(cudaStream_t s, T* out, const T* a, const T* c, int64_t n, const ChannelBroadcast& cb) {
  constexpr int V = 16 / sizeof(T) > 0 ? int(16 / sizeof(T)) : 1;
  if (V > 1 && cb.inner % V == 0 && aligned_to(out, 16) && aligned_to(a, 16))
    binary_channel<T, Op, kBroadcastFirst, V><<<blocks_for(n / V), kThreads, 0, s>>>(out, a, c, n, cb.m, cb.inner);
  else
    binary_channel<T, Op, kBroadcastFirst, 1><<<blocks_for(n), kThreads, 0, s>>>(out, a, c, n, cb.m, cb.inner);
  CUTTLE_CUDA_CHECK_LAUNCH("binary");
}

// The strided/broadcast fallback: out[...] = fn(a, b); out is fresh and contiguous.
template <typename TO, typename T, typename Fn>
void launch_binary_strided(Tensor& out, const Tensor& a, const Tensor& b, Fn fn, const char* name) {
  const int64_t n = out.numel();
  const Shape so = out.strides(), sa = broadcast_strides_to(a, out.shape()), sb = broadcast_strides_to(b, out.shape());
  const Shape* st[3] = {&so, &sa, &sb};
  binary_strided<TO, T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(
      out.data<TO>(), a.data<T>(), b.data<T>(), n, make_strided_index<3>(out.shape(), st), fn);
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  const int64_t n = out.numel();
  if (n == 0) return out;
  DeviceGuard guard(out.device().index);
  cudaStream_t s = stream_of(out);
  const bool a_dense = dense_like(a, out_shape), b_dense = dense_like(b, out_shape);
  dispatch_numeric(a.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data<T>();
    const T *pa = a.data<T>(), *pb = b.data<T>();
    if ((a_dense || a.numel() == 1) && (b_dense || b.numel() == 1) && (a_dense || b_dense)) {
      with_binary_op(op, [&](auto k) {
        constexpr BinaryOp kOp = decltype(k)::value;
        if (a_dense && b_dense) launch_packed_map(s, "binary", po, n, BinaryConstFn<T, kOp>{}, pa, pb);
        else if (a_dense) launch_packed_map(s, "binary", po, n, BinaryScalarFn<T, kOp, false>{pb}, pa);
        else launch_packed_map(s, "binary", po, n, BinaryScalarFn<T, kOp, true>{pa}, pb);
      });
    } else if (a_dense && channel_broadcast(b, out_shape).ok) {
      const ChannelBroadcast cb = channel_broadcast(b, out_shape);
      with_binary_op(op, [&](auto k) { launch_binary_channel<T, decltype(k)::value, false>(s, po, pa, pb, n, cb); });
    } else if (b_dense && channel_broadcast(a, out_shape).ok) {
      const ChannelBroadcast cb = channel_broadcast(a, out_shape);
      with_binary_op(op, [&](auto k) { launch_binary_channel<T, decltype(k)::value, true>(s, po, pb, pa, n, cb); });
    } else {
      launch_binary_strided<T, T>(out, a, b, BinaryFn<T>{op}, "binary");
    }
  });
  return out;
}

Tensor binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first) {
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  const int64_t n = out.numel();
  if (n == 0) return out;
  DeviceGuard guard(out.device().index);
  dispatch_numeric(a.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = static_cast<T>(s);
    with_binary_op(op, [&](auto k) {
      constexpr BinaryOp kOp = decltype(k)::value;
      if (scalar_first)
        launch_packed_map(stream_of(out), "binary", out.data<T>(), n, BinaryValueFn<T, kOp, true>{v}, a.data<T>());
      else
        launch_packed_map(stream_of(out), "binary", out.data<T>(), n, BinaryValueFn<T, kOp, false>{v}, a.data<T>());
    });
  });
  return out;
}

Tensor compare_scalar(CompareOp op, const Tensor& a, double s) {
  Tensor out = Tensor::empty(a.shape(), DType::boolean, a.device());
  if (out.numel() == 0) return out;
  DeviceGuard guard(out.device().index);
  dispatch_numeric(a.dtype(), "compare", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_packed_map(stream_of(out), "compare", out.data<bool>(), out.numel(), CompareValueFn<T>{op, static_cast<T>(s)},
                      a.data<T>());
  });
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::boolean, a.device());
  if (out.numel() == 0) return out;
  DeviceGuard guard(out.device().index);
  dispatch_numeric(a.dtype(), "compare", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (dense_like(a, out_shape) && dense_like(b, out_shape))
      launch_packed_map(stream_of(out), "compare", out.data<bool>(), out.numel(), CompareFn<T>{op}, a.data<T>(),
                        b.data<T>());
    else
      launch_binary_strided<bool, T>(out, a, b, CompareFn<T>{op}, "compare");
  });
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x, double param) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return out;
  DeviceGuard guard(x.device().index);
  cudaStream_t s = stream_of(x);
  const char* name = unary_op_name(op);
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (x.is_contiguous()) {
      with_unary_op(op, [&](auto k) {
        launch_packed_map(s, name, out.data<T>(), n, UnaryConstFn<T, decltype(k)::value>{(T)param}, x.data<T>());
      });
    } else {
      const Shape so = out.strides(), sx = x.strides();
      const Shape* st[2] = {&so, &sx};
      const StridedIndex<2> idx = make_strided_index<2>(x.shape(), st);
      TransposeShape t;
      if (batched_transpose(idx, t)) {
        launch_tiled_transpose(s, name, out.data<T>(), x.data<T>(), t, UnaryFn<T>{op, (T)param});
      } else {
        unary_strided<T><<<blocks_for(n), kThreads, 0, s>>>(out.data<T>(), x.data<T>(), n, idx, UnaryFn<T>{op, (T)param});
        CUTTLE_CUDA_CHECK_LAUNCH(name);
      }
    }
  });
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param) {
  const bool reads_x = scalar::derivative_reads_x(op), reads_y = scalar::derivative_reads_y(op);
  const Tensor gc = grad.contiguous();
  const Tensor xc = reads_x ? x.contiguous() : Tensor(), yc = reads_y ? y.contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return out;
  DeviceGuard guard(x.device().index);
  cudaStream_t s = stream_of(x);
  const char* name = unary_op_name(op);
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data<T>();
    const T* pg = gc.data<T>();
    const T p = (T)param;
    with_unary_op(op, [&](auto k) {
      constexpr UnaryOp kOp = decltype(k)::value;
      if constexpr (scalar::derivative_reads_x(kOp) && scalar::derivative_reads_y(kOp))
        launch_packed_map(s, name, po, n, GradXYFn<T, kOp>{p}, pg, xc.data<T>(), yc.data<T>());
      else if constexpr (scalar::derivative_reads_x(kOp))
        launch_packed_map(s, name, po, n, GradXFn<T, kOp>{p}, pg, xc.data<T>());
      else if constexpr (scalar::derivative_reads_y(kOp))
        launch_packed_map(s, name, po, n, GradYFn<T, kOp>{p}, pg, yc.data<T>());
      else
        launch_packed_map(s, name, po, n, GradConstFn<T, kOp>{p}, pg);
    });
  });
  return out;
}

}  // namespace cuttle::engine::cuda
