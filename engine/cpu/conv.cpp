// CPU kernels of 2-D convolution (engine/ops/conv.h): im2col + GEMM per sample and group, direct
// kernels for depthwise convolution, and a copy-free path for 1x1 convolutions.
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "engine/cpu/conv_depthwise.h"
#include "engine/cpu/conv_geometry.h"
#include "engine/cpu/cpu_only.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/lane_sum.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/conv_bias.h"
#include "engine/cuda/cudnn_conv.h"
#endif
#include "engine/conv_log.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/parallel.h"

namespace cuttle::engine {

using cpu::ConvGeom;
using cpu::valid_range;

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  CUTTLE_CHECK(x.size() == 4, "conv2d: input must be [N,C,H,W], got ", shape_str(x));
  CUTTLE_CHECK(w.size() == 4, "conv2d: weight must be [O,C/groups,kh,kw], got ", shape_str(w));
  CUTTLE_CHECK(p.stride_h >= 1 && p.stride_w >= 1 && p.dil_h >= 1 && p.dil_w >= 1 && p.pad_h >= 0 &&
                   p.pad_w >= 0 && p.groups >= 1,
               "conv2d: invalid parameters stride (", p.stride_h, ",", p.stride_w, ") padding (", p.pad_h, ",",
               p.pad_w, ") dilation (", p.dil_h, ",", p.dil_w, ") groups ", p.groups);
  CUTTLE_CHECK(x[1] % p.groups == 0 && w[0] % p.groups == 0, "conv2d: groups ", p.groups,
               " must divide the input channels (", x[1], ") and the output channels (", w[0], ")");
  CUTTLE_CHECK(w[1] * p.groups == x[1], "conv2d: input ", shape_str(x), " has ", x[1], " channels, weight ",
               shape_str(w), " expects ", w[1] * p.groups, " (groups ", p.groups, ")");
  const int64_t oh = (x[2] + 2 * p.pad_h - p.dil_h * (w[2] - 1) - 1) / p.stride_h + 1;
  const int64_t ow = (x[3] + 2 * p.pad_w - p.dil_w * (w[3] - 1) - 1) / p.stride_w + 1;
  CUTTLE_CHECK(w[2] >= 1 && w[3] >= 1 && x[2] + 2 * p.pad_h >= p.dil_h * (w[2] - 1) + 1 &&
                   x[3] + 2 * p.pad_w >= p.dil_w * (w[3] - 1) + 1,
               "conv2d: kernel ", w[2], "x", w[3], " (dilation ", p.dil_h, ",", p.dil_w,
               ") is larger than the padded input ", shape_str(x), " (padding ", p.pad_h, ",", p.pad_w, ")");
  return {x[0], w[0], oh, ow};
}

namespace {

int64_t row_grain(int64_t row_len) { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, row_len)); }

// A band of output rows [oh0, oh1): the unit of the GEMM paths. Its im2col block holds K x cols()
// elements with leading dimension cols().
struct Band {
  int64_t oh0, oh1;
  int64_t cols(const ConvGeom& g) const { return (oh1 - oh0) * g.OW; }
  int64_t first(const ConvGeom& g) const { return oh0 * g.OW; }  // offset of its first output pixel
};

// col[K x band] of one group of one sample; `x` points at the group's first channel. Threaded over
// rows when `threaded` (a single image); inside the by-sample split it runs on the calling thread.
template <typename T>
void im2col(const T* x, const ConvGeom& g, Band band, T* col, bool threaded) {
  const int64_t taps = g.kh * g.kw, ld = band.cols(g);
  parallel_for(0, g.K, threaded ? row_grain(ld) : g.K, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / taps, ki = r % taps / g.kw, kj = r % g.kw;
      const int64_t row_off = ki * g.dh - g.ph, col_off = kj * g.dw - g.pw;
      int64_t ow0, ow1;
      valid_range(col_off, g.sw, g.W, g.OW, ow0, ow1);
      const T* xc = x + c * g.H * g.W;
      for (int64_t oh = band.oh0; oh < band.oh1; ++oh) {
        T* out = col + r * ld + (oh - band.oh0) * g.OW;
        const int64_t ih = oh * g.sh + row_off;
        if (ih < 0 || ih >= g.H) {
          std::fill(out, out + g.OW, T(0));
          continue;
        }
        const T* xr = xc + ih * g.W + col_off;
        std::fill(out, out + ow0, T(0));
        if (g.sw == 1) std::copy(xr + ow0, xr + ow1, out + ow0);  // contiguous: a memcpy
        else
          for (int64_t ow = ow0; ow < ow1; ++ow) out[ow] = xr[ow * g.sw];
        std::fill(out + ow1, out + g.OW, T(0));
      }
    }
  });
}

// Adds col[K x band] into the group's input channels (which the caller zeroed); threaded over
// channels like im2col.
template <typename T>
void col2im_add(const T* col, const ConvGeom& g, Band band, T* x, bool threaded) {
  const int64_t taps = g.kh * g.kw, ld = band.cols(g);
  parallel_for(0, g.Cg, threaded ? row_grain(ld * taps) : g.Cg, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* xc = x + c * g.H * g.W;
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t ki = t / g.kw, kj = t % g.kw;
        const int64_t row_off = ki * g.dh - g.ph, col_off = kj * g.dw - g.pw;
        int64_t oh0, oh1, ow0, ow1;
        valid_range(row_off, g.sh, g.H, g.OH, oh0, oh1);
        valid_range(col_off, g.sw, g.W, g.OW, ow0, ow1);
        oh0 = std::max(oh0, band.oh0);
        oh1 = std::min(oh1, band.oh1);
        const T* cr = col + (c * taps + t) * ld;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          T* xr = xc + (oh * g.sh + row_off) * g.W + col_off;
          const T* in = cr + (oh - band.oh0) * g.OW;
          if (g.sw == 1)
            for (int64_t ow = ow0; ow < ow1; ++ow) xr[ow] += in[ow];
          else
            for (int64_t ow = ow0; ow < ow1; ++ow) xr[ow * g.sw] += in[ow];
        }
      }
    }
  });
}

// C (+)= op(A) op(B) for the GEMM paths below: tiled over the threads, or as one single-threaded
// product on the calling thread.
template <typename T>
void conv_gemm(bool tiled, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
               const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  if (tiled) cpu::gemm<T>(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  else cpu::gemm_tile<T>(m, n, k, {a, lda, trans_a}, {b, ldb, trans_b}, c, ldc, accumulate);
}

// Work split of the GEMM paths. A batch gives each thread whole samples: one parallel region per
// convolution, and each sample is cut into bands of output rows whose im2col block (about
// kBandElements) stays in the thread's L2 cache between being written and being multiplied; the
// whole-image column matrix of a 16-channel 3x3 convolution at 128x128 is 9 MB. A single image
// (inference) has no samples to share, so its GEMMs are tiled over the threads, on one band. Both
// splits depend on the shapes alone, never on the thread count, so results are bit-identical for any
// number of threads.
bool split_by_sample(const ConvGeom& g) { return g.N >= 2; }
constexpr int64_t kBandElements = 96 * 1024;

std::vector<Band> bands_of(const ConvGeom& g, bool tiled) {
  if (tiled || g.is_pointwise()) return {{0, g.OH}};
  const int64_t rows = std::clamp<int64_t>(kBandElements / std::max<int64_t>(1, g.K * g.OW), 1, g.OH);
  std::vector<Band> b;
  for (int64_t r = 0; r < g.OH; r += rows) b.push_back({r, std::min(g.OH, r + rows)});
  return b;
}

// A scratch buffer of the calling thread; not zeroed (every element is written before it is read).
template <typename T>
struct Scratch {
  std::unique_ptr<T[]> data;
  explicit Scratch(int64_t n) : data(n > 0 ? new T[(size_t)n] : nullptr) {}
};

int64_t scratch_size(const ConvGeom& g, const std::vector<Band>& bands) {
  if (g.is_pointwise()) return 0;
  int64_t most = 0;
  for (const Band& b : bands) most = std::max(most, b.cols(g));
  return g.K * most;
}

// Calls sample(n, col, tiled, bands) for every sample n, with a column buffer of the calling thread
// sized for the bands (computed once per convolution).
template <typename T, typename Fn>
void for_each_sample(const ConvGeom& g, const Fn& sample) {
  cpu::disable_eigen_threads();
  const bool tiled = !split_by_sample(g);
  const std::vector<Band> bands = bands_of(g, tiled);
  const int64_t size = scratch_size(g, bands);
  if (tiled) {
    Scratch<T> col(size);
    for (int64_t n = 0; n < g.N; ++n) sample(n, col.data.get(), true, bands);
    return;
  }
  parallel_for(0, g.N, 1, [&](int64_t n0, int64_t n1) {
    Scratch<T> col(size);
    for (int64_t n = n0; n < n1; ++n) sample(n, col.data.get(), false, bands);
  });
}

// The column block of sample n, group gr, band b, as (pointer, leading dimension): the input itself
// for a pointwise convolution, else its im2col in `col`.
template <typename T>
std::pair<const T*, int64_t> columns(const T* x, int64_t n, int64_t gr, Band b, const ConvGeom& g, T* col,
                                     bool threaded) {
  const T* xg = x + (n * g.C + gr * g.Cg) * g.H * g.W;
  if (g.is_pointwise()) return {xg + b.first(g), g.P};
  im2col(xg, g, b, col, threaded);
  return {col, b.cols(g)};
}

template <typename T>
void forward_gemm(const T* x, const T* w, const T* b, T* y, const ConvGeom& g) {
  for_each_sample<T>(g, [&](int64_t n, T* col, bool tiled, const std::vector<Band>& bands) {
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      T* yg = y + (n * g.O + gr * g.Og) * g.P;
      if (b)
        for (int64_t o = 0; o < g.Og; ++o) std::fill(yg + o * g.P, yg + (o + 1) * g.P, b[gr * g.Og + o]);
      const T* wg = w + gr * g.Og * g.K;
      for (const Band& band : bands) {
        const auto [cols, ld] = columns(x, n, gr, band, g, col, tiled);
        conv_gemm<T>(tiled, false, false, g.Og, band.cols(g), g.K, wg, g.K, cols, ld, yg + band.first(g), g.P,
                     b != nullptr);
      }
    }
  });
}

template <typename T>
void backward_input_gemm(const T* gy, const T* w, T* gx, const ConvGeom& g) {
  for_each_sample<T>(g, [&](int64_t n, T* col, bool tiled, const std::vector<Band>& bands) {
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      T* gxg = gx + (n * g.C + gr * g.Cg) * g.H * g.W;
      const T* wg = w + gr * g.Og * g.K;
      const T* gyg = gy + (n * g.O + gr * g.Og) * g.P;
      if (g.is_pointwise()) {  // gx_g [K x P] = W_g^T [K x Og] * gy_g [Og x P], in place
        conv_gemm<T>(tiled, true, false, g.K, g.P, g.Og, wg, g.K, gyg, g.P, gxg, g.P, false);
        continue;
      }
      std::fill(gxg, gxg + g.Cg * g.H * g.W, T(0));
      for (const Band& band : bands) {
        const int64_t cols = band.cols(g);
        conv_gemm<T>(tiled, true, false, g.K, cols, g.Og, wg, g.K, gyg + band.first(g), g.P, col, cols, false);
        col2im_add(col, g, band, gxg, tiled);
      }
    }
  });
}

// The weight gradient sums over samples. By sample, the batch is cut into a fixed number of parts
// (a function of N only); each part accumulates its samples into its own partial gradient, and the
// partials are added in part order, so the summation order never depends on the thread count.
constexpr int64_t kWeightGradParts = 8;

template <typename T>
void backward_weight_gemm(const T* gy, const T* x, T* gw, const ConvGeom& g) {
  cpu::disable_eigen_threads();
  // gw_g [Og x K] += gy_g [Og x band] * cols^T [band x K] for sample n, into out (all groups, [O x K]).
  auto sample = [&](int64_t n, T* col, T* out, bool tiled, const std::vector<Band>& bands) {
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      const T* gyg = gy + (n * g.O + gr * g.Og) * g.P;
      T* og = out + gr * g.Og * g.K;
      for (const Band& band : bands) {
        const auto [cols, ld] = columns(x, n, gr, band, g, col, tiled);
        conv_gemm<T>(tiled, false, true, g.Og, g.K, band.cols(g), gyg + band.first(g), g.P, cols, ld, og, g.K, true);
      }
    }
  };
  const int64_t wsize = g.O * g.K;
  std::fill(gw, gw + wsize, T(0));
  const bool tiled = !split_by_sample(g);
  const std::vector<Band> bands = bands_of(g, tiled);
  const int64_t size = scratch_size(g, bands);
  if (tiled) {
    Scratch<T> col(size);
    for (int64_t n = 0; n < g.N; ++n) sample(n, col.data.get(), gw, true, bands);
    return;
  }
  const int64_t parts = std::min(g.N, kWeightGradParts);
  std::vector<T> partial((parts - 1) * wsize, T(0));  // part 0 accumulates into gw itself
  parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    Scratch<T> col(size);
    for (int64_t part = p0; part < p1; ++part) {
      T* out = part == 0 ? gw : partial.data() + (part - 1) * wsize;
      for (int64_t n = g.N * part / parts; n < g.N * (part + 1) / parts; ++n) sample(n, col.data.get(), out, false, bands);
    }
  });
  for (int64_t part = 1; part < parts; ++part) {
    const T* src = partial.data() + (part - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) gw[i] += src[i];
  }
}

void check_grad_out(const char* op, const Tensor& grad_out, const Shape& want) {
  CUTTLE_CHECK(grad_out.shape() == want, op, ": grad_out ", shape_str(grad_out.shape()), " does not match the ",
               "convolution's output ", shape_str(want));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  note_conv({ConvPass::forward, x.shape(), w.shape(), p, bias.defined(), x.dtype()});
  CUTTLE_ROUTE_CUDA("conv2d", cuda::conv2d(x, w, bias, p), x, w, bias);
  cpu::require_cpu("conv2d", x, w);
  cpu::require_same_dtype("conv2d", x, w);
  const ConvGeom g(x.shape(), w.shape(), p);
  if (bias.defined()) {
    cpu::require_cpu("conv2d", bias);
    cpu::require_same_dtype("conv2d", x, bias);
    CUTTLE_CHECK(bias.dim() == 1 && bias.size(0) == g.O, "conv2d: bias ", shape_str(bias.shape()), " must be [",
                 g.O, "] for weight ", shape_str(w.shape()));
  }
  Tensor out = Tensor::empty(conv2d_output_shape(x.shape(), w.shape(), p), x.dtype());
  const Tensor xc = x.contiguous(), wc = w.contiguous(), bc = bias.defined() ? bias.contiguous() : Tensor();
  dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* b = bc.defined() ? bc.data<T>() : nullptr;
    if (g.is_depthwise()) cpu::depthwise_forward<T>(xc.data<T>(), wc.data<T>(), b, out.data<T>(), g);
    else forward_gemm<T>(xc.data<T>(), wc.data<T>(), b, out.data<T>(), g);
  });
  return out;
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  note_conv({ConvPass::backward_input, x_shape, w.shape(), p, false, w.dtype()});
  CUTTLE_ROUTE_CUDA("conv2d_backward_input", cuda::conv2d_backward_input(grad_out, w, x_shape, p), grad_out, w);
  cpu::require_cpu("conv2d_backward_input", grad_out, w);
  cpu::require_same_dtype("conv2d_backward_input", grad_out, w);
  const ConvGeom g(x_shape, w.shape(), p);
  check_grad_out("conv2d_backward_input", grad_out, conv2d_output_shape(x_shape, w.shape(), p));
  Tensor gx = Tensor::empty(x_shape, w.dtype());
  const Tensor gyc = grad_out.contiguous(), wc = w.contiguous();
  dispatch_float(w.dtype(), "conv2d_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (g.is_depthwise()) cpu::depthwise_backward_input<T>(gyc.data<T>(), wc.data<T>(), gx.data<T>(), g);
    else backward_input_gemm<T>(gyc.data<T>(), wc.data<T>(), gx.data<T>(), g);
  });
  return gx;
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, const Conv2dParams& p) {
  note_conv({ConvPass::backward_weight, x.shape(), w_shape, p, false, x.dtype()});
  CUTTLE_ROUTE_CUDA("conv2d_backward_weight", cuda::conv2d_backward_weight(grad_out, x, w_shape, p), grad_out, x);
  cpu::require_cpu("conv2d_backward_weight", grad_out, x);
  cpu::require_same_dtype("conv2d_backward_weight", grad_out, x);
  const ConvGeom g(x.shape(), w_shape, p);
  check_grad_out("conv2d_backward_weight", grad_out, conv2d_output_shape(x.shape(), w_shape, p));
  Tensor gw = Tensor::empty(w_shape, x.dtype());
  const Tensor gyc = grad_out.contiguous(), xc = x.contiguous();
  dispatch_float(x.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (g.is_depthwise()) cpu::depthwise_backward_weight<T>(gyc.data<T>(), xc.data<T>(), gw.data<T>(), g);
    else backward_weight_gemm<T>(gyc.data<T>(), xc.data<T>(), gw.data<T>(), g);
  });
  return gw;
}

Tensor conv2d_backward_bias(const Tensor& grad_out) {
  CUTTLE_ROUTE_CUDA("conv2d_backward_bias", cuda::channel_sum(grad_out), grad_out);
  cpu::require_cpu("conv2d_backward_bias", grad_out);
  CUTTLE_CHECK(grad_out.dim() == 4, "conv2d_backward_bias: grad_out must be [N,O,OH,OW], got ",
               shape_str(grad_out.shape()));
  const int64_t N = grad_out.size(0), O = grad_out.size(1), P = grad_out.size(2) * grad_out.size(3);
  Tensor gb = Tensor::empty({O}, grad_out.dtype());
  const Tensor gyc = grad_out.contiguous();
  dispatch_float(grad_out.dtype(), "conv2d_backward_bias", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* gy = gyc.data<T>();
    T* out = gb.data<T>();
    parallel_for(0, O, row_grain(N * P), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        // Double accumulation: a channel sums N*H*W values (1.2 M at 88x88, batch 16), where an f32
        // running sum loses ~1e-5 relative; the CUDA kernel sums in double too, so both agree.
        double acc = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* r = gy + (n * O + o) * P;
          acc += cpu::lane_sum(P, [&](int64_t i) { return r[i]; });
        }
        out[o] = (T)acc;
      }
    });
  });
  return gb;
}

}  // namespace cuttle::engine
