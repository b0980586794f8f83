// Convolution as im2col + cuBLAS GEMM (engine/cuda/gemm_conv.h). For a chunk of nb samples the column
// matrix col [C*kh*kw, nb*P] (P = OH*OW output pixels) holds, in row (c, i, j) and column (n, oh, ow),
// the input pixel that kernel tap (i, j) of channel c sees for output (oh, ow) of sample n (0 in the
// padding). Then, row-major:
//   forward         y2 [O, nb*P]  = w [O, CKK] col             -> y  = y2 with its first two axes swapped
//   backward input  dcol          = w^T dy2 (dy2 = dy swapped) -> dx = col2im(dcol), a gather per pixel
//   backward weight dw           += dy2 col^T
// cuBLAS is column-major: a row-major [R, S] matrix is its column-major [S, R] with leading dimension S.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine/cuda/cublas.h"
#include "engine/cuda/gemm_conv.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

// Scratch for one chunk's column matrix (and its gradient): enough for a batch of the MoE's deep-scale
// shapes in one GEMM, small next to the activations of a training step.
constexpr int64_t kDefaultColumnCap = int64_t(256) << 20;
std::atomic<int64_t> g_column_cap{kDefaultColumnCap};

std::atomic<int> g_enabled{-1};  // -1: not decided yet (environment)

// Batch x output pixels (the GEMM's N) up to which the GEMM beats cuDNN (docs/PERFORMANCE.md): 1536
// on the H200 of 2026-12-05 (605 columns 1.2x faster, 1936 even); 484 since the forwards of wide inputs
// run as cuDNN backward-data (conv_form.h), against which cuDNN won every direction of the
// MoE's s4 sub-batches (605-726 columns) on an H100. CUTTLE_GEMM_CONV_COLUMNS overrides it.
int64_t max_columns() {
  static const int64_t v = [] {
    const char* env = std::getenv("CUTTLE_GEMM_CONV_COLUMNS");
    return env && std::atoll(env) > 0 ? (int64_t)std::atoll(env) : kGemmConvMaxColumns;
  }();
  return v;
}

struct ConvGeom {
  int C, H, W, O, kh, kw, OH, OW, sh, sw, ph, pw, dh, dw;
  __host__ __device__ int P() const { return OH * OW; }
  __host__ __device__ int CKK() const { return C * kh * kw; }
};

ConvGeom make_geom(const Shape& x, const Shape& w, const Conv2dParams& p) {
  const Shape y = conv2d_output_shape(x, w, p);
  return {(int)x[1], (int)x[2],   (int)x[3],   (int)w[0],   (int)w[2],   (int)w[3],   (int)y[2],
          (int)y[3], (int)p.stride_h, (int)p.stride_w, (int)p.pad_h, (int)p.pad_w, (int)p.dil_h, (int)p.dil_w};
}

// col [CKK, nb*P] from samples [n0, n0 + nb) of x [N, C, H, W]; consecutive threads walk output pixels,
// so the writes coalesce.
template <typename T>
__global__ void im2col_kernel(const T* x, T* col, ConvGeom g, int nb) {
  const int P = g.P(), cols = nb * P;
  CUTTLE_KERNEL_LOOP(e, (int64_t)g.CKK() * cols) {
    const int row = (int)(e / cols), cidx = (int)(e - (int64_t)row * cols);
    const int n = cidx / P, pix = cidx - n * P, oh = pix / g.OW, ow = pix - oh * g.OW;
    const int c = row / (g.kh * g.kw), tap = row - c * g.kh * g.kw, i = tap / g.kw, j = tap - i * g.kw;
    const int h = oh * g.sh - g.ph + i * g.dh, w = ow * g.sw - g.pw + j * g.dw;
    col[e] = (h >= 0 && h < g.H && w >= 0 && w < g.W) ? x[(((int64_t)n * g.C + c) * g.H + h) * g.W + w] : T(0);
  }
}

// dx for samples [n0, n0 + nb) from dcol [CKK, nb*P]: each input pixel sums the taps that saw it, in tap
// order (a gather: no atomics, deterministic).
template <typename T>
__global__ void col2im_kernel(const T* dcol, T* dx, ConvGeom g, int nb) {
  const int P = g.P(), cols = nb * P;
  CUTTLE_KERNEL_LOOP(e, (int64_t)nb * g.C * g.H * g.W) {
    const int w = (int)(e % g.W), h = (int)(e / g.W % g.H), c = (int)(e / ((int64_t)g.W * g.H) % g.C),
              n = (int)(e / ((int64_t)g.W * g.H * g.C));
    T acc = 0;
    for (int i = 0; i < g.kh; ++i) {
      const int th = h + g.ph - i * g.dh;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
      const int oh = th / g.sh;
      for (int j = 0; j < g.kw; ++j) {
        const int tw = w + g.pw - j * g.dw;
        if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
        acc += dcol[(int64_t)((c * g.kh + i) * g.kw + j) * cols + n * P + oh * g.OW + tw / g.sw];
      }
    }
    dx[e] = acc;
  }
}

// out [B, A, P] = in [A, B, P] with the first two axes swapped; runs of P stay contiguous both sides.
template <typename T>
__global__ void swap_leading_kernel(const T* in, T* out, int A, int B, int P) {
  CUTTLE_KERNEL_LOOP(e, (int64_t)A * B * P) {
    const int p = (int)(e % P), a = (int)(e / P % A), b = (int)(e / ((int64_t)P * A));
    out[e] = in[((int64_t)a * B + b) * P + p];
  }
}

template <typename T>
void swap_leading(const T* in, T* out, int A, int B, int P, cudaStream_t s) {
  swap_leading_kernel<T><<<blocks_for((int64_t)A * B * P), kThreads, 0, s>>>(in, out, A, B, P);
  CUTTLE_CUDA_CHECK_LAUNCH("gemm_conv swap_leading");
}

// Samples per chunk so that the column matrix stays within the cap (at least one: applies() checked it).
int chunk_samples(const ConvGeom& g, int64_t batch, DType dt) {
  const int64_t per = (int64_t)g.CKK() * g.P() * (int64_t)dtype_size(dt);
  return (int)std::max<int64_t>(1, std::min<int64_t>(batch, gemm_conv_column_cap() / per));
}

template <typename T>
void im2col(const T* x, T* col, const ConvGeom& g, int nb, cudaStream_t s) {
  im2col_kernel<T><<<blocks_for((int64_t)g.CKK() * nb * g.P()), kThreads, 0, s>>>(x, col, g, nb);
  CUTTLE_CUDA_CHECK_LAUNCH("gemm_conv im2col");
}

}  // namespace

void set_gemm_conv_column_cap(int64_t bytes) { g_column_cap = bytes > 0 ? bytes : kDefaultColumnCap; }
int64_t gemm_conv_column_cap() { return g_column_cap; }

void set_gemm_conv(bool on) { g_enabled = on ? 1 : 0; }

bool gemm_conv_enabled() {
  int v = g_enabled.load();
  if (v < 0) {
    const char* env = std::getenv("CUTTLE_GEMM_CONV");
    v = (env && std::strcmp(env, "0") == 0) ? 0 : 1;
    g_enabled = v;
  }
  return v == 1;
}

bool gemm_conv_applies(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt) {
  if (!gemm_conv_enabled() || p.groups != 1 || (dt != DType::f32 && dt != DType::f64)) return false;
  if (x.size() != 4 || w.size() != 4 || w[2] * w[3] <= 1) return false;
  const Shape y = conv2d_output_shape(x, w, p);
  const int64_t P = y[2] * y[3], CKK = x[1] * w[2] * w[3];
  if (P > kGemmConvMaxPixels || x[0] * P > max_columns() || CKK < kGemmConvMinReduction) return false;
  // 32-bit element indexing inside the kernels: one sample's tensors and a chunk's column matrix.
  return CKK * P * (int64_t)dtype_size(dt) <= kDefaultColumnCap && x[1] * x[2] * x[3] <= INT32_MAX &&
         y[1] * P <= INT32_MAX && w[0] <= INT32_MAX;
}

void gemm_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) {
  const ConvGeom g = make_geom(x.shape(), w.shape(), p);
  const int64_t N = x.size(0);
  const int device = x.device().index;
  const cudaStream_t s = stream_of(x);
  const int chunk = chunk_samples(g, N, x.dtype());
  dispatch_float(x.dtype(), "gemm_conv2d_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor col = Tensor::empty({(int64_t)g.CKK() * chunk * g.P()}, x.dtype(), x.device());
    Tensor y2 = Tensor::empty({(int64_t)g.O * chunk * g.P()}, x.dtype(), x.device());
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
      const int nb = (int)std::min<int64_t>(chunk, N - n0), cols = nb * g.P();
      im2col(x.data<T>() + n0 * g.C * g.H * g.W, col.data<T>(), g, nb, s);
      // Row-major y2 [O, cols] = w [O, CKK] col [CKK, cols]; column-major y2^T = col^T w^T.
      gemm(device, x.dtype(), false, false, cols, g.O, g.CKK(), col.raw_data(), cols, w.raw_data(), g.CKK(),
           y2.raw_data(), cols, 0.0);
      swap_leading(y2.data<T>(), y.data<T>() + n0 * g.O * g.P(), g.O, nb, g.P(), s);
    }
  });
}

void gemm_conv2d_backward_input(const Tensor& grad_out, const Tensor& w, Tensor& gx, const Conv2dParams& p) {
  const ConvGeom g = make_geom(gx.shape(), w.shape(), p);
  const int64_t N = gx.size(0);
  const int device = w.device().index;
  const cudaStream_t s = stream_of(w);
  const int chunk = chunk_samples(g, N, w.dtype());
  dispatch_float(w.dtype(), "gemm_conv2d_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor dcol = Tensor::empty({(int64_t)g.CKK() * chunk * g.P()}, w.dtype(), w.device());
    Tensor dy2 = Tensor::empty({(int64_t)g.O * chunk * g.P()}, w.dtype(), w.device());
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
      const int nb = (int)std::min<int64_t>(chunk, N - n0), cols = nb * g.P();
      swap_leading(grad_out.data<T>() + n0 * g.O * g.P(), dy2.data<T>(), nb, g.O, g.P(), s);
      // Row-major dcol [CKK, cols] = w^T [CKK, O] dy2 [O, cols]; column-major dcol^T = dy2^T w, where w
      // read column-major is w^T [CKK, O] (ld CKK), hence the transpose.
      gemm(device, w.dtype(), false, true, cols, g.CKK(), g.O, dy2.raw_data(), cols, w.raw_data(), g.CKK(),
           dcol.raw_data(), cols, 0.0);
      col2im_kernel<T><<<blocks_for((int64_t)nb * g.C * g.H * g.W), kThreads, 0, s>>>(
          dcol.data<T>(), gx.data<T>() + n0 * g.C * g.H * g.W, g, nb);
      CUTTLE_CUDA_CHECK_LAUNCH("gemm_conv col2im");
    }
  });
}

void gemm_conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, Tensor& gw, const Conv2dParams& p) {
  const ConvGeom g = make_geom(x.shape(), gw.shape(), p);
  const int64_t N = x.size(0);
  const int device = x.device().index;
  const cudaStream_t s = stream_of(x);
  const int chunk = chunk_samples(g, N, x.dtype());
  dispatch_float(x.dtype(), "gemm_conv2d_backward_weight", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor col = Tensor::empty({(int64_t)g.CKK() * chunk * g.P()}, x.dtype(), x.device());
    Tensor dy2 = Tensor::empty({(int64_t)g.O * chunk * g.P()}, x.dtype(), x.device());
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
      const int nb = (int)std::min<int64_t>(chunk, N - n0), cols = nb * g.P();
      im2col(x.data<T>() + n0 * g.C * g.H * g.W, col.data<T>(), g, nb, s);
      swap_leading(grad_out.data<T>() + n0 * g.O * g.P(), dy2.data<T>(), nb, g.O, g.P(), s);
      // Row-major dw [O, CKK] (+)= dy2 [O, cols] col^T [cols, CKK]; column-major dw^T = col dy2^T, where
      // col read column-major is col^T (ld cols), hence the transpose.
      gemm(device, x.dtype(), true, false, g.CKK(), g.O, cols, col.raw_data(), cols, dy2.raw_data(), cols,
           gw.raw_data(), g.CKK(), n0 == 0 ? 0.0 : 1.0);
    }
  });
}

}  // namespace cuttle::engine::cuda
