// Declares convolution through cuDNN's graph (backend) API, the path PyTorch takes: one operation graph
// per convolution, cuDNN's heuristics (mode A) rank the engine configurations, and the first that builds
// an execution plan within the workspace cap and the math rules (no down-converting engines, tensor
// cores for f32 only with TF32, deterministic ones only when asked, no FFT engines for 3x3 kernels) runs; opt-in, the first use of a
// shape times the first few and keeps the fastest (set_cudnn_plan_search). The legacy API's algorithms
// do not reach the engines that beat it on the 3x3 shapes of docs/PERFORMANCE.md. The default;
// set_cudnn_graph_api(false) returns to the legacy API. Plans are cached on the full descriptor and
// pointer alignment; CUTTLE_CUDNN_LOG=1 prints each plan's engines and workspace as it is built.
#pragma once
#include <cstddef>

#include "engine/cuda/cudnn_algo.h"

namespace cuttle::engine::cuda {

void set_cudnn_graph_api(bool on);
bool cudnn_graph_api();
// How many of the heuristics' qualifying engine configurations the first use of a shape times (twice
// each, on its own buffers) before settling on the fastest. Default 1: the heuristics' first choice,
// no timing. 4 finds faster engines for fixed shapes (a 7x7 64->16 forward 3.4x faster). The timing runs
// once per batch-size bucket (conv_bucket_key): a later shape of the bucket takes the bucket's winning
// engine when its own candidates include it, so the MoE's changing expert batch sizes do not keep
// stalling steps. Deterministic mode takes the first choice (timing noise must not change the numbers).
void set_cudnn_plan_search(int candidates);
int cudnn_plan_search();
// Timed searches run so far (one per bucket and plan kind, plus shapes whose candidates lack the
// bucket's engine).
int64_t cudnn_plan_searches();
// Convolutions run through a graph-API plan so far (the rest went to the legacy path).
int64_t cudnn_graph_runs();
// Variant packs (the per-call descriptor of the data pointers) built so far: a plan keeps the pack of
// its latest run and builds one only when a pointer changed.
int64_t cudnn_variant_packs_built();

// Runs one convolution of `kind` on contiguous NCHW tensors x [xs], w [ws], y [ys]: forward writes y
// from x and w; backward data writes x (the input gradient) from y (the output gradient) and w; backward
// filter writes w = beta * w + the filter gradient from x and y. Returns false, having run nothing, when
// no engine configuration qualifies (the caller falls back to the legacy path).
bool graph_conv(ConvKind kind, int device, DType dt, const Shape& xs, const Shape& ws, const Shape& ys,
                const Conv2dParams& p, void* x, void* w, void* y, double beta);

}  // namespace cuttle::engine::cuda
