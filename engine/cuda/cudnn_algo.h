// Declares the convolution algorithm choice behind cudnn_conv.cpp: the cache key (the full descriptor:
// device, direction, dtype, shapes, stride, padding, dilation, groups, math mode, determinism), the
// candidate list (algorithms best first with their workspace sizes, all within the workspace cap), and
// how a list is made: cuDNN's heuristics by default, a one-time cudnnFind per batch-size bucket in
// benchmark mode. The caller runs the candidates in order and falls back to the next when one cannot
// get its workspace or is not supported.
#pragma once
#include <array>
#include <functional>
#include <vector>

#include "engine/cuda/cudnn_descriptors.h"

namespace cuttle::engine::cuda {

enum class ConvKind { forward, backward_data, backward_filter };

using ConvKey = std::array<int64_t, 20>;
ConvKey make_conv_key(ConvKind kind, int device, DType dt, const Shape& x, const Shape& w, const Conv2dParams& p);
// The key with its batch size rounded up to a power of two: shapes that share one timed choice (the
// MoE's expert batch sizes change every step; timing each would stall the steps that meet them).
ConvKey conv_bucket_key(const ConvKey& key);

// An algorithm with the math type cuDNN reported for it (set on the descriptor before its workspace
// query and its run, as cuDNN 7.4+ wants) and the workspace it needs.
struct ConvCandidate {
  int algo;
  cudnnMathType_t math;
  size_t workspace;
};

// One result of a cuDNN query, whatever the direction.
struct ConvPerf {
  int algo;
  cudnnStatus_t status;
  cudnnDeterminism_t determinism;
  cudnnMathType_t math;
};
// Runs cudnnFind*AlgorithmEx with the given workspace and returns its results, fastest first.
using ConvFindFn = std::function<std::vector<ConvPerf>(void* workspace, size_t bytes)>;

// The algorithms to try for `key` (cached after the first call).
std::vector<ConvCandidate> conv_candidates(ConvKind kind, cudnnHandle_t h, const ConvDescriptors& d,
                                           const ConvKey& key, DType dt, const ConvFindFn& find);
// Removes an algorithm cuDNN refused to run from the cached list.
void drop_conv_candidate(const ConvKey& key, const ConvCandidate& cand);
void note_conv_fallback();

}  // namespace cuttle::engine::cuda
