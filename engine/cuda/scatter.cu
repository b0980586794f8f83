// Index range check and deterministic scatter-add (engine/cuda/scatter.h). The scatter-add sorts
// (target, position) pairs with CUB's stable radix sort, so each target's contributions form one run
// in their original order; the first thread of a run folds it onto the target serially.
#include <algorithm>

#include <cub/device/device_radix_sort.cuh>

#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/scatter.h"
#include "engine/ops/index.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename I>
__global__ void first_bad_index(const I* idx, int64_t n, int64_t size, unsigned long long* first) {
  CUTTLE_KERNEL_LOOP(i, n) {
    const int64_t v = (int64_t)idx[i];
    if (v < 0 || v >= size) atomicMin(first, (unsigned long long)i);
  }
}

__global__ void iota_kernel(int64_t* p, int64_t n) {
  CUTTLE_KERNEL_LOOP(i, n) p[i] = i;
}

template <typename T>
__global__ void sum_runs(T* out, const unsigned long long* keys, const int64_t* pos, const T* vals, int64_t n) {
  CUTTLE_KERNEL_LOOP(i, n) {
    const unsigned long long k = keys[i];
    if (i > 0 && keys[i - 1] == k) continue;  // not the head of its run
    T acc = out[k];
    for (int64_t j = i; j < n && keys[j] == k; ++j) acc = (T)(acc + vals[pos[j]]);
    out[k] = acc;
  }
}

// Bits needed for keys in [0, n).
int key_bits(int64_t n) {
  int b = 1;
  while (b < 63 && (int64_t(1) << b) < n) ++b;
  return b;
}

}  // namespace

void check_index_range(const char* op, const Tensor& idx, int64_t size, const std::string& where) {
  CUTTLE_CHECK(idx.dtype() == DType::i64 || idx.dtype() == DType::i32, op, ": indices must be i64 or i32, got ",
               idx.str());
  const int64_t n = idx.numel();
  if (n == 0 || IndicesVouched::active()) return;  // the caller built them in range: no round trip
  DeviceGuard guard(idx.device().index);
  cudaStream_t s = stream_of(idx);
  const Tensor ic = idx.contiguous();
  Tensor first = Tensor::empty({1}, DType::i64, idx.device());
  CUTTLE_CUDA_CHECK(cudaMemsetAsync(first.raw_data(), 0xff, sizeof(unsigned long long), s));
  auto* pf = static_cast<unsigned long long*>(first.raw_data());
  if (ic.dtype() == DType::i64) first_bad_index<<<blocks_for(n), kThreads, 0, s>>>(ic.data<int64_t>(), n, size, pf);
  else first_bad_index<<<blocks_for(n), kThreads, 0, s>>>(ic.data<int32_t>(), n, size, pf);
  CUTTLE_CUDA_CHECK_LAUNCH("index range check");
  unsigned long long bad = 0;
  CUTTLE_CUDA_CHECK(cudaMemcpyAsync(&bad, pf, sizeof(bad), cudaMemcpyDeviceToHost, s));
  CUTTLE_CUDA_CHECK(cudaStreamSynchronize(s));
  if (bad == ~0ull) return;
  const int64_t value = ic.reshape({n}).slice(0, (int64_t)bad, (int64_t)bad + 1).to(Device::cpu()).to(DType::i64).item<int64_t>();
  CUTTLE_FAIL(op, ": index ", value, " is out of range for ", where, " of size ", size);
}

SortedKeys stable_sort_keys(const Tensor& keys, int64_t key_bound) {
  CUTTLE_CHECK(keys.is_contiguous() && keys.dtype() == DType::i64, "stable_sort_keys: keys ", keys.str(),
               " must be contiguous i64");
  const int64_t n = keys.numel();
  const Device dev = keys.device();
  SortedKeys r{Tensor::empty({n}, DType::i64, dev), Tensor::empty({n}, DType::i64, dev)};
  if (n == 0) return r;
  DeviceGuard guard(dev.index);
  cudaStream_t s = stream_of(keys);
  Tensor pos = Tensor::empty({n}, DType::i64, dev);
  iota_kernel<<<blocks_for(n), kThreads, 0, s>>>(pos.data<int64_t>(), n);
  CUTTLE_CUDA_CHECK_LAUNCH("sort positions");
  // Keys are non-negative, so sorting them as unsigned and only over their significant bits is exact.
  auto* k_in = static_cast<const unsigned long long*>(keys.raw_data());
  auto* k_out = static_cast<unsigned long long*>(r.keys.raw_data());
  const int64_t* p_in = pos.data<int64_t>();
  int64_t* p_out = r.positions.data<int64_t>();
  const int bits = key_bits(key_bound);
  size_t temp_bytes = 0;
  CUTTLE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, k_in, k_out, p_in, p_out, n, 0, bits, s));
  Tensor temp = Tensor::empty({(int64_t)std::max<size_t>(temp_bytes, 1)}, DType::u8, dev);
  CUTTLE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.raw_data(), temp_bytes, k_in, k_out, p_in, p_out, n, 0, bits, s));
  return r;
}

void scatter_add_sorted(Tensor& out, const Tensor& keys, const Tensor& vals) {
  const int64_t n = keys.numel();
  CUTTLE_CHECK(out.is_contiguous() && keys.is_contiguous() && vals.is_contiguous() && keys.dtype() == DType::i64 &&
                   vals.numel() == n && vals.dtype() == out.dtype(),
               "scatter_add_sorted: bad operands ", out.str(), ", ", keys.str(), ", ", vals.str());
  if (n == 0 || out.numel() == 0) return;
  DeviceGuard guard(out.device().index);
  const SortedKeys sk = stable_sort_keys(keys, out.numel());
  auto* k = static_cast<const unsigned long long*>(sk.keys.raw_data());
  dispatch_numeric(out.dtype(), "scatter_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sum_runs<T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(out.data<T>(), k, sk.positions.data<int64_t>(),
                                                                vals.data<T>(), n);
    CUTTLE_CUDA_CHECK_LAUNCH("scatter-add runs");
  });
}

}  // namespace cuttle::engine::cuda
