// Defines the multi-tensor launch: many tensors (pointers, sizes, per-tensor scalars) packed into one
// kernel argument, so one launch updates up to kMtMaxTensors tensors. Each tensor gets a run of
// blocks in proportion to its size; a block finds its tensor by binary search over the run starts and
// walks its elements with a stride of the run's threads (coalesced; int64 indices).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "engine/cuda/kernel_util.cuh"

namespace cuttle::engine::cuda {

// 4 pointers + 3 doubles per tensor at 40 tensors keeps the argument under the 4 KiB every
// toolkit and architecture accepts.
constexpr int kMtMaxTensors = 40;
constexpr int kMtThreads = 256;
constexpr int64_t kMtElemsPerBlock = kMtThreads * 8;
constexpr int kMtMaxBlocksPerTensor = 1024;

struct MtNoExtra {};

template <int NPtr, typename Extra>
struct MtBatch {
  int count;
  int block_start[kMtMaxTensors + 1];  // blocks of tensor t: [block_start[t], block_start[t + 1])
  int64_t numel[kMtMaxTensors];
  void* ptr[kMtMaxTensors][NPtr];
  Extra extra[kMtMaxTensors];
};

inline int mt_blocks_for(int64_t numel) {
  const int64_t b = (numel + kMtElemsPerBlock - 1) / kMtElemsPerBlock;
  return (int)(b < kMtMaxBlocksPerTensor ? b : kMtMaxBlocksPerTensor);
}

// The block's place in the batch: tensor t, the block's index within t's run, and the run's length.
struct MtPlace {
  int t, local, blocks;
};
template <typename Batch>
__device__ inline MtPlace mt_place(const Batch& b) {
  const int blk = (int)blockIdx.x;
  int lo = 0, hi = b.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (b.block_start[mid] <= blk) lo = mid;
    else hi = mid - 1;
  }
  return {lo, blk - b.block_start[lo], b.block_start[lo + 1] - b.block_start[lo]};
}

// for (i over tensor p.t's elements handled by this block)
#define CUTTLE_MT_LOOP(i, place, n)                                                                   \
  for (int64_t i = (int64_t)(place).local * blockDim.x + threadIdx.x; i < (n);                        \
       i += (int64_t)(place).blocks * blockDim.x)

// Packs the non-empty items (numel[k] > 0) into batches and calls launch(batch, blocks) for each;
// fill(batch, slot, k) writes item k's pointers and extras into batch slot `slot`.
template <typename Batch, typename Fill, typename Launch>
void mt_run(const std::vector<int64_t>& numel, const Fill& fill, const Launch& launch) {
  Batch b;
  b.count = 0;
  b.block_start[0] = 0;
  for (size_t k = 0; k < numel.size(); ++k) {
    if (numel[k] == 0) continue;
    const int c = b.count;
    b.numel[c] = numel[k];
    fill(b, c, k);
    b.block_start[c + 1] = b.block_start[c] + mt_blocks_for(numel[k]);
    b.count = c + 1;
    if (b.count == kMtMaxTensors) {
      launch(b, b.block_start[b.count]);
      b.count = 0;
    }
  }
  if (b.count > 0) launch(b, b.block_start[b.count]);
}

}  // namespace cuttle::engine::cuda
