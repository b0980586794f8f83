// Defines the building blocks of the per-channel kernels over a contiguous [N, C, S] tensor (batch
// norm, the convolution bias, the LayerNorm2d parameter gradients):
//  - RowGrid: a launch over the N*C rows of length S, threads along S (coalesced) and rows along y;
//    launch_row_packs picks 16-byte packs along S where the rows allow them;
//  - ChannelPlan + channel_partials: a deterministic per-channel reduction. Each channel's N*S values
//    are cut into items by a rule that depends on the shape only; one block folds an item in a fixed
//    order into double partial sums; channel_finish (or, in one launch, the last block to finish an
//    item of the channel: channel_reduce_kernel) then adds a channel's partials in a fixed tree. The
//    result is the same on every run and every GPU.
#pragma once
#include <algorithm>
#include <initializer_list>
#include <type_traits>

#include "engine/cuda/channel_reduce_mode.h"
#include "engine/cuda/kernel_util.cuh"
#include "engine/cuda/packed_map.cuh"

namespace cuttle::engine::cuda {

// ---- row launch ------------------------------------------------------------------------------
struct RowGrid {
  dim3 grid, block;
  RowGrid(int64_t rows, int64_t S) {
    int bx = 32;
    while (bx < S && bx < kThreads) bx *= 2;  // short rows: several rows per block
    const int by = kThreads / bx;
    const int64_t gx = std::min<int64_t>((S + bx - 1) / bx, 65535);
    const int64_t gy = std::min<int64_t>((rows + by - 1) / by, 65535);
    grid = dim3((unsigned)std::max<int64_t>(gx, 1), (unsigned)std::max<int64_t>(gy, 1));
    block = dim3(bx, by);
  }
};
// Calls launch(std::integral_constant<int, V>{}, grid) with a RowGrid over rows of S / V packs: V is
// 16 / sizeof(T) when S is a multiple of it and every pointer is 16-byte aligned (each row then starts
// on a pack), 1 otherwise.
template <typename T, typename Launch>
void launch_row_packs(int64_t rows, int64_t S, std::initializer_list<const void*> ptrs, const Launch& launch) {
  constexpr int V = 16 / sizeof(T);
  bool packed = S % V == 0;
  for (const void* p : ptrs) packed = packed && aligned_to(p, 16);
  if (packed) launch(std::integral_constant<int, V>{}, RowGrid(rows, S / V));
  else launch(std::integral_constant<int, 1>{}, RowGrid(rows, S));
}

// Inside a RowGrid kernel: for every (row, s) this thread owns.
#define CUTTLE_ROW_LOOP(row, s, rows, S)                                                                    \
  for (int64_t row = (int64_t)blockIdx.y * blockDim.y + threadIdx.y; row < (rows);                           \
       row += (int64_t)gridDim.y * blockDim.y)                                                              \
    for (int64_t s = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; s < (S); s += (int64_t)gridDim.x * blockDim.x)

// ---- deterministic per-channel reduction -----------------------------------------------------
constexpr int64_t kChannelItem = 8192;  // values per item (32 per thread)

struct ChannelPlan {
  int64_t N, C, S;
  int64_t seg;            // values of one row an item covers
  int64_t segs_per_row;   // items per row (long rows)
  int64_t rows_per_item;  // rows an item covers (short rows)
  int64_t items;          // items per channel

  ChannelPlan(int64_t n, int64_t c, int64_t s) : N(n), C(c), S(s) {
    if (S >= kChannelItem) {
      seg = kChannelItem;
      segs_per_row = (S + seg - 1) / seg;
      rows_per_item = 1;
    } else {
      seg = std::max<int64_t>(S, 1);
      segs_per_row = 1;
      rows_per_item = std::max<int64_t>(1, kChannelItem / seg);
    }
    items = std::max<int64_t>(1, (N + rows_per_item - 1) / rows_per_item * segs_per_row);
  }
};

// Block tree over kThreads values in shared memory (fixed order); the sum ends in buf[0].
__device__ inline void block_tree_sum(double* buf) {
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
}

// Where channel_partials_kernel's block sums go: partials[k * C * items + c * items + item]
// (PartialsOut), or, when a channel is one item, straight to fin(c, sums) (FinishOut: one launch).
struct PartialsOut {
  double* partials;
  int64_t total_items;
  template <int K>
  __device__ void operator()(int64_t item, int64_t, const double (&sums)[K]) const {
    for (int q = 0; q < K; ++q) partials[q * total_items + item] = sums[q];
  }
};
template <typename Fin>
struct FinishOut {
  Fin fin;
  template <int K>
  __device__ void operator()(int64_t, int64_t c, const double (&sums)[K]) const {
    fin(c, sums);
  }
};

// Folds item `it` (of channel c) of fn's K outputs into buf[q][0], in a fixed order. All threads.
template <int K, typename Fn>
__device__ void fold_item(const ChannelPlan& p, const Fn& fn, int64_t it, int64_t c, double (&buf)[K][kThreads]) {
  const int64_t k = it % p.items;
  const int64_t n0 = k / p.segs_per_row * p.rows_per_item, s0 = k % p.segs_per_row * p.seg;
  const int nrows = (int)(p.N - n0 < p.rows_per_item ? p.N - n0 : p.rows_per_item);
  const int slen = (int)(p.S - s0 < p.seg ? p.S - s0 : p.seg);
  double acc[K];
  for (int q = 0; q < K; ++q) acc[q] = 0;
  if (nrows == 1) {  // a segment of one long row: no index division per value
    const int64_t row = (n0 * p.C + c) * p.S;
#pragma unroll 4  // several loads in flight per thread: the fold is latency-bound otherwise
    for (int j = threadIdx.x; j < slen; j += blockDim.x) fn(c, n0, s0 + j, row + s0 + j, acc);
  } else {
    const int count = nrows * slen;
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t n = n0 + j / slen, s = s0 + j % slen;
      fn(c, n, s, (n * p.C + c) * p.S + s, acc);
    }
  }
  for (int q = 0; q < K; ++q) buf[q][threadIdx.x] = acc[q];
  for (int q = 0; q < K; ++q) block_tree_sum(buf[q]);
}

// Sums each item's values of fn's K outputs and hands them, on thread 0, to out(item, c, sums).
// fn(c, n, s, index, acc) adds its K contributions for the value at `index` = (n*C + c)*S + s.
// Launch with kThreads threads (1-D).
template <int K, typename Fn, typename Out>
__global__ void channel_partials_kernel(ChannelPlan p, Fn fn, Out out) {
  __shared__ double buf[K][kThreads];
  const int64_t total_items = p.C * p.items;
  for (int64_t it = blockIdx.x; it < total_items; it += gridDim.x) {
    const int64_t c = it / p.items;
    fold_item<K>(p, fn, it, c, buf);
    if (threadIdx.x == 0) {
      double sums[K];
      for (int q = 0; q < K; ++q) sums[q] = buf[q][0];
      out(it, c, sums);
    }
    __syncthreads();
  }
}

// Channel c's sums from its `count` partials at partials[q * plane + c * stride_c + i * stride_i],
// added in a fixed tree (all threads; the sums end in buf[q][0]).
template <int K>
__device__ void sum_partials(const double* partials, int64_t c, int64_t count, int64_t stride_c, int64_t stride_i,
                             int64_t plane, double (&buf)[K][kThreads]) {
  double acc[K];
  for (int q = 0; q < K; ++q) acc[q] = 0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    for (int q = 0; q < K; ++q) acc[q] += __ldcg(partials + q * plane + c * stride_c + i * stride_i);
  for (int q = 0; q < K; ++q) buf[q][threadIdx.x] = acc[q];
  for (int q = 0; q < K; ++q) block_tree_sum(buf[q]);
}

// Both stages in one launch: each block folds items into partials as channel_partials_kernel does;
// the block that writes a channel's last partial (counters[c] counts them, and that block sets it
// back to zero) adds the channel's partials in channel_finish_kernel's fixed tree and calls
// fin(c, sums) on thread 0. The same sums as the two launches, one launch fewer.
template <int K, typename Fn, typename Fin>
__global__ void channel_reduce_kernel(ChannelPlan p, Fn fn, double* partials, unsigned* counters, Fin fin) {
  __shared__ double buf[K][kThreads];
  __shared__ bool last;
  const int64_t total_items = p.C * p.items;
  for (int64_t it = blockIdx.x; it < total_items; it += gridDim.x) {
    const int64_t c = it / p.items;
    fold_item<K>(p, fn, it, c, buf);
    if (threadIdx.x == 0) {
      for (int q = 0; q < K; ++q) partials[q * total_items + it] = buf[q][0];
      __threadfence();  // the partials are visible device-wide before the count says so
      last = atomicAdd(counters + c, 1u) == (unsigned)(p.items - 1);
    }
    __syncthreads();
    if (last) {
      __threadfence();
      sum_partials<K>(partials, c, p.items, p.items, 1, total_items, buf);
      if (threadIdx.x == 0) {
        double sums[K];
        for (int q = 0; q < K; ++q) sums[q] = buf[q][0];
        fin(c, sums);
        counters[c] = 0;
      }
    }
    __syncthreads();
  }
}

// Per-channel arrival counters for channel_reduce_kernel: at least C zeros for kernels on `stream`
// (each kernel leaves them zero; streams have their own, so concurrent kernels never share one).
unsigned* channel_counters(int device, cudaStream_t stream, int64_t C);

// For each channel c (one block each): sums[k] = the sum over i of
// partials[k * plane + c * stride_c + i * stride_i] for i < count, in a fixed tree; then fin(c, sums)
// runs on thread 0.
template <int K, typename Fin>
__global__ void channel_finish_kernel(const double* partials, int64_t C, int64_t count, int64_t stride_c,
                                      int64_t stride_i, int64_t plane, Fin fin) {
  __shared__ double buf[K][kThreads];
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    sum_partials<K>(partials, c, count, stride_c, stride_i, plane, buf);
    if (threadIdx.x == 0) {
      double sums[K];
      for (int q = 0; q < K; ++q) sums[q] = buf[q][0];
      fin(c, sums);
    }
    __syncthreads();
  }
}

// Runs both stages: per-channel sums of fn's K outputs handed to fin(c, sums). Needs N*S > 0. A
// channel of at most kChannelItem values is one item: its block's sum is the channel's, and fin runs
// in the same launch (the finish stage would add that one partial to zeros: the same sums). Longer
// channels take one launch of channel_reduce_kernel, or two where channel_reduce_one_launch() is off.
template <int K, typename Fn, typename Fin>
void channel_reduce(const ChannelPlan& p, const Fn& fn, const Fin& fin, Device device, cudaStream_t stream,
                    const char* name) {
  const int64_t total = p.C * p.items;
  const int grid1 = (int)std::min<int64_t>(total, 1 << 20);
  if (p.items == 1) {
    channel_partials_kernel<K><<<grid1, kThreads, 0, stream>>>(p, fn, FinishOut<Fin>{fin});
    CUTTLE_CUDA_CHECK_LAUNCH(name);
    return;
  }
  Tensor partials = Tensor::empty({K * total}, DType::f64, device);
  if (channel_reduce_one_launch()) {
    channel_reduce_kernel<K><<<grid1, kThreads, 0, stream>>>(p, fn, partials.data<double>(),
                                                             channel_counters(device.index, stream, p.C), fin);
    CUTTLE_CUDA_CHECK_LAUNCH(name);
    return;
  }
  channel_partials_kernel<K><<<grid1, kThreads, 0, stream>>>(p, fn, PartialsOut{partials.data<double>(), total});
  CUTTLE_CUDA_CHECK_LAUNCH(name);
  const int grid2 = (int)std::min<int64_t>(p.C, 65535);
  channel_finish_kernel<K><<<grid2, kThreads, 0, stream>>>(partials.data<double>(), p.C, p.items, p.items, 1, total,
                                                           fin);
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

}  // namespace cuttle::engine::cuda
