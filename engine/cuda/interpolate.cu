// CUDA bilinear resize and its backward (engine/cuda/interpolate.h). Taps are computed in double
// exactly as the CPU's make_taps (rounded multiplies and adds, so no fused multiply-add moves a tap),
// once per axis position into small tables the resize kernels read; upsampling by exactly 2 (the
// decoder's case) computes its four fixed weights in place instead, forward and (f32) backward.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "engine/cuda/interpolate.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/packed_map.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

// One axis: `in` source cells sampled at `out` positions.
struct Axis {
  int64_t in, out;
  double scale;
  bool align_corners;
};
Axis make_axis(int64_t in, int64_t out, bool align_corners) {
  const double scale = align_corners ? (out > 1 ? double(in - 1) / double(out - 1) : 0.0) : double(in) / double(out);
  return {in, out, scale, align_corners};
}

// Lower tap of output d and the weight of the upper tap (the lower one gets 1 - lambda).
__device__ inline int64_t tap(const Axis& a, int64_t d, double& lambda) {
  double src = a.align_corners ? __dmul_rn((double)d, a.scale) : __dadd_rn(__dmul_rn(d + 0.5, a.scale), -0.5);
  if (src < 0) src = 0;
  const int64_t i0 = min((int64_t)floor(src), a.in - 1);
  lambda = src - (double)i0;
  return i0;
}
__device__ inline int64_t tap0(const Axis& a, int64_t d) {
  double unused;
  return tap(a, d, unused);
}

// Output positions whose taps include input cell c: the lower tap is c - 1 or c, a contiguous range
// since taps never decrease. Returns [lo, hi).
__device__ inline void sampling(const Axis& a, int64_t c, int64_t& lo, int64_t& hi) {
  int64_t l = 0, h = a.out;  // first d with tap0(d) >= c - 1
  while (l < h) {
    const int64_t m = (l + h) / 2;
    if (tap0(a, m) >= c - 1) h = m;
    else l = m + 1;
  }
  lo = l;
  hi = l;
  while (hi < a.out && tap0(a, hi) <= c) ++hi;
}

// Per-axis tables, made once per call by make_tables so the resize kernels do no double arithmetic
// and no searches: for each output d its lower tap and the upper tap's weight, for each input cell c
// the range [lo, hi) of outputs that read it.
template <typename T>
struct AxisTable {
  int in, out;
  int* tap;  // written by make_tables, read by the resize kernels
  T* lambda;
  int* lo;
  int* hi;
  // Weight with which output d reads input cell c (0 when it does not).
  __device__ T weight(int d, int c) const {
    const int i0 = tap[d], i1 = min(i0 + 1, in - 1);
    const T lam = lambda[d];
    return (i0 == c ? T(1) - lam : T(0)) + (i1 == c ? lam : T(0));
  }
};

template <typename T>
__global__ void make_tables(Axis ah, Axis aw, AxisTable<T> th, AxisTable<T> tw) {
  const int64_t total = ah.out + aw.out + ah.in + aw.in;
  CUTTLE_KERNEL_LOOP(i, total) {
    int64_t k = i;
    const bool is_h = k < ah.out || (k >= ah.out + aw.out && k < ah.out + aw.out + ah.in);
    const Axis& a = is_h ? ah : aw;
    const AxisTable<T>& t = is_h ? th : tw;
    if (k < ah.out + aw.out) {
      const int64_t d = is_h ? k : k - ah.out;
      double l;
      t.tap[d] = (int)tap(a, d, l);
      t.lambda[d] = (T)l;
    } else {
      k -= ah.out + aw.out;
      const int64_t c = is_h ? k : k - ah.in;
      int64_t lo, hi;
      sampling(a, c, lo, hi);
      t.lo[c] = (int)lo;
      t.hi[c] = (int)hi;
    }
  }
}

// Both axes' tables in one device buffer.
template <typename T>
struct Tables {
  Tensor buffer;
  AxisTable<T> h, w;
};
template <typename T>
Tables<T> build_tables(const Axis& ah, const Axis& aw, Device device, cudaStream_t s) {
  CUTTLE_CHECK(ah.in * aw.in < INT32_MAX && ah.out * aw.out < INT32_MAX,
               "resize_bilinear: planes of 2^31 cells or more are not supported on CUDA");
  Tables<T> t;
  // lambdas [out_h | out_w] first (alignment), then ints [tap_h | tap_w | lo_h | hi_h | lo_w | hi_w].
  const int64_t nl = ah.out + aw.out, ni = nl + 2 * (ah.in + aw.in);
  t.buffer = Tensor::empty({(int64_t)(nl * sizeof(T) + ni * sizeof(int))}, DType::u8, device);
  T* lam = reinterpret_cast<T*>(t.buffer.raw_data());
  int* ints = reinterpret_cast<int*>(lam + nl);
  int* ranges = ints + nl;
  t.h = {(int)ah.in, (int)ah.out, ints, lam, ranges, ranges + ah.in};
  t.w = {(int)aw.in, (int)aw.out, ints + ah.out, lam + ah.out, ranges + 2 * ah.in, ranges + 2 * ah.in + aw.in};
  make_tables<T><<<grid_for(nl + ah.in + aw.in, kThreads), kThreads, 0, s>>>(ah, aw, t.h, t.w);
  CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear tables");
  return t;
}

// Grid: x over a plane's cells, y over planes (both loop).
inline dim3 plane_grid(int64_t cells, int64_t planes) {
  return dim3((unsigned)grid_for(cells, kThreads), (unsigned)std::min<int64_t>(std::max<int64_t>(planes, 1), 65535));
}

// V consecutive outputs of one row per thread (OW a multiple of V): the row's taps are read once and
// the V results leave in one wide store.
template <typename T, int V>
__global__ void resize_fwd(const T* x, T* y, int64_t planes, AxisTable<T> th, AxisTable<T> tw) {
  const int cells = th.out * tw.out, groups = cells / V;
  for (int64_t pl = blockIdx.y; pl < planes; pl += gridDim.y) {
    const T* xp = x + pl * th.in * tw.in;
    T* yp = y + pl * cells;
    for (int q = blockIdx.x * blockDim.x + threadIdx.x; q < groups; q += gridDim.x * blockDim.x) {
      const int r = q * V, oh = r / tw.out, ow0 = r - oh * tw.out;
      const int h0 = th.tap[oh], h1 = min(h0 + 1, th.in - 1);
      const T lh = th.lambda[oh];
      const T* r0 = xp + h0 * tw.in;
      const T* r1 = xp + h1 * tw.in;
      Pack<T, V> out;
#pragma unroll
      for (int k = 0; k < V; ++k) {
        const int ow = ow0 + k, w0 = tw.tap[ow], w1 = min(w0 + 1, tw.in - 1);
        const T lw = tw.lambda[ow];
        out.v[k] = (T(1) - lh) * ((T(1) - lw) * r0[w0] + lw * r0[w1]) + lh * ((T(1) - lw) * r1[w0] + lw * r1[w1]);
      }
      reinterpret_cast<Pack<T, V>*>(yp)[q] = out;
    }
  }
}

// Upsampling by exactly 2 (align_corners false): output d reads input d/2 - 1 and d/2 with weights
// 1/4, 3/4 when even, d/2 and d/2 + 1 with 3/4, 1/4 when odd (clamped at the borders) -- the table
// values, so results are bit-identical to resize_fwd. One thread writes V outputs in each of the two
// output rows an input row h feeds (2h, 2h + 1): it loads the V/2 + 2 input columns of the three input
// rows h-1..h+1 once (clamped), interpolates each row horizontally, then blends rows. Threads run over
// all planes in one flat range, so small planes leave no partial blocks behind.
template <typename T, int V>
__global__ void resize_fwd_x2(const T* x, T* y, int total, int in_h, int in_w) {
  constexpr int kCols = V / 2 + 2;
  const int groups = in_w / (V / 2), per_plane = in_h * groups;
  for (int q = blockIdx.x * blockDim.x + threadIdx.x; q < total; q += gridDim.x * blockDim.x) {
    const int pl = q / per_plane, rest = q - pl * per_plane, h = rest / groups, g = rest - h * groups;
    const int c = g * (V / 2);  // input column of the first output, 2c
    const T* xp = x + (int64_t)pl * in_h * in_w;
    // hor[j][k]: output column 2c + k interpolated along input row clamp(h - 1 + j).
    T hor[3][V];
#pragma unroll
    for (int j = 0; j < 3; ++j) {
      const T* row = xp + (int64_t)min(max(h - 1 + j, 0), in_h - 1) * in_w;
      T v[kCols];
#pragma unroll
      for (int t = 0; t < kCols; ++t) v[t] = row[min(max(c - 1 + t, 0), in_w - 1)];
#pragma unroll
      for (int k = 0; k < V; ++k) {
        T a, b, l;
        if (k & 1) {  // odd: columns c + k/2 and its clamped right neighbour
          a = v[k / 2 + 1], b = v[k / 2 + 2], l = T(0.25);
        } else if (k == 0 && c == 0) {  // the left border: column 0 alone
          a = v[1], b = v[2], l = T(0);
        } else {
          a = v[k / 2], b = v[k / 2 + 1], l = T(0.75);
        }
        hor[j][k] = (T(1) - l) * a + l * b;
      }
    }
    Pack<T, V> even, odd;
    const bool top = h == 0;  // output row 0 reads input row 0 alone
    const T le = top ? T(0) : T(0.75), lo = T(0.25);
#pragma unroll
    for (int k = 0; k < V; ++k) {
      even.v[k] = (T(1) - le) * (top ? hor[1][k] : hor[0][k]) + le * (top ? hor[2][k] : hor[1][k]);
      odd.v[k] = (T(1) - lo) * hor[1][k] + lo * hor[2][k];
    }
    T* yp = y + (int64_t)pl * 4 * in_h * in_w + (int64_t)(2 * h) * (2 * in_w) + 2 * c;
    *reinterpret_cast<Pack<T, V>*>(yp) = even;
    *reinterpret_cast<Pack<T, V>*>(yp + 2 * in_w) = odd;
  }
}

// Input rows per thread of the x2 backward below.
constexpr int kX2Rows = 4;

// Backward of the x2 upsampling for f32 rows of a multiple of 4 columns. Input cell w gathers output
// columns 2w-1 .. 2w+2 with weights 1/4, 3/4, 3/4, 1/4, except at the ends where the clamped taps fold
// into the edge column (column 0 gets 1 from output 0 and nothing from the left; the last cell 1 from
// the last output and nothing from the right); rows alike. A thread owns 4 input columns of kX2Rows
// input rows: per output row it loads 8 columns (two 16-byte loads; the columns either side from the
// neighbouring lanes, or from memory at a warp's edge), sums them into its 4 columns, and slides down,
// keeping the two output rows that consecutive input rows share. One pass: each output row is read
// about once, each input cell written once, no tables. Loops run whole warps (the shuffles need every
// lane); lanes past the end compute on the last item and store nothing. (The forward has no such
// variant: the one-row resize_fwd_x2 already runs at ~90% of copy bandwidth on an H100 and a row-window
// forward measured slower; docs/PERFORMANCE.md.)
__device__ inline void x2_row_sums(const float* row, int g, int groups, bool left_lane, bool right_lane,
                                   float out[4]) {
  const float4 a = reinterpret_cast<const float4*>(row + 8 * g)[0], b = reinterpret_cast<const float4*>(row + 8 * g)[1];
  float left = __shfl_up_sync(0xffffffffu, b.w, 1), right = __shfl_down_sync(0xffffffffu, a.x, 1);
  if (!left_lane) left = g == 0 ? 0.0f : row[8 * g - 1];
  if (!right_lane) right = g == groups - 1 ? 0.0f : row[8 * g + 8];
  const float v[10] = {left, a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, right};
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const bool first = g == 0 && j == 0, last = g == groups - 1 && j == 3;
    out[j] = (first ? 0.0f : 0.25f) * v[2 * j] + (first ? 1.0f : 0.75f) * v[2 * j + 1] +
             (last ? 1.0f : 0.75f) * v[2 * j + 2] + (last ? 0.0f : 0.25f) * v[2 * j + 3];
  }
}

__global__ void resize_bwd_x2_rows(const float* gy, float* gx, int total, int in_h, int in_w) {
  const int groups = in_w / 4, row_blocks = (in_h + kX2Rows - 1) / kX2Rows, per_plane = row_blocks * groups;
  const int lane = threadIdx.x & 31, out_h = 2 * in_h, out_w = 2 * in_w;
  for (int first = blockIdx.x * blockDim.x; first < total; first += gridDim.x * blockDim.x) {
    const int q = first + threadIdx.x, item = min(q, total - 1);
    const int pl = item / per_plane, rest = item - pl * per_plane, rb = rest / groups, g = rest - rb * groups;
    const bool left_lane = g > 0 && lane > 0 && q < total, right_lane = g < groups - 1 && lane < 31 && q + 1 < total;
    const float* gyp = gy + (int64_t)pl * out_h * out_w;
    float* gxp = gx + (int64_t)pl * in_h * in_w + 4 * g;
    const int h0 = rb * kX2Rows;
    auto sums = [&](int r, float out[4]) {
      x2_row_sums(gyp + (int64_t)min(max(r, 0), out_h - 1) * out_w, g, groups, left_lane, right_lane, out);
    };
    float above[4], upper[4], lower[4], below[4];  // output rows 2h-1, 2h, 2h+1, 2h+2
    sums(2 * h0 - 1, above);
    sums(2 * h0, upper);
#pragma unroll
    for (int i = 0; i < kX2Rows; ++i) {
      const int h = h0 + i;
      sums(2 * h + 1, lower);
      sums(2 * h + 2, below);
      if (q < total && h < in_h) {
        const bool top = h == 0, bottom = h == in_h - 1;
        const float wa = top ? 0.0f : 0.25f, wu = top ? 1.0f : 0.75f, wl = bottom ? 1.0f : 0.75f,
                    wb = bottom ? 0.0f : 0.25f;
        float4 out;
        float* o = reinterpret_cast<float*>(&out);
#pragma unroll
        for (int k = 0; k < 4; ++k) o[k] = wa * above[k] + wu * upper[k] + wl * lower[k] + wb * below[k];
        *reinterpret_cast<float4*>(gxp + (int64_t)h * in_w) = out;
      }
#pragma unroll
      for (int k = 0; k < 4; ++k) above[k] = lower[k], upper[k] = below[k];
    }
  }
}

// Whether the f32 row-window x2 backward runs (CUTTLE_RESIZE_X2=flat keeps the table backward, for
// comparisons).
bool x2_rows_kernel_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("CUTTLE_RESIZE_X2");
    return !(env && std::string(env) == "flat");
  }();
  return on;
}

template <typename T>
__global__ void resize_bwd(const T* gy, T* gx, int64_t planes, AxisTable<T> th, AxisTable<T> tw) {
  const int cells = th.in * tw.in;
  for (int64_t pl = blockIdx.y; pl < planes; pl += gridDim.y) {
    const T* gyp = gy + pl * th.out * tw.out;
    for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < cells; r += gridDim.x * blockDim.x) {
      const int h = r / tw.in, w = r - h * tw.in;
      const int oh0 = th.lo[h], oh1 = th.hi[h], ow0 = tw.lo[w], ow1 = tw.hi[w];
      T acc = 0;
      for (int oh = oh0; oh < oh1; ++oh) {
        const T wh = th.weight(oh, h);
        T row = 0;
        for (int ow = ow0; ow < ow1; ++ow) row += tw.weight(ow, w) * gyp[(int64_t)oh * tw.out + ow];
        acc += wh * row;
      }
      gx[pl * cells + r] = acc;
    }
  }
}

}  // namespace

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const Tensor xc = x.contiguous();
  const Axis ah = make_axis(x.size(2), out_h, align_corners), aw = make_axis(x.size(3), out_w, align_corners);
  dispatch_float(x.dtype(), "resize_bilinear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t planes = x.size(0) * x.size(1);
    constexpr int V = 16 / sizeof(T);
    const int64_t in_h = x.size(2), in_w = x.size(3);
    const int64_t x2_threads = planes * in_h * (out_w / V);
    const bool x2 = !align_corners && out_h == 2 * in_h && out_w == 2 * in_w;
    if (x2 && out_w % V == 0 && aligned_to(y.data<T>(), 16) && x2_threads < INT32_MAX) {
      resize_fwd_x2<T, V><<<grid_for(x2_threads, kThreads), kThreads, 0, stream_of(x)>>>(
          xc.data<T>(), y.data<T>(), (int)x2_threads, (int)in_h, (int)in_w);
      CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear (x2)");
      return;
    }
    const Tables<T> t = build_tables<T>(ah, aw, x.device(), stream_of(x));
    if (out_w % V == 0 && aligned_to(y.data<T>(), 16))
      resize_fwd<T, V><<<plane_grid(out_h * out_w / V, planes), kThreads, 0, stream_of(x)>>>(xc.data<T>(), y.data<T>(),
                                                                                         planes, t.h, t.w);
    else
      resize_fwd<T, 1><<<plane_grid(out_h * out_w, planes), kThreads, 0, stream_of(x)>>>(xc.data<T>(), y.data<T>(),
                                                                                     planes, t.h, t.w);
    CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear");
  });
  return y;
}

Tensor resize_bilinear_backward(const Tensor& grad_out, const Shape& x_shape, bool align_corners) {
  Tensor gx = Tensor::empty(x_shape, grad_out.dtype(), grad_out.device());
  if (gx.numel() == 0) return gx;
  DeviceGuard guard(gx.device().index);
  const Tensor gyc = grad_out.contiguous();
  const Axis ah = make_axis(x_shape[2], grad_out.size(2), align_corners);
  const Axis aw = make_axis(x_shape[3], grad_out.size(3), align_corners);
  dispatch_float(gx.dtype(), "resize_bilinear_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float>) {
      const int64_t in_h = x_shape[2], in_w = x_shape[3], planes = x_shape[0] * x_shape[1];
      const int64_t rows_threads = planes * ((in_h + kX2Rows - 1) / kX2Rows) * (in_w / 4);
      if (!align_corners && grad_out.size(2) == 2 * in_h && grad_out.size(3) == 2 * in_w && in_w % 4 == 0 &&
          aligned_to(gyc.data<T>(), 16) && aligned_to(gx.data<T>(), 16) && rows_threads < INT32_MAX - kThreads &&
          x2_rows_kernel_enabled()) {
        resize_bwd_x2_rows<<<grid_for(rows_threads, kThreads), kThreads, 0, stream_of(gx)>>>(
            gyc.data<T>(), gx.data<T>(), (int)rows_threads, (int)in_h, (int)in_w);
        CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear_backward (x2, rows)");
        return;
      }
    }
    const Tables<T> t = build_tables<T>(ah, aw, gx.device(), stream_of(gx));
    const int64_t planes = x_shape[0] * x_shape[1];
    resize_bwd<T><<<plane_grid(x_shape[2] * x_shape[3], planes), kThreads, 0, stream_of(gx)>>>(
        gyc.data<T>(), gx.data<T>(), planes, t.h, t.w);
    CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear_backward");
  });
  return gx;
}

}  // namespace cuttle::engine::cuda
