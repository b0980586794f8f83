// CUDA LayerNorm2d (engine/cuda/norm.h): normalisation over C at every pixel of NCHW, read in place
// (no permute copies). A block takes tiles of 32 neighbouring pixels of one sample (coalesced along
// W) with 8 row lanes splitting the channels; per-pixel sums meet in shared memory in a fixed order.
// The backward is one pass: it writes the input gradient and, in the same sweep, adds each channel's
// weight/bias contribution of the tile (a fixed warp tree) into the block's own row of partials, which
// a fixed tree over blocks finishes. The grid is a function of the shape only, so results are
// identical on every run and GPU.
#include <cmath>

#include "engine/cuda/channel_kernels.cuh"
#include "engine/cuda/norm.h"
#include "engine/cuda/norm_checks.h"
#include "engine/cuda/warp_reduce.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

constexpr int kTile = 32;   // pixels per tile (one warp's lanes)
constexpr int kLanes = 8;   // channel lanes per block
constexpr int64_t kMaxBackwardBlocks = 1024;

struct Ln2dGeom {
  int64_t N, C, HW, tiles_per_sample, tiles;
  explicit Ln2dGeom(const Shape& x)
      : N(x[0]), C(x[1]), HW(x[2] * x[3]), tiles_per_sample((HW + kTile - 1) / kTile), tiles(N * tiles_per_sample) {}
};

template <typename T>
__global__ void forward_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* invstd, Ln2dGeom g, double eps) {
  __shared__ double s1[kLanes][kTile], s2[kLanes][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t tile = blockIdx.x; tile < g.tiles; tile += gridDim.x) {
    const int64_t n = tile / g.tiles_per_sample, p = tile % g.tiles_per_sample * kTile + tx;
    const bool valid = p < g.HW;
    const int64_t base = n * g.C * g.HW + p;
    const double k = valid ? (double)x[base] : 0.0;  // shift: the pixel's channel 0
    double a1 = 0, a2 = 0;
    if (valid)
      for (int64_t c = ty; c < g.C; c += kLanes) {
        const double d = (double)x[base + c * g.HW] - k;
        a1 += d;
        a2 += d * d;
      }
    s1[ty][tx] = a1;
    s2[ty][tx] = a2;
    __syncthreads();
    double t1 = 0, t2 = 0;
    for (int q = 0; q < kLanes; ++q) {
      t1 += s1[q][tx];
      t2 += s2[q][tx];
    }
    const double dm = t1 / g.C;
    double var = t2 / g.C - dm * dm;
    if (var < 0) var = 0;
    const T m = (T)(k + dm), s = (T)(1.0 / sqrt(var + eps));
    if (valid) {
      if (ty == 0) {
        mean[n * g.HW + p] = m;
        invstd[n * g.HW + p] = s;
      }
      for (int64_t c = ty; c < g.C; c += kLanes)
        y[base + c * g.HW] = (x[base + c * g.HW] - m) * s * (w ? w[c] : T(1)) + (b ? b[c] : T(0));
    }
    __syncthreads();  // s1/s2 are rewritten by the next tile
  }
}

// gx (optional): invstd (g w - mean_c(g w) - xhat mean_c(g w xhat)).
// partials (optional): [2][gridDim.x][C], zeroed; block b adds its tiles' sum(g xhat), sum(g) per channel.
template <typename T>
__global__ void backward_kernel(const T* g, const T* x, const T* w, const T* mean, const T* invstd, T* gx,
                                double* partials, Ln2dGeom geo) {
  __shared__ double sa[kLanes][kTile], sb[kLanes][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  double* pw = partials ? partials + blockIdx.x * geo.C : nullptr;
  double* pb = partials ? partials + ((int64_t)gridDim.x + blockIdx.x) * geo.C : nullptr;
  for (int64_t tile = blockIdx.x; tile < geo.tiles; tile += gridDim.x) {
    const int64_t n = tile / geo.tiles_per_sample, p = tile % geo.tiles_per_sample * kTile + tx;
    const bool valid = p < geo.HW;
    const int64_t base = n * geo.C * geo.HW + p;
    const double m = valid ? (double)mean[n * geo.HW + p] : 0.0, s = valid ? (double)invstd[n * geo.HW + p] : 0.0;
    double a = 0, bb = 0;
    if (gx) {
      if (valid)
        for (int64_t c = ty; c < geo.C; c += kLanes) {
          const double gw = (double)g[base + c * geo.HW] * (w ? (double)w[c] : 1.0);
          a += gw;
          bb += gw * ((double)x[base + c * geo.HW] - m) * s;
        }
      sa[ty][tx] = a;
      sb[ty][tx] = bb;
      __syncthreads();
      a = 0;
      bb = 0;
      for (int q = 0; q < kLanes; ++q) {
        a += sa[q][tx];
        bb += sb[q][tx];
      }
      a /= geo.C;
      bb /= geo.C;
      __syncthreads();
    }
    for (int64_t c = ty; c < geo.C; c += kLanes) {  // uniform across the warp: the shuffles below are safe
      double gv = 0, xh = 0;
      if (valid) {
        gv = (double)g[base + c * geo.HW];
        xh = ((double)x[base + c * geo.HW] - m) * s;
        if (gx) gx[base + c * geo.HW] = (T)(s * (gv * (w ? (double)w[c] : 1.0) - a - xh * bb));
      }
      if (partials) {
        const double vw = warp_sum_to_lane0(gv * xh), vb = warp_sum_to_lane0(gv);
        if (tx == 0) {  // this block's row, this warp's channel: no other writer
          pw[c] += vw;
          pb[c] += vb;
        }
      }
    }
  }
}

template <typename T>
struct ParamFin {
  T* gw;
  T* gb;
  __device__ void operator()(int64_t c, const double* sums) const {
    if (gw) gw[c] = (T)sums[0];
    if (gb) gb[c] = (T)sums[1];
  }
};

void check_stats(const char* op, const Tensor& mean, const Tensor& invstd, const Tensor& x, int64_t count) {
  CUTTLE_CHECK(mean.defined() && invstd.defined() && mean.numel() == count && invstd.numel() == count &&
                   mean.dtype() == x.dtype() && invstd.dtype() == x.dtype(),
               op, ": saved statistics do not fit input ", shape_str(x.shape()));
}

}  // namespace

LayerNormResult layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "layer_norm2d";
  check_norm_input(op, x);
  CUTTLE_CHECK(x.dim() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x.shape()));
  const Ln2dGeom g(x.shape());
  check_norm_param(op, "weight", weight, x, g.C);
  check_norm_param(op, "bias", bias, x, g.C);
  const Device dev = x.device();
  DeviceGuard guard(dev.index);
  LayerNormResult r{Tensor::empty(x.shape(), x.dtype(), dev), Tensor::empty({g.N, x.size(2), x.size(3)}, x.dtype(), dev),
                    Tensor::empty({g.N, x.size(2), x.size(3)}, x.dtype(), dev)};
  if (g.tiles == 0) return r;
  if (g.C == 0) {  // statistics of nothing, as the CPU computes them (0 / 0)
    r.mean.fill_(NAN);
    r.invstd.fill_(NAN);
    return r;
  }
  const Tensor xc = x.contiguous(), wc = contiguous_or_none(weight), bc = contiguous_or_none(bias);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int grid = (int)std::min<int64_t>(g.tiles, 1 << 20);
    forward_kernel<T><<<grid, dim3(kTile, kLanes), 0, stream_of(x)>>>(xc.data<T>(), ptr_or_null<T>(wc), ptr_or_null<T>(bc),
                                                                   r.output.data<T>(), r.mean.data<T>(),
                                                                   r.invstd.data<T>(), g, eps);
    CUTTLE_CUDA_CHECK_LAUNCH(op);
  });
  return r;
}

NormGrads layer_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                const Tensor& invstd, NormNeeds needs) {
  const char* op = "layer_norm2d_backward";
  check_norm_input(op, x);
  CUTTLE_CHECK(x.dim() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x.shape()));
  check_grad_like(op, grad_out, x);
  const Ln2dGeom geo(x.shape());
  check_norm_param(op, "weight", weight, x, geo.C);
  check_stats(op, mean, invstd, x, geo.N * geo.HW);
  const Device dev = x.device();
  DeviceGuard guard(dev.index);
  NormGrads r;
  if (needs[0]) r.input = Tensor::empty(x.shape(), x.dtype(), dev);
  if (needs[1] && weight.defined()) r.weight = Tensor::empty({geo.C}, x.dtype(), dev);
  if (needs[2]) r.bias = Tensor::empty({geo.C}, x.dtype(), dev);
  const bool params = r.weight.defined() || r.bias.defined();
  if (geo.C == 0) return r;
  if (geo.tiles == 0) {
    if (r.weight.defined()) r.weight.zero_();
    if (r.bias.defined()) r.bias.zero_();
    return r;
  }
  if (!r.input.defined() && !params) return r;
  const Tensor xc = x.contiguous(), gc = grad_out.contiguous(), mc = mean.contiguous(), ic = invstd.contiguous(),
               wc = contiguous_or_none(weight);
  cudaStream_t st = stream_of(x);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t blocks = std::min<int64_t>(geo.tiles, kMaxBackwardBlocks);
    Tensor partials;
    if (params) {
      partials = Tensor::empty({2 * blocks * geo.C}, DType::f64, dev);
      partials.zero_();
    }
    backward_kernel<T><<<(int)blocks, dim3(kTile, kLanes), 0, st>>>(
        gc.data<T>(), xc.data<T>(), ptr_or_null<T>(wc), mc.data<T>(), ic.data<T>(), ptr_or_null<T>(r.input),
        params ? partials.data<double>() : nullptr, geo);
    CUTTLE_CUDA_CHECK_LAUNCH(op);
    if (!params) return;
    channel_finish_kernel<2><<<(int)std::min<int64_t>(geo.C, 65535), kThreads, 0, st>>>(
        partials.data<double>(), geo.C, blocks, 1, geo.C, blocks * geo.C,
        ParamFin<T>{ptr_or_null<T>(r.weight), ptr_or_null<T>(r.bias)});
    CUTTLE_CUDA_CHECK_LAUNCH(op);
  });
  return r;
}

}  // namespace cuttle::engine::cuda
