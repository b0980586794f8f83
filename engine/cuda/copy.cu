// CUDA kernels and host orchestration for copies between devices, dtype conversion and fill.
#include <algorithm>
#include <cmath>

#include "engine/cuda/copy.h"
#include "engine/cuda/kernel_util.cuh"
#include "engine/cuda/pinned_staging.h"
#include "engine/cuda/tiled_transpose.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename D, typename S>
__global__ void convert_kernel(D* dst, const S* src, int64_t n, StridedIndex<2> idx) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[2];
    idx.offsets(i, off);
    dst[off[0]] = static_cast<D>(src[off[1]]);
  }
}

template <typename T>
__global__ void fill_kernel(T* dst, int64_t n, T value, StridedIndex<1> idx) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[1];
    idx.offsets(i, off);
    dst[off[0]] = value;
  }
}

template <typename T>
struct Identity {
  __device__ T operator()(T v) const { return v; }
};

// dst <- src, both on the same GPU; src broadcasts to dst.
void device_copy(Tensor& dst, const Tensor& src) {
  CUTTLE_CHECK(dst.device() == src.device(), "copy: tensors on ", dst.device().str(), " and ", src.device().str(),
               "; copy through the host or to one device first");
  const int64_t n = dst.numel();
  if (n == 0) return;
  DeviceGuard guard(dst.device().index);
  cudaStream_t s = stream_of(dst);
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape()) {
    CUTTLE_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), n * dtype_size(dst.dtype()),
                                      cudaMemcpyDeviceToDevice, s));
    return;
  }
  const Shape ds = dst.strides(), ss = broadcast_strides_to(src, dst.shape());
  const Shape* st[2] = {&ds, &ss};
  const StridedIndex<2> idx = make_strided_index<2>(dst.shape(), st);
  TransposeShape t;
  if (dst.dtype() == src.dtype() && batched_transpose(idx, t)) {
    dispatch_all(dst.dtype(), [&](auto dt) {
      using T = typename decltype(dt)::type;
      launch_tiled_transpose(s, "copy (transpose)", static_cast<T*>(dst.raw_data()), static_cast<const T*>(src.raw_data()),
                             t, Identity<T>{});
    });
    return;
  }
  dispatch_all(dst.dtype(), [&](auto dt) {
    using D = typename decltype(dt)::type;
    dispatch_all(src.dtype(), [&](auto stag) {
      using S = typename decltype(stag)::type;
      convert_kernel<D, S><<<blocks_for(n), kThreads, 0, s>>>(static_cast<D*>(dst.raw_data()),
                                                               static_cast<const S*>(src.raw_data()), n, idx);
      CUTTLE_CUDA_CHECK_LAUNCH("copy");
    });
  });
}

}  // namespace

void copy(Tensor& dst, const Tensor& src) {
  const bool dst_gpu = dst.device().is_cuda(), src_gpu = src.device().is_cuda();
  if (dst_gpu && src_gpu) return device_copy(dst, src);
  if (dst_gpu) {
    // Host -> device: a contiguous host copy in the destination's dtype and shape (the source itself
    // when it is one), then one transfer (and a device-side scatter when the destination is strided).
    // The transfer goes through the pinned staging pool, so the host does not wait for the device
    // (every routing upload of the MoE used to drain the stream); copies too large for the pool
    // wait for their transfer, since `host` is freed on return.
    const bool direct = src.is_contiguous() && src.dtype() == dst.dtype() && src.shape() == dst.shape();
    Tensor host = direct ? src : Tensor::empty(dst.shape(), dst.dtype());
    if (!direct) host.copy_(src);
    DeviceGuard guard(dst.device().index);
    Tensor staged = dst.is_contiguous() ? dst : Tensor::empty(dst.shape(), dst.dtype(), dst.device());
    const size_t nbytes = (size_t)host.numel() * dtype_size(host.dtype());
    if (!copy_to_device_async(staged.raw_data(), host.raw_data(), nbytes, stream_of(dst))) {
      CUTTLE_CUDA_CHECK(cudaMemcpyAsync(staged.raw_data(), host.raw_data(), nbytes, cudaMemcpyHostToDevice,
                                        stream_of(dst)));
      CUTTLE_CUDA_CHECK(cudaStreamSynchronize(stream_of(dst)));
    }
    if (!staged.shares_storage(dst)) device_copy(dst, staged);
    return;
  }
  // Device -> host: make a contiguous device copy in the destination's dtype, transfer, then place.
  DeviceGuard guard(src.device().index);
  Tensor packed = src;
  if (!src.is_contiguous() || src.dtype() != dst.dtype()) {
    packed = Tensor::empty(src.shape(), dst.dtype(), src.device());
    device_copy(packed, src);
  }
  Tensor host = dst.is_contiguous() && dst.shape() == packed.shape() ? dst : Tensor::empty(packed.shape(), dst.dtype());
  CUTTLE_CUDA_CHECK(cudaMemcpyAsync(host.raw_data(), packed.raw_data(), packed.numel() * dtype_size(packed.dtype()),
                                    cudaMemcpyDeviceToHost, stream_of(src)));
  CUTTLE_CUDA_CHECK(cudaStreamSynchronize(stream_of(src)));
  if (!host.shares_storage(dst)) dst.copy_(host);
}

void fill(Tensor& t, double value) {
  const int64_t n = t.numel();
  if (n == 0) return;
  DeviceGuard guard(t.device().index);
  // +0 is all zero bytes in every dtype: a memset costs the host about a third of a kernel launch
  // (zero gradients, scatter targets).
  if (value == 0.0 && !std::signbit(value) && t.is_contiguous()) {
    CUTTLE_CUDA_CHECK(cudaMemsetAsync(t.raw_data(), 0, (size_t)n * dtype_size(t.dtype()), stream_of(t)));
    return;
  }
  const Shape st = t.strides();
  const Shape* sp[1] = {&st};
  const StridedIndex<1> idx = make_strided_index<1>(t.shape(), sp);
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(t)>>>(static_cast<T*>(t.raw_data()), n,
                                                                  static_cast<T>(value), idx);
    CUTTLE_CUDA_CHECK_LAUNCH("fill");
  });
}

}  // namespace cuttle::engine::cuda
