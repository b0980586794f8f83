// CUDA kernels of the mixture-of-experts combination (engine/cuda/moe_combine.h). The expert outputs'
// addresses travel by value in the launch (at most kMaxCombineInputs), so no pointer table is uploaded.
// Forward: a grid-stride loop over the output, each element summing its sample's k weighted rows in
// table order. Backward: one pass over the output gradient in blocks of (entry, chunk of its row) that
// writes the row gradients and each chunk's share of the weight's dot product, then one thread per weight
// adding its shares in order (fixed reduction trees: deterministic).
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/moe_combine.h"
#include "engine/cuda/warp_reduce.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T>
struct Rows {
  T* p[kMaxCombineInputs];
};

template <typename T>
Rows<T> rows_of(const std::vector<Tensor>& ts) {
  Rows<T> r{};
  for (size_t i = 0; i < ts.size(); ++i) r.p[i] = const_cast<T*>(ts[i].data<T>());
  return r;
}

// table rows: (b, i, p, j). w null: every weight 1 (the dispatch's backward, a plain sum).
template <typename T>
__global__ void combine_fwd(Rows<T> ys, const T* __restrict__ w, const int64_t* __restrict__ table, T* __restrict__ out,
                            int64_t total, int64_t inner, int k) {
  CUTTLE_KERNEL_LOOP(o, total) {
    const int64_t b = o / inner, x = o - b * inner;
    T acc = T(0);
    for (int s = 0; s < k; ++s) {
      const int64_t* t = table + 4 * (b * k + s);
      const T y = ys.p[t[1]][t[2] * inner + x];
      acc += w ? y * w[t[3]] : y;
    }
    out[o] = acc;
  }
}

// The dispatch: row p of output i is row b of x, for every entry.
template <typename T>
__global__ void dispatch_rows(Rows<T> out, const T* __restrict__ x, const int64_t* __restrict__ table, int64_t total,
                              int64_t inner) {
  CUTTLE_KERNEL_LOOP(r, total) {
    const int64_t e = r / inner, c = r - e * inner;
    const int64_t* t = table + 4 * e;
    out.p[t[1]][t[2] * inner + c] = x[t[0] * inner + c];
  }
}

template <typename T>
__global__ void combine_bwd_rows(Rows<T> gys, const T* __restrict__ w, const int64_t* __restrict__ table,
                                 const T* __restrict__ gout, int64_t total, int64_t inner) {
  CUTTLE_KERNEL_LOOP(r, total) {
    const int64_t e = r / inner, x = r - e * inner;
    const int64_t* t = table + 4 * e;
    gys.p[t[1]][t[2] * inner + x] = gout[t[0] * inner + x] * w[t[3]];
  }
}

// Elements of one entry's row a block of the weights' backward takes: rows are long (a sample's whole
// feature map) and there are few of them (B * k), so each is split to fill the GPU.
constexpr int64_t kWeightChunk = 8192;

// Work item u = (entry e, chunk c): the chunk's share of grad w[j] = <gout[b], ys[i][p]>, summed in
// double into partial[u]; with kRows it also writes the chunk of the row gradient gout[b] * w[j], reading
// gout once for both.
template <typename T, bool kRows>
__global__ void combine_bwd_chunks(Rows<T> ys, Rows<T> gys, const T* __restrict__ w, const int64_t* __restrict__ table,
                                   const T* __restrict__ gout, double* __restrict__ partial, int64_t items,
                                   int64_t chunks, int64_t inner) {
  __shared__ double warp_sums[kThreads / 32];
  for (int64_t u = blockIdx.x; u < items; u += gridDim.x) {
    const int64_t e = u / chunks, begin = (u - e * chunks) * kWeightChunk;
    const int64_t end = begin + kWeightChunk < inner ? begin + kWeightChunk : inner;
    const int64_t* t = table + 4 * e;
    const T* g = gout + t[0] * inner;
    const T* y = ys.p[t[1]] + t[2] * inner;
    double acc = 0;
    if (kRows) {
      T* gy = gys.p[t[1]] + t[2] * inner;
      const T we = w[t[3]];
      for (int64_t x = begin + threadIdx.x; x < end; x += blockDim.x) {
        const T gx = g[x];
        acc += (double)gx * (double)y[x];
        gy[x] = gx * we;
      }
    } else {
      for (int64_t x = begin + threadIdx.x; x < end; x += blockDim.x) acc += (double)g[x] * (double)y[x];
    }
    acc = warp_sum_to_lane0(acc);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
      double v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0;
      v = warp_sum_to_lane0(v);
      if (threadIdx.x == 0) partial[u] = v;
    }
    __syncthreads();  // warp_sums is reused by the next item
  }
}

// grad w[j] of every entry: its chunks' partial sums added in chunk order (deterministic).
template <typename T>
__global__ void combine_bwd_weights_finish(const double* __restrict__ partial, const int64_t* __restrict__ table,
                                           T* __restrict__ gw, int64_t entries, int64_t chunks) {
  CUTTLE_KERNEL_LOOP(e, entries) {
    double v = 0;
    for (int64_t c = 0; c < chunks; ++c) v += partial[e * chunks + c];
    gw[table[4 * e + 3]] = static_cast<T>(v);
  }
}

// out [B, rest...] = each sample's rows summed in table order, times their weights unless `weights` is
// undefined (the dispatch's backward).
Tensor sum_rows(const std::vector<Tensor>& rows, const Tensor& weights, const Tensor& table, int64_t B, int64_t inner,
                const char* name) {
  const Tensor& r0 = rows[0];
  Shape shape{B};
  shape.insert(shape.end(), r0.shape().begin() + 1, r0.shape().end());
  Tensor out = Tensor::empty(shape, r0.dtype(), r0.device());
  const int64_t total = B * inner;
  if (total == 0) return out;
  const int k = (int)(table.size(0) / B);
  DeviceGuard guard(r0.device().index);
  dispatch_float(r0.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    combine_fwd<T><<<blocks_for(total), kThreads, 0, stream_of(r0)>>>(
        rows_of<T>(rows), weights.defined() ? weights.data<T>() : nullptr, table.data<int64_t>(), out.data<T>(), total,
        inner, k);
    CUTTLE_CUDA_CHECK_LAUNCH(name);
  });
  return out;
}

}  // namespace

Tensor moe_combine(const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table, int64_t B, int64_t inner) {
  return sum_rows(ys, weights, table, B, inner, "moe_combine");
}

MoECombineGrads moe_combine_backward(const Tensor& grad_out, const std::vector<Tensor>& ys, const Tensor& weights,
                                     const Tensor& table, int64_t inner, bool need_ys, bool need_weights) {
  MoECombineGrads out;
  const int64_t entries = table.size(0);
  DeviceGuard guard(weights.device().index);
  if (need_ys)
    for (const Tensor& y : ys) out.ys.push_back(Tensor::empty(y.shape(), y.dtype(), y.device()));
  if (need_weights) out.weights = Tensor::zeros(weights.shape(), weights.dtype(), weights.device());
  if (entries * inner == 0) return out;
  cudaStream_t stream = stream_of(weights);
  dispatch_float(weights.dtype(), "moe_combine_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (!need_weights) {
      if (!need_ys) return;
      combine_bwd_rows<T><<<blocks_for(entries * inner), kThreads, 0, stream>>>(
          rows_of<T>(out.ys), weights.data<T>(), table.data<int64_t>(), grad_out.data<T>(), entries * inner, inner);
      CUTTLE_CUDA_CHECK_LAUNCH("moe_combine_backward (rows)");
      return;
    }
    const int64_t chunks = (inner + kWeightChunk - 1) / kWeightChunk, items = entries * chunks;
    Tensor partial = Tensor::empty({items}, DType::f64, weights.device());
    const int grid = grid_for(items, 1);
    if (need_ys)
      combine_bwd_chunks<T, true><<<grid, kThreads, 0, stream>>>(rows_of<T>(ys), rows_of<T>(out.ys), weights.data<T>(),
                                                                 table.data<int64_t>(), grad_out.data<T>(),
                                                                 partial.data<double>(), items, chunks, inner);
    else
      combine_bwd_chunks<T, false><<<grid, kThreads, 0, stream>>>(rows_of<T>(ys), Rows<T>{}, weights.data<T>(),
                                                                  table.data<int64_t>(), grad_out.data<T>(),
                                                                  partial.data<double>(), items, chunks, inner);
    CUTTLE_CUDA_CHECK_LAUNCH("moe_combine_backward (rows and weight partials)");
    combine_bwd_weights_finish<T><<<blocks_for(entries), kThreads, 0, stream>>>(
        partial.data<double>(), table.data<int64_t>(), out.weights.data<T>(), entries, chunks);
    CUTTLE_CUDA_CHECK_LAUNCH("moe_combine_backward (weights)");
  });
  return out;
}

std::vector<Tensor> moe_dispatch(const Tensor& x, const Tensor& table, int64_t inner, std::vector<Tensor> out) {
  const int64_t entries = table.size(0);
  if (entries * inner == 0) return out;
  DeviceGuard guard(x.device().index);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_rows<T><<<blocks_for(entries * inner), kThreads, 0, stream_of(x)>>>(rows_of<T>(out), x.data<T>(),
                                                                                table.data<int64_t>(), entries * inner, inner);
    CUTTLE_CUDA_CHECK_LAUNCH("moe_dispatch");
  });
  return out;
}

Tensor moe_dispatch_backward(const std::vector<Tensor>& grads, const Tensor& table, int64_t B, int64_t inner) {
  return sum_rows(grads, Tensor(), table, B, inner, "moe_dispatch_backward");
}

}  // namespace cuttle::engine::cuda
