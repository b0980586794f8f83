// Depthwise convolution forward (engine/cuda/own_conv.h). A block computes a 32 x 32 output tile of one
// (sample, channel) plane: it stages the input window the tile reads in shared memory (zero where the
// padding is), then each of its 32 x 8 threads sums K*K products for four outputs of one column. cuDNN's
// legacy heuristics pick a generic grouped kernel for these shapes that is 1.5-1.7x slower than this.
#include <algorithm>

#include "engine/cuda/kernel_util.cuh"
#include "engine/cuda/own_conv.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

constexpr int kTileW = 32, kTileH = 32, kThreadsY = 8, kRowsPerThread = kTileH / kThreadsY;

struct DwGeometry {
  int H, W, OH, OW;
  int sh, sw, ph, pw, dh, dw;
  int in_tile_h, in_tile_w;  // the input window one output tile reads
  int tiles_w, tiles;        // output tiles per row of tiles, per plane
  int64_t planes;            // N * C
  int C;
};

template <typename T, int K>
__global__ void depthwise_fwd(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, DwGeometry g) {
  extern __shared__ unsigned char smem_raw[];
  T* tile = reinterpret_cast<T*>(smem_raw);
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTileW + tx;
  for (int64_t plane = blockIdx.y; plane < g.planes; plane += gridDim.y) {
    const int c = (int)(plane % g.C);
    T wk[K * K];
#pragma unroll
    for (int i = 0; i < K * K; ++i) wk[i] = w[c * K * K + i];
    const T* xp = x + plane * g.H * g.W;
    T* yp = y + plane * (int64_t)g.OH * g.OW;
    for (int t = blockIdx.x; t < g.tiles; t += gridDim.x) {
      const int oh0 = (t / g.tiles_w) * kTileH, ow0 = (t % g.tiles_w) * kTileW;
      const int ih0 = oh0 * g.sh - g.ph, iw0 = ow0 * g.sw - g.pw;
      __syncthreads();  // the previous tile's reads are done
      for (int i = tid; i < g.in_tile_h * g.in_tile_w; i += kTileW * kThreadsY) {
        const int r = i / g.in_tile_w, col = i - r * g.in_tile_w;
        const int ih = ih0 + r, iw = iw0 + col;
        tile[i] = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? xp[ih * g.W + iw] : T(0);
      }
      __syncthreads();
      const int ow = ow0 + tx;
#pragma unroll
      for (int q = 0; q < kRowsPerThread; ++q) {
        const int oh = oh0 + ty + q * kThreadsY;
        if (oh >= g.OH || ow >= g.OW) continue;
        const T* base = tile + (ty + q * kThreadsY) * g.sh * g.in_tile_w + tx * g.sw;
        T acc = 0;
#pragma unroll
        for (int i = 0; i < K; ++i)
#pragma unroll
          for (int j = 0; j < K; ++j) acc += wk[i * K + j] * base[i * g.dh * g.in_tile_w + j * g.dw];
        yp[oh * g.OW + ow] = acc;
      }
    }
  }
}

}  // namespace

bool depthwise_kernel_applies(const Shape& x, const Shape& w, const Conv2dParams& p) {
  const int64_t k = w[2];
  if (!(p.groups > 1 && p.groups == x[1] && w[0] == x[1] && w[1] == 1 && w[3] == k)) return false;
  if (k != 3 && k != 5 && k != 7) return false;
  // The staged window must fit in shared memory (48 KiB without opting in): at most 128 x 64 f64.
  const int64_t in_h = (kTileH - 1) * p.stride_h + (k - 1) * p.dil_h + 1;
  const int64_t in_w = (kTileW - 1) * p.stride_w + (k - 1) * p.dil_w + 1;
  return in_h * in_w <= 6144 && x[2] * x[3] < INT32_MAX;
}

void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) {
  DwGeometry g{};
  g.H = (int)x.size(2);
  g.W = (int)x.size(3);
  g.OH = (int)y.size(2);
  g.OW = (int)y.size(3);
  g.sh = (int)p.stride_h, g.sw = (int)p.stride_w, g.ph = (int)p.pad_h, g.pw = (int)p.pad_w;
  g.dh = (int)p.dil_h, g.dw = (int)p.dil_w;
  const int k = (int)w.size(2);
  g.in_tile_h = (kTileH - 1) * g.sh + (k - 1) * g.dh + 1;
  g.in_tile_w = (kTileW - 1) * g.sw + (k - 1) * g.dw + 1;
  g.tiles_w = (g.OW + kTileW - 1) / kTileW;
  g.tiles = g.tiles_w * ((g.OH + kTileH - 1) / kTileH);
  g.planes = x.size(0) * x.size(1);
  g.C = (int)x.size(1);
  const dim3 grid((unsigned)std::min(g.tiles, 65535), (unsigned)std::min<int64_t>(g.planes, 65535));
  const dim3 block(kTileW, kThreadsY);
  dispatch_float(x.dtype(), "depthwise conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const size_t smem = sizeof(T) * g.in_tile_h * g.in_tile_w;
    cudaStream_t s = stream_of(x);
    const T *px = x.data<T>(), *pw = w.data<T>();
    T* py = y.data<T>();
    switch (k) {
      case 3: depthwise_fwd<T, 3><<<grid, block, smem, s>>>(px, pw, py, g); break;
      case 5: depthwise_fwd<T, 5><<<grid, block, smem, s>>>(px, pw, py, g); break;
      default: depthwise_fwd<T, 7><<<grid, block, smem, s>>>(px, pw, py, g); break;
    }
    CUTTLE_CUDA_CHECK_LAUNCH("depthwise conv2d");
  });
}

}  // namespace cuttle::engine::cuda
