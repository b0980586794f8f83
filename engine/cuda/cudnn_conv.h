// Declares 2-D convolution on the GPU through cuDNN (forward, backward-data, backward-filter; NCHW,
// stride, padding, dilation, groups) and the knobs of its algorithm choice. The choice is cached on
// the full descriptor; a new shape asks cuDNN's heuristics (no benchmark, so a new MoE batch size never
// stalls a step) unless benchmarking is switched on, which runs cudnnFind once per batch-size bucket.
// Validation (shapes, dtypes, bias) happens here too: the engine op forwards before its CPU checks.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/ops/conv.h"

namespace cuttle::engine::cuda {

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p);
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape, const Conv2dParams& p);
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, const Conv2dParams& p);

// Largest cuDNN workspace an algorithm may use; algorithms that need more are skipped. By default an
// eighth of the current device's memory, at least 1 GiB; set_cudnn_workspace_limit fixes it for all.
void set_cudnn_workspace_limit(size_t bytes);
size_t cudnn_workspace_limit();
// Opt-in: rank algorithms by timing them (cudnnFind) once per shape bucket (batch size rounded up to a
// power of two, everything else exact) instead of by heuristics. Off by default.
void set_cudnn_benchmark(bool on);
bool cudnn_benchmark();
// Only algorithms cuDNN reports deterministic (off by default; a few backward algorithms use atomics).
void set_cudnn_deterministic(bool on);
bool cudnn_deterministic();

struct CudnnConvStats {
  int64_t heuristic_queries = 0;  // shapes chosen by cudnnGet*Algorithm_v7
  int64_t find_runs = 0;          // cudnnFind*AlgorithmEx calls (benchmark mode only)
  int64_t fallbacks = 0;          // times an algorithm was passed over at run time (workspace or support)
  int64_t cache_entries = 0;      // descriptors with a cached choice
};
CudnnConvStats cudnn_conv_stats();
// Forgets every cached choice. TF32 and determinism are part of the cache key; a lower workspace cap
// filters cached lists at once, while a higher cap, and benchmark mode, apply to shapes not cached yet
// (or after this call).
void clear_cudnn_algorithm_cache();

}  // namespace cuttle::engine::cuda
