// The one-launch concatenation (engine/cuda/concat.h): blockIdx.y picks the input, a grid-stride loop
// over its [outer, len] elements writes them at the input's offset inside each output row.
#include <algorithm>

#include "engine/cuda/concat.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T>
struct ConcatArgs {
  const T* src[kMaxConcatInputs];
  int64_t len[kMaxConcatInputs];  // elements per output row from this input (its axis size x inner)
  int64_t off[kMaxConcatInputs];  // where they start in the row
};

template <typename T>
__global__ void concat_kernel(ConcatArgs<T> a, T* __restrict__ out, int64_t outer, int64_t row) {
  const int i = blockIdx.y;
  const int64_t len = a.len[i], n = outer * len;
  const T* __restrict__ src = a.src[i];
  for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = idx / len, r = idx - o * len;
    out[o * row + a.off[i] + r] = src[idx];
  }
}

}  // namespace

bool concat_fits(const std::vector<Tensor>& xs) {
  if (xs.empty() || (int)xs.size() > kMaxConcatInputs) return false;
  for (const Tensor& t : xs)
    if (!t.is_contiguous()) return false;
  return true;
}

void concat_into(const std::vector<Tensor>& xs, int axis, Tensor& out) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= out.size(d);
  for (int d = axis + 1; d < out.dim(); ++d) inner *= out.size(d);
  const int64_t row = out.size(axis) * inner;
  if (outer * row == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    ConcatArgs<T> a{};
    int64_t at = 0, most = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      a.src[i] = xs[i].data<T>();
      a.len[i] = xs[i].size(axis) * inner;
      a.off[i] = at;
      at += a.len[i];
      most = std::max(most, outer * a.len[i]);
    }
    const dim3 grid((unsigned)blocks_for(most), (unsigned)xs.size());
    concat_kernel<T><<<grid, kThreads, 0, stream_of(out)>>>(a, out.data<T>(), outer, row);
    CUTTLE_CUDA_CHECK_LAUNCH("concat");
  });
}

}  // namespace cuttle::engine::cuda
