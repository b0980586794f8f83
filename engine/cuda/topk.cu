// CUDA topk by rank counting (engine/cuda/topk.h). sorted: an element of rank r < k goes straight to
// slot r. Unsorted: ranks mark the selection, then one thread per lane packs it in index order.
#include <type_traits>

#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/topk.h"
#include "engine/dispatch.h"
#include "engine/topk_order.h"

namespace cuttle::engine::cuda {

namespace {

// Element e = lane * n + i; lane = o * inner + j.
template <typename T>
__global__ void rank_kernel(const T* x, T* values, int64_t* indices, bool* chosen, int64_t lanes, int64_t n,
                            int64_t inner, int64_t k, bool largest, bool sorted) {
  CUTTLE_KERNEL_LOOP(e, lanes * n) {
    const int64_t lane = e / n, i = e % n, o = lane / inner, j = lane % inner;
    const T* lx = x + o * n * inner + j;
    const T v = lx[i * inner];
    int64_t rank = 0;
    for (int64_t m = 0; m < n && rank < k; ++m) rank += topk_before(lx[m * inner], m, v, i, largest) ? 1 : 0;
    if (sorted) {
      if (rank < k) {
        const int64_t at = o * k * inner + rank * inner + j;
        values[at] = v;
        indices[at] = i;
      }
    } else {
      chosen[e] = rank < k;
    }
  }
}

template <typename T>
__global__ void pack_kernel(const T* x, const bool* chosen, T* values, int64_t* indices, int64_t lanes, int64_t n,
                            int64_t inner, int64_t k) {
  CUTTLE_KERNEL_LOOP(lane, lanes) {
    const int64_t o = lane / inner, j = lane % inner;
    const T* lx = x + o * n * inner + j;
    int64_t t = 0;
    for (int64_t i = 0; i < n && t < k; ++i)
      if (chosen[lane * n + i]) {
        const int64_t at = o * k * inner + t * inner + j;
        values[at] = lx[i * inner];
        indices[at] = i;
        ++t;
      }
  }
}

}  // namespace

TopK topk(const Tensor& x, int64_t k, int axis, bool largest, bool sorted) {
  Shape out_shape = x.shape();
  out_shape[axis] = k;
  TopK r{Tensor::empty(out_shape, x.dtype(), x.device()), Tensor::empty(out_shape, DType::i64, x.device())};
  if (r.values.numel() == 0) return r;
  DeviceGuard guard(x.device().index);
  cudaStream_t s = stream_of(x);
  const AxisDims d = axis_dims(x.shape(), axis);
  const int64_t lanes = d.outer * d.inner;
  const Tensor xc = x.contiguous();
  Tensor chosen = sorted ? Tensor() : Tensor::empty({lanes * d.n}, DType::boolean, x.device());
  bool* pc = sorted ? nullptr : chosen.data<bool>();
  dispatch_numeric(x.dtype(), "topk", [&](auto tag) {
    using T = typename decltype(tag)::type;
    rank_kernel<T><<<blocks_for(lanes * d.n), kThreads, 0, s>>>(xc.data<T>(), r.values.data<T>(),
                                                                r.indices.data<int64_t>(), pc, lanes, d.n, d.inner, k,
                                                                largest, sorted);
    CUTTLE_CUDA_CHECK_LAUNCH("topk");
    if (!sorted) {
      pack_kernel<T><<<blocks_for(lanes), kThreads, 0, s>>>(xc.data<T>(), pc, r.values.data<T>(),
                                                            r.indices.data<int64_t>(), lanes, d.n, d.inner, k);
      CUTTLE_CUDA_CHECK_LAUNCH("topk");
    }
  });
  return r;
}

}  // namespace cuttle::engine::cuda
