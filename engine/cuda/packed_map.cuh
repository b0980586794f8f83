// Defines launch_packed_map: out[i] = fn(in0[i], in1[i], ...) over contiguous operands of n elements,
// each thread moving a pack of up to 16 bytes per operand (one 128-bit load or store for f32) when
// every pointer is aligned to its pack, element by element otherwise. The element-wise kernels are
// bandwidth-bound; wide accesses are what bring them to the copy bandwidth.
#pragma once
#include <algorithm>
#include <cstdint>

#include "engine/cuda/kernel_util.cuh"

namespace cuttle::engine::cuda {

template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <typename TO, int V, typename Fn, typename... P>
__device__ inline void apply_pack(Pack<TO, V>& out, const Fn& fn, const P&... in) {
#pragma unroll
  for (int k = 0; k < V; ++k) out.v[k] = fn(in.v[k]...);
}

template <int V, typename TO, typename Fn, typename... TI>
__global__ void packed_map_kernel(TO* out, int64_t n, Fn fn, const TI*... in) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t first = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int64_t packs = n / V;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<TO, V> o;
    apply_pack(o, fn, reinterpret_cast<const Pack<TI, V>*>(in)[p]...);
    reinterpret_cast<Pack<TO, V>*>(out)[p] = o;
  }
  for (int64_t i = packs * V + first; i < n; i += stride) out[i] = fn(in[i]...);  // the tail
}

inline bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

template <typename TO, typename Fn, typename... TI>
void launch_packed_map(cudaStream_t s, const char* name, TO* out, int64_t n, const Fn& fn, const TI*... in) {
  if (n <= 0) return;
  constexpr size_t widest = std::max({sizeof(TO), sizeof(TI)...});
  constexpr int V = widest >= 16 ? 1 : int(16 / widest);
  const bool aligned = aligned_to(out, sizeof(TO) * V) && (aligned_to(in, sizeof(TI) * V) && ...);
  if (V > 1 && aligned) packed_map_kernel<V><<<blocks_for((n + V - 1) / V), kThreads, 0, s>>>(out, n, fn, in...);
  else packed_map_kernel<1><<<blocks_for(n), kThreads, 0, s>>>(out, n, fn, in...);
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

}  // namespace cuttle::engine::cuda
