#include "engine/cuda/cudnn_algo.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "engine/cuda/cublas.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/runtime.h"

namespace cuttle::engine::cuda {

namespace {

constexpr size_t kAutoLimit = ~size_t(0);
std::atomic<size_t> g_workspace_limit{kAutoLimit};
std::atomic<bool> g_benchmark{false};
std::atomic<bool> g_deterministic{false};

struct Cache {
  std::mutex mu;
  std::map<ConvKey, std::vector<ConvCandidate>> exact;
  std::map<ConvKey, std::vector<ConvPerf>> bucket_ranking;  // benchmark mode: cudnnFind's order per bucket
  CudnnConvStats stats;
};
Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: convolutions may run during exit
  return *c;
}

template <typename PerfT>
std::vector<ConvPerf> to_perfs(const std::vector<PerfT>& r, int n) {
  std::vector<ConvPerf> out;
  for (int i = 0; i < n; ++i) out.push_back({(int)r[i].algo, r[i].status, r[i].determinism, r[i].mathType});
  return out;
}

std::vector<ConvPerf> heuristics(ConvKind kind, cudnnHandle_t h, const ConvDescriptors& d) {
  int max = 0, got = 0;
  switch (kind) {
    case ConvKind::forward: {
      CUTTLE_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> r(std::max(max, 1));
      CUTTLE_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, max, &got, r.data()));
      return to_perfs(r, got);
    }
    case ConvKind::backward_data: {
      CUTTLE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> r(std::max(max, 1));
      CUTTLE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, max, &got, r.data()));
      return to_perfs(r, got);
    }
    case ConvKind::backward_filter: {
      CUTTLE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> r(std::max(max, 1));
      CUTTLE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, max, &got, r.data()));
      return to_perfs(r, got);
    }
  }
  return {};
}

// Workspace bytes `algo` needs under math type `math`, or false when cuDNN cannot run it on these
// descriptors.
bool workspace_size(ConvKind kind, cudnnHandle_t h, const ConvDescriptors& d, int algo, cudnnMathType_t math,
                    size_t& bytes) {
  if (cudnnSetConvolutionMathType(d.conv, math) != CUDNN_STATUS_SUCCESS) return false;
  cudnnStatus_t st = CUDNN_STATUS_NOT_SUPPORTED;
  switch (kind) {
    case ConvKind::forward:
      st = cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, (cudnnConvolutionFwdAlgo_t)algo, &bytes);
      break;
    case ConvKind::backward_data:
      st = cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, (cudnnConvolutionBwdDataAlgo_t)algo,
                                                        &bytes);
      break;
    case ConvKind::backward_filter:
      st = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w,
                                                          (cudnnConvolutionBwdFilterAlgo_t)algo, &bytes);
      break;
  }
  return st == CUDNN_STATUS_SUCCESS;
}

int algo_count(ConvKind kind) {
  switch (kind) {
    case ConvKind::forward: return CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    case ConvKind::backward_data: return CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    case ConvKind::backward_filter: return CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  }
  return 0;
}

// The last resort appended to every list: a deterministic implicit-GEMM-style algorithm that needs
// little or no workspace and supports every geometry.
int safe_algo(ConvKind kind) {
  switch (kind) {
    case ConvKind::forward: return CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    case ConvKind::backward_data: return CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    case ConvKind::backward_filter: return CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
  }
  return 0;
}

bool is_tensor_op(cudnnMathType_t m) { return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION; }

// Keeps, in order, the usable results: run status success, no tensor-op math for f32 without TF32,
// deterministic when asked, each algorithm once, workspace within the cap.
std::vector<ConvCandidate> usable(ConvKind kind, cudnnHandle_t h, const ConvDescriptors& d, DType dt,
                                  const std::vector<ConvPerf>& perfs) {
  const bool tf32 = allow_tf32(), det = g_deterministic.load();
  const size_t limit = cudnn_workspace_limit();
  // f32 without TF32 runs every algorithm under FMA math, whatever the query said.
  const bool fma_only = dt == DType::f32 && !tf32;
  std::vector<ConvCandidate> out;
  auto add = [&](int algo, cudnnMathType_t math) {
    if (fma_only) math = CUDNN_FMA_MATH;
    for (const ConvCandidate& c : out)
      if (c.algo == algo && c.math == math) return;
    size_t bytes = 0;
    if (workspace_size(kind, h, d, algo, math, bytes) && bytes <= limit) out.push_back({algo, math, bytes});
  };
  for (const ConvPerf& p : perfs) {
    if (p.status != CUDNN_STATUS_SUCCESS) continue;
    if (fma_only && is_tensor_op(p.math)) continue;
    if (det && p.determinism != CUDNN_DETERMINISTIC) continue;
    add(p.algo, p.math);
  }
  add(safe_algo(kind), cudnn_math(dt, tf32));
  return out;
}

// Benchmark mode, first shape of a bucket: time every algorithm once with a workspace as large as the
// largest any of them needs (within the cap) and return cudnnFind's order.
std::vector<ConvPerf> find_ranking(ConvKind kind, cudnnHandle_t h, const ConvDescriptors& d, DType dt, Device dev,
                                   const ConvFindFn& find) {
  const cudnnMathType_t math = cudnn_math(dt, allow_tf32());
  size_t ws_bytes = 0;
  for (int a = 0; a < algo_count(kind); ++a) {
    size_t b = 0;
    if (workspace_size(kind, h, d, a, math, b) && b <= cudnn_workspace_limit()) ws_bytes = std::max(ws_bytes, b);
  }
  CUTTLE_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, math));  // cudnnFind searches under the switch's math
  Tensor ws;
  try {
    if (ws_bytes > 0) ws = Tensor::empty({(int64_t)ws_bytes}, DType::u8, dev);
  } catch (const Error&) {
    return {};  // no memory to benchmark with: the heuristics decide
  }
  std::vector<ConvPerf> found;
  try {
    found = find(ws.defined() ? ws.raw_data() : nullptr, ws_bytes);
  } catch (const Error&) {
    return {};  // cudnnFind failed (it allocates too): the heuristics decide
  }
  std::vector<ConvPerf> ranking;
  for (const ConvCandidate& c : usable(kind, h, d, dt, found))
    ranking.push_back({c.algo, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, c.math});
  return ranking;
}

int64_t next_pow2(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

void set_cudnn_workspace_limit(size_t bytes) { g_workspace_limit = bytes; }
size_t cudnn_workspace_limit() {
  const size_t set = g_workspace_limit.load();
  if (set != kAutoLimit) return set;
  // An eighth of the current device's memory, at least 1 GiB: the workspace is transient and the
  // allocator releases its cache before failing. The fast backward-filter engines at full resolution
  // (non-fused Winograd at 352x352, batch 16) need several GiB, which a fixed 1 GiB cap turned away.
  static std::mutex mu;
  static std::map<int, size_t> per_device;
  const int device = current_device();
  std::lock_guard<std::mutex> lock(mu);
  auto it = per_device.find(device);
  if (it == per_device.end())
    it = per_device.emplace(device, std::max<size_t>(size_t(1) << 30, device_info(device).total_memory / 8)).first;
  return it->second;
}
void set_cudnn_benchmark(bool on) { g_benchmark = on; }
bool cudnn_benchmark() { return g_benchmark; }
void set_cudnn_deterministic(bool on) { g_deterministic = on; }
bool cudnn_deterministic() { return g_deterministic; }

CudnnConvStats cudnn_conv_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  CudnnConvStats s = c.stats;
  s.cache_entries = (int64_t)c.exact.size();
  return s;
}

void clear_cudnn_algorithm_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.exact.clear();
  c.bucket_ranking.clear();
}

ConvKey make_conv_key(ConvKind kind, int device, DType dt, const Shape& x, const Shape& w, const Conv2dParams& p) {
  // The workspace cap is not part of the key: a list made under a larger cap is filtered again below.
  return {(int64_t)kind, device, (int64_t)dt, x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3],
          p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.groups,
          (int64_t)(dt == DType::f32 && allow_tf32()), (int64_t)g_deterministic.load()};
}

ConvKey conv_bucket_key(const ConvKey& key) {
  ConvKey bucket = key;
  bucket[3] = next_pow2(key[3]);  // the batch size
  return bucket;
}

std::vector<ConvCandidate> conv_candidates(ConvKind kind, cudnnHandle_t h, const ConvDescriptors& d,
                                           const ConvKey& key, DType dt, const ConvFindFn& find) {
  Cache& c = cache();
  std::vector<ConvCandidate> list;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.exact.find(key);
    if (it != c.exact.end()) list = it->second;
  }
  if (list.empty()) {
    if (g_benchmark.load()) {
      const ConvKey bucket = conv_bucket_key(key);
      std::vector<ConvPerf> ranking;
      bool known = false;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        auto it = c.bucket_ranking.find(bucket);
        if ((known = it != c.bucket_ranking.end())) ranking = it->second;
      }
      if (!known) {
        ranking = find_ranking(kind, h, d, dt, Device::cuda((int)key[1]), find);
        std::lock_guard<std::mutex> lock(c.mu);
        ++c.stats.find_runs;
        c.bucket_ranking[bucket] = ranking;
      }
      list = usable(kind, h, d, dt, ranking);  // workspace sizes of this exact shape
    }
    if (list.size() <= 1) {  // no benchmark, or it found nothing: heuristics
      CUTTLE_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, cudnn_math(dt, allow_tf32())));
      list = usable(kind, h, d, dt, heuristics(kind, h, d));
      std::lock_guard<std::mutex> lock(c.mu);
      ++c.stats.heuristic_queries;
    }
    std::lock_guard<std::mutex> lock(c.mu);
    c.exact[key] = list;
  }
  // The cap may have been lowered since the list was made.
  const size_t limit = g_workspace_limit.load();
  list.erase(std::remove_if(list.begin(), list.end(), [&](const ConvCandidate& x) { return x.workspace > limit; }),
             list.end());
  return list;
}

void drop_conv_candidate(const ConvKey& key, const ConvCandidate& cand) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.exact.find(key);
  if (it == c.exact.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const ConvCandidate& x) { return x.algo == cand.algo && x.math == cand.math; }),
          v.end());
}

void note_conv_fallback() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  ++c.stats.fallbacks;
}

}  // namespace cuttle::engine::cuda
