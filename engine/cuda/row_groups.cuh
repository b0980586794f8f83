// Defines the thread groups that cooperate on one row in the row kernels (softmax, and anything
// else reduced along one axis): a single thread, a warp, or a whole block. Each offers its rank, its
// size and deterministic sum / max reductions whose result every member receives.
#pragma once
#include <cuda_runtime.h>

#include "engine/cuda/kernel_loops.cuh"

namespace cuttle::engine::cuda {

struct ThreadGroup {
  __device__ int rank() const { return 0; }
  __device__ int size() const { return 1; }
  __device__ double sum(double v) const { return v; }
  __device__ double max(double v) const { return v; }
};

struct WarpGroup {
  __device__ int rank() const { return threadIdx.x & 31; }
  __device__ int size() const { return 32; }
  __device__ double sum(double v) const { return warp_sum(v); }
  __device__ double max(double v) const { return warp_max(v); }
};

// Needs a __shared__ double[32] and blockDim.x a multiple of 32; every thread of the block must call
// the reductions (they synchronise the block).
struct BlockGroup {
  double* scratch;
  __device__ int rank() const { return threadIdx.x; }
  __device__ int size() const { return blockDim.x; }
  __device__ double sum(double v) const { return reduce(warp_sum(v), 0.0, false); }
  __device__ double max(double v) const { return reduce(warp_max(v), -INFINITY, true); }

 private:
  __device__ double reduce(double v, double identity, bool is_max) const {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();  // the scratch may still be read from the previous reduction
    if (lane == 0) scratch[w] = v;
    __syncthreads();
    if (w == 0) {
      double p = lane < warps ? scratch[lane] : identity;
      p = is_max ? warp_max(p) : warp_sum(p);
      if (lane == 0) scratch[0] = p;
    }
    __syncthreads();
    return scratch[0];
  }
};

}  // namespace cuttle::engine::cuda
