// Per-channel kernels of convolution (engine/cuda/conv_bias.h).
#include "engine/cuda/channel_kernels.cuh"
#include "engine/cuda/conv_bias.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

// V values per thread (rows of S/V packs) when every row starts on a pack boundary.
template <typename T, int V>
__global__ void add_bias_kernel(T* y, const T* b, int64_t rows, int64_t C, int64_t S) {
  CUTTLE_ROW_LOOP(row, s, rows, S / V) {
    const T bias = b[row % C];
    Pack<T, V>* p = reinterpret_cast<Pack<T, V>*>(y + row * S) + s;
    Pack<T, V> v = *p;
#pragma unroll
    for (int k = 0; k < V; ++k) v.v[k] += bias;
    *p = v;
  }
}

template <typename T>
struct SumFn {
  const T* g;
  __device__ void operator()(int64_t, int64_t, int64_t, int64_t i, double* acc) const { acc[0] += (double)g[i]; }
};
template <typename T>
struct StoreFn {
  T* out;
  __device__ void operator()(int64_t c, const double* sums) const { out[c] = (T)sums[0]; }
};

int64_t inner_size(const Tensor& t) {
  int64_t S = 1;
  for (int64_t d = 2; d < t.dim(); ++d) S *= t.size(d);
  return S;
}

}  // namespace

void add_channel_bias_(Tensor& y, const Tensor& bias) {
  CUTTLE_CHECK(y.is_contiguous() && y.dim() >= 2 && bias.numel() == y.size(1), "add_channel_bias_: bias ", bias.str(),
               " does not fit ", y.str());
  const int64_t C = y.size(1), S = inner_size(y), rows = y.size(0) * C;
  if (y.numel() == 0) return;
  DeviceGuard guard(y.device().index);
  const Tensor b = bias.contiguous();
  dispatch_float(y.dtype(), "conv2d bias", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* py = y.data<T>();
    launch_row_packs<T>(rows, S, {py}, [&](auto pack, const RowGrid& g) {
      add_bias_kernel<T, decltype(pack)::value><<<g.grid, g.block, 0, stream_of(y)>>>(py, b.data<T>(), rows, C, S);
    });
    CUTTLE_CUDA_CHECK_LAUNCH("conv2d bias");
  });
}

Tensor channel_sum(const Tensor& grad) {
  CUTTLE_CHECK(grad.dim() >= 2, "conv2d_backward_bias: grad_out must be [N, C, ...], got ", grad.str());
  const Tensor g = grad.contiguous();
  const int64_t N = g.size(0), C = g.size(1), S = inner_size(g);
  Tensor out = Tensor::empty({C}, g.dtype(), g.device());
  if (C == 0) return out;
  DeviceGuard guard(g.device().index);
  if (N * S == 0) {
    out.zero_();
    return out;
  }
  dispatch_float(g.dtype(), "conv2d_backward_bias", [&](auto tag) {
    using T = typename decltype(tag)::type;
    channel_reduce<1>(ChannelPlan(N, C, S), SumFn<T>{g.data<T>()}, StoreFn<T>{out.data<T>()}, g.device(), stream_of(g),
                      "conv2d_backward_bias");
  });
  return out;
}

}  // namespace cuttle::engine::cuda
