// CPU kernels of average and max pooling (engine/ops/pool.h).
#include <atomic>
#include <cmath>

#include "engine/cpu/box_sum.h"
#include "engine/cpu/cpu_only.h"
#include "engine/cpu/pool_planes.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/pool.h"
#endif
#include "engine/ops/pool.h"

namespace cuttle::engine {

namespace {

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  int64_t out = (in + 2 * p - k + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;  // a window must start inside the input or left padding
  return out;
}

// Geometry shared by the pooling kernels.
struct PoolGeom {
  int64_t planes, H, W, OH, OW, kh, kw, sh, sw, ph, pw;
  PoolGeom(const Shape& x, const Shape& y, Size2 k, Size2 s, Size2 p)
      : planes(x[0] * x[1]), H(x[2]), W(x[3]), OH(y[2]), OW(y[3]), kh(k[0]), kw(k[1]), sh(s[0]), sw(s[1]),
        ph(p[0]), pw(p[1]) {}
};

// Window of output (oh, ow): [h0, h1) x [w0, w1) clipped to the input, and the divisor of avg pooling.
struct Window {
  int64_t h0, h1, w0, w1, divisor;
};
Window window(const PoolGeom& g, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = std::min(h0 + g.kh, g.H + g.ph), w1 = std::min(w0 + g.kw, g.W + g.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.H);
  w1 = std::min(w1, g.W);
  return {h0, h1, w0, w1, count_include_pad ? padded : (h1 - h0) * (w1 - w0)};
}

// From this many elements per window on, average pooling goes through a summed-area table (4 reads
// per output instead of kh*kw); below it the direct sum is as fast and keeps the f32 summation order.
constexpr int64_t kBoxTableMinWindow = 64;

}  // namespace

Shape pool2d_output_shape(const Shape& x, Size2 k, Size2 s, Size2 p, bool ceil_mode, const char* op) {
  CUTTLE_CHECK(x.size() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x));
  for (int d = 0; d < 2; ++d) {
    CUTTLE_CHECK(k[d] >= 1 && s[d] >= 1 && p[d] >= 0, op, ": invalid kernel ", k[0], "x", k[1], ", stride ", s[0],
                 "x", s[1], ", padding ", p[0], "x", p[1]);
    CUTTLE_CHECK(p[d] <= k[d] / 2, op, ": padding ", p[0], "x", p[1], " must be at most half the kernel ", k[0], "x",
                 k[1]);
    CUTTLE_CHECK(x[2 + d] + 2 * p[d] >= k[d], op, ": kernel ", k[0], "x", k[1], " is larger than the padded input ",
                 shape_str(x), " (padding ", p[0], "x", p[1], ")");
  }
  return {x[0], x[1], pooled_size(x[2], k[0], s[0], p[0], ceil_mode), pooled_size(x[3], k[1], s[1], p[1], ceil_mode)};
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool count_include_pad, bool ceil_mode) {
  CUTTLE_CHECK(x.defined(), "avg_pool2d: the input is undefined");
  const Shape y_shape = pool2d_output_shape(x.shape(), kernel, stride, padding, ceil_mode, "avg_pool2d");
  CUTTLE_ROUTE_CUDA("avg_pool2d", cuda::avg_pool2d(x, y_shape, kernel, stride, padding, count_include_pad), x);
  cpu::require_cpu("avg_pool2d", x);
  Tensor out = Tensor::empty(y_shape, x.dtype());
  const PoolGeom g(x.shape(), out.shape(), kernel, stride, padding);
  const Tensor xc = x.contiguous();
  dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    T* py = out.data<T>();
    const bool use_table = g.kh * g.kw >= kBoxTableMinWindow;
    cpu::for_each_plane(g.planes, g.OH * g.OW * (use_table ? 4 : g.kh * g.kw), [&](int64_t pl) {
      const T* xp = px + pl * g.H * g.W;
      T* yp = py + pl * g.OH * g.OW;
      if (use_table) {
        std::vector<double> table;
        cpu::summed_area_table(xp, g.H, g.W, table);
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const Window w = window(g, oh, ow, count_include_pad);
            yp[oh * g.OW + ow] = T(cpu::box_sum(table, g.W, w.h0, w.h1, w.w0, w.w1) / (double)w.divisor);
          }
        return;
      }
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const Window w = window(g, oh, ow, count_include_pad);
          T acc = 0;
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) acc += xp[h * g.W + c];
          yp[oh * g.OW + ow] = acc / T(w.divisor);
        }
    });
  });
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape, Size2 kernel, Size2 stride, Size2 padding,
                           bool count_include_pad, bool ceil_mode) {
  CUTTLE_CHECK(grad_out.defined(), "avg_pool2d_backward: grad_out is undefined");
  const Shape y_shape = pool2d_output_shape(x_shape, kernel, stride, padding, ceil_mode, "avg_pool2d_backward");
  CUTTLE_CHECK(grad_out.shape() == y_shape, "avg_pool2d_backward: grad_out ", shape_str(grad_out.shape()),
               " does not match the pooled shape ", shape_str(y_shape));
  CUTTLE_ROUTE_CUDA("avg_pool2d_backward",
                    cuda::avg_pool2d_backward(grad_out, x_shape, kernel, stride, padding, count_include_pad), grad_out);
  cpu::require_cpu("avg_pool2d_backward", grad_out);
  Tensor gx = Tensor::zeros(x_shape, grad_out.dtype());
  const PoolGeom g(x_shape, y_shape, kernel, stride, padding);
  const Tensor gyc = grad_out.contiguous();
  dispatch_float(grad_out.dtype(), "avg_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pgy = gyc.data<T>();
    T* pgx = gx.data<T>();
    const bool use_table = g.kh * g.kw >= kBoxTableMinWindow;
    cpu::for_each_plane(g.planes, g.OH * g.OW * (use_table ? 4 : g.kh * g.kw), [&](int64_t pl) {
      T* gxp = pgx + pl * g.H * g.W;
      const T* gyp = pgy + pl * g.OH * g.OW;
      if (use_table) {
        std::vector<double> diff((size_t)((g.H + 1) * (g.W + 1)), 0.0);
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const Window w = window(g, oh, ow, count_include_pad);
            cpu::add_box(diff, g.W, w.h0, w.h1, w.w0, w.w1, (double)gyp[oh * g.OW + ow] / (double)w.divisor);
          }
        cpu::integrate_differences(diff, g.H, g.W, gxp);
        return;
      }
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const Window w = window(g, oh, ow, count_include_pad);
          const T v = gyp[oh * g.OW + ow] / T(w.divisor);
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) gxp[h * g.W + c] += v;
        }
    });
  });
  return gx;
}

MaxPool2dResult max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode) {
  CUTTLE_CHECK(x.defined(), "max_pool2d: the input is undefined");
  const Shape y_shape = pool2d_output_shape(x.shape(), kernel, stride, padding, ceil_mode, "max_pool2d");
  CUTTLE_ROUTE_CUDA("max_pool2d", cuda::max_pool2d(x, y_shape, kernel, stride, padding), x);
  cpu::require_cpu("max_pool2d", x);
  MaxPool2dResult r{Tensor::empty(y_shape, x.dtype()), Tensor::empty(y_shape, DType::i64)};
  const PoolGeom g(x.shape(), y_shape, kernel, stride, padding);
  const Tensor xc = x.contiguous();
  dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    T* py = r.output.data<T>();
    int64_t* pi = r.indices.data<int64_t>();
    cpu::for_each_plane(g.planes, g.OH * g.OW * g.kh * g.kw, [&](int64_t pl) {
      const T* xp = px + pl * g.H * g.W;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const Window w = window(g, oh, ow, true);
          int64_t best_i = w.h0 * g.W + w.w0;
          T best = xp[best_i];
          for (int64_t h = w.h0; h < w.h1 && !std::isnan(best); ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) {
              const T v = xp[h * g.W + c];
              if (v > best || std::isnan(v)) {
                best = v;
                best_i = h * g.W + c;
                if (std::isnan(v)) break;
              }
            }
          const int64_t o = pl * g.OH * g.OW + oh * g.OW + ow;
          py[o] = best;
          pi[o] = best_i;
        }
    });
  });
  return r;
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& x_shape) {
  CUTTLE_CHECK(grad_out.defined() && indices.defined(), "max_pool2d_backward: an input tensor is undefined");
  CUTTLE_CHECK(x_shape.size() == 4 && grad_out.dim() == 4 && grad_out.shape() == indices.shape() &&
                   grad_out.size(0) == x_shape[0] && grad_out.size(1) == x_shape[1],
               "max_pool2d_backward: grad_out ", shape_str(grad_out.shape()), " and indices ",
               shape_str(indices.shape()), " do not fit input ", shape_str(x_shape));
  CUTTLE_CHECK(indices.dtype() == DType::i64, "max_pool2d_backward: indices must be i64, got ", indices.str());
  CUTTLE_ROUTE_CUDA("max_pool2d_backward", cuda::max_pool2d_backward(grad_out, indices, x_shape), grad_out, indices);
  cpu::require_cpu("max_pool2d_backward", grad_out, indices);
  Tensor gx = Tensor::zeros(x_shape, grad_out.dtype());
  const int64_t planes = x_shape[0] * x_shape[1], HW = x_shape[2] * x_shape[3];
  const int64_t OHW = grad_out.size(2) * grad_out.size(3);
  const Tensor gyc = grad_out.contiguous(), ic = indices.contiguous();
  dispatch_float(grad_out.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pgy = gyc.data<T>();
    const int64_t* pi = ic.data<int64_t>();
    T* pgx = gx.data<T>();
    std::atomic<bool> bad{false};  // no throwing inside the parallel region
    cpu::for_each_plane(planes, OHW, [&](int64_t pl) {
      T* gxp = pgx + pl * HW;
      for (int64_t o = pl * OHW; o < (pl + 1) * OHW; ++o) {
        if (pi[o] >= 0 && pi[o] < HW) gxp[pi[o]] += pgy[o];
        else bad = true;
      }
    });
    CUTTLE_CHECK(!bad, "max_pool2d_backward: an index lies outside its input plane of ", HW, " cells");
  });
  return gx;
}

}  // namespace cuttle::engine
