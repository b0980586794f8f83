// CUDA index_select, gather, scatter_add and index_add (engine/cuda/index.h).
#include "engine/cuda/index.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/scatter.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename Fn>
void dispatch_index(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::i64: fn(TypeTag<int64_t>{}); return;
    case DType::i32: fn(TypeTag<int32_t>{}); return;
    default: CUTTLE_FAIL(op, ": indices must be i64 or i32, got ", dtype_name(t));
  }
}

std::string axis_name(int axis) { return "axis " + std::to_string(axis); }

// x [outer, n, inner] -> out [outer, L, inner].
template <typename T, typename I>
__global__ void index_select_kernel(const T* x, const I* idx, T* out, int64_t total, int64_t L, int64_t n,
                                    int64_t inner) {
  CUTTLE_KERNEL_LOOP(e, total) {
    const int64_t o = e / (L * inner), r = e % (L * inner), i = r / inner, j = r % inner;
    out[e] = x[(o * n + (int64_t)idx[i]) * inner + j];
  }
}

// Offsets over idx's shape: [0] out (contiguous), [1] idx, [2] x with the indexed axis' stride zeroed.
template <typename T, typename I>
__global__ void gather_kernel(const T* x, const I* idx, T* out, int64_t total, StridedIndex<3> it, int64_t x_axis_stride) {
  CUTTLE_KERNEL_LOOP(p, total) {
    int64_t off[3];
    it.offsets(p, off);
    out[off[0]] = x[off[2] + (int64_t)idx[off[1]] * x_axis_stride];
  }
}

// Offsets over idx's shape: [0] out with the axis stride zeroed, [1] idx, [2] src. Contribution p
// (row-major over idx) targets out.flat[key].
template <typename T, typename I>
__global__ void scatter_keys_kernel(const T* src, const I* idx, int64_t* keys, T* vals, int64_t total,
                                    StridedIndex<3> it, int64_t out_axis_stride) {
  CUTTLE_KERNEL_LOOP(p, total) {
    int64_t off[3];
    it.offsets(p, off);
    keys[p] = off[0] + (int64_t)idx[off[1]] * out_axis_stride;
    vals[p] = src[off[2]];
  }
}

// out [outer, n, inner] (a copy of base) += src [outer, L, inner] rows idx names; the rows landing on
// target t are positions[lo, hi) of the sorted index, found by binary search, in index order.
template <typename T>
__global__ void index_add_kernel(T* out, const T* src, const int64_t* sorted_idx, const int64_t* positions,
                                 int64_t total, int64_t L, int64_t n, int64_t inner) {
  CUTTLE_KERNEL_LOOP(e, total) {
    const int64_t o = e / (n * inner), r = e % (n * inner), t = r / inner, j = r % inner;
    int64_t lo = 0, hi = L;
    while (lo < hi) {
      const int64_t m = (lo + hi) / 2;
      if (sorted_idx[m] < t) lo = m + 1;
      else hi = m;
    }
    if (lo == L || sorted_idx[lo] != t) continue;
    T acc = out[e];
    for (int64_t s = lo; s < L && sorted_idx[s] == t; ++s) acc = (T)(acc + src[(o * L + positions[s]) * inner + j]);
    out[e] = acc;
  }
}

Shape zero_axis(Shape strides, int axis) {
  strides[axis] = 0;
  return strides;
}

}  // namespace

Tensor index_select(const Tensor& x, int axis, const Tensor& idx) {
  check_index_range("index_select", idx, x.size(axis), axis_name(axis));
  const int64_t L = idx.numel();
  Shape out_shape = x.shape();
  out_shape[axis] = L;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  DeviceGuard guard(x.device().index);
  const AxisDims d = axis_dims(x.shape(), axis);
  const Tensor xc = x.contiguous(), ic = idx.contiguous();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_index(idx.dtype(), "index_select", [&](auto itag) {
      using I = typename decltype(itag)::type;
      index_select_kernel<T, I><<<blocks_for(out.numel()), kThreads, 0, stream_of(x)>>>(
          xc.data<T>(), ic.data<I>(), out.data<T>(), out.numel(), L, d.n, d.inner);
      CUTTLE_CUDA_CHECK_LAUNCH("index_select");
    });
  });
  return out;
}

Tensor gather(const Tensor& x, int axis, const Tensor& idx) {
  check_index_range("gather", idx, x.size(axis), axis_name(axis));
  Tensor out = Tensor::empty(idx.shape(), x.dtype(), x.device());
  const int64_t total = out.numel();
  if (total == 0) return out;
  DeviceGuard guard(x.device().index);
  const Shape so = out.strides(), si = idx.strides(), sx = zero_axis(x.strides(), axis);
  const Shape* st[3] = {&so, &si, &sx};
  const StridedIndex<3> it = make_strided_index<3>(idx.shape(), st);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_index(idx.dtype(), "gather", [&](auto itag) {
      using I = typename decltype(itag)::type;
      gather_kernel<T, I><<<blocks_for(total), kThreads, 0, stream_of(x)>>>(x.data<T>(), idx.data<I>(), out.data<T>(),
                                                                          total, it, x.strides()[axis]);
      CUTTLE_CUDA_CHECK_LAUNCH("gather");
    });
  });
  return out;
}

Tensor scatter_add(const Tensor& base, int axis, const Tensor& idx, const Tensor& src) {
  check_index_range("scatter_add", idx, base.size(axis), axis_name(axis));
  Tensor out = base.clone();
  const int64_t total = idx.numel();
  if (total == 0 || out.numel() == 0) return out;
  DeviceGuard guard(base.device().index);
  const Shape so = zero_axis(out.strides(), axis), si = idx.strides(), ss = src.strides();
  const Shape* st[3] = {&so, &si, &ss};
  const StridedIndex<3> it = make_strided_index<3>(idx.shape(), st);
  Tensor keys = Tensor::empty({total}, DType::i64, base.device());
  Tensor vals = Tensor::empty({total}, base.dtype(), base.device());
  dispatch_numeric(base.dtype(), "scatter_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_index(idx.dtype(), "scatter_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      scatter_keys_kernel<T, I><<<blocks_for(total), kThreads, 0, stream_of(base)>>>(
          src.data<T>(), idx.data<I>(), keys.data<int64_t>(), vals.data<T>(), total, it, out.strides()[axis]);
      CUTTLE_CUDA_CHECK_LAUNCH("scatter_add");
    });
  });
  scatter_add_sorted(out, keys, vals);
  return out;
}

Tensor index_add(const Tensor& base, int axis, const Tensor& idx, const Tensor& src) {
  check_index_range("index_add", idx, base.size(axis), axis_name(axis));
  Tensor out = base.clone();
  const int64_t L = idx.numel();
  if (L == 0 || out.numel() == 0) return out;
  DeviceGuard guard(base.device().index);
  const AxisDims d = axis_dims(base.shape(), axis);
  const Tensor sc = src.contiguous();
  const SortedKeys sk = stable_sort_keys(idx.to(DType::i64).contiguous(), d.n);
  dispatch_numeric(base.dtype(), "index_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    index_add_kernel<T><<<blocks_for(out.numel()), kThreads, 0, stream_of(base)>>>(
        out.data<T>(), sc.data<T>(), sk.keys.data<int64_t>(), sk.positions.data<int64_t>(), out.numel(), L, d.n,
        d.inner);
    CUTTLE_CUDA_CHECK_LAUNCH("index_add");
  });
  return out;
}

}  // namespace cuttle::engine::cuda
