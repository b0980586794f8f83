// CPU kernels of adaptive average pooling (engine/ops/pool.h).
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
// Bin i of `out` bins over `in` cells: [floor(i in / out), ceil((i + 1) in / out)).
inline int64_t bin_start(int64_t i, int64_t in, int64_t out) { return i * in / out; }
inline int64_t bin_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

void check_shapes(const char* op, const Shape& x, int64_t oh, int64_t ow) {
  CUTTLE_CHECK(x.size() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x));
  CUTTLE_CHECK(oh >= 1 && ow >= 1 && x[2] >= 1 && x[3] >= 1, op, ": cannot pool ", shape_str(x), " to ", oh, "x", ow);
}
}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  CUTTLE_CHECK(x.defined(), "adaptive_avg_pool2d: the input is undefined");
  check_shapes("adaptive_avg_pool2d", x.shape(), out_h, out_w);
  CUTTLE_ROUTE_CUDA("adaptive_avg_pool2d", cuda::adaptive_avg_pool2d(x, out_h, out_w), x);
  cpu::require_cpu("adaptive_avg_pool2d", x);
  const int64_t H = x.size(2), W = x.size(3);
  Tensor out = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype());
  const Tensor xc = x.contiguous();
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    T* py = out.data<T>();
    cpu::for_each_plane(x.size(0) * x.size(1), H * W + out_h * out_w, [&](int64_t pl) {
      const T* xp = px + pl * H * W;
      T* yp = py + pl * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i) {
        const int64_t h0 = bin_start(i, H, out_h), h1 = bin_end(i, H, out_h);
        for (int64_t j = 0; j < out_w; ++j) {
          const int64_t w0 = bin_start(j, W, out_w), w1 = bin_end(j, W, out_w);
          T acc = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) acc += xp[h * W + w];
          yp[i * out_w + j] = acc / T((h1 - h0) * (w1 - w0));
        }
      }
    });
  });
  return out;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape) {
  CUTTLE_CHECK(grad_out.defined(), "adaptive_avg_pool2d_backward: grad_out is undefined");
  CUTTLE_CHECK(grad_out.dim() == 4, "adaptive_avg_pool2d_backward: grad_out must be [N,C,OH,OW], got ",
               shape_str(grad_out.shape()));
  const int64_t out_h = grad_out.size(2), out_w = grad_out.size(3);
  check_shapes("adaptive_avg_pool2d_backward", x_shape, out_h, out_w);
  CUTTLE_CHECK(grad_out.size(0) == x_shape[0] && grad_out.size(1) == x_shape[1], "adaptive_avg_pool2d_backward: ",
               "grad_out ", shape_str(grad_out.shape()), " does not fit input ", shape_str(x_shape));
  CUTTLE_ROUTE_CUDA("adaptive_avg_pool2d_backward", cuda::adaptive_avg_pool2d_backward(grad_out, x_shape), grad_out);
  cpu::require_cpu("adaptive_avg_pool2d_backward", grad_out);
  const int64_t H = x_shape[2], W = x_shape[3];
  Tensor gx = Tensor::zeros(x_shape, grad_out.dtype());
  const Tensor gyc = grad_out.contiguous();
  dispatch_float(grad_out.dtype(), "adaptive_avg_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pgy = gyc.data<T>();
    T* pgx = gx.data<T>();
    cpu::for_each_plane(x_shape[0] * x_shape[1], H * W + out_h * out_w, [&](int64_t pl) {
      T* gxp = pgx + pl * H * W;
      const T* gyp = pgy + pl * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i) {
        const int64_t h0 = bin_start(i, H, out_h), h1 = bin_end(i, H, out_h);
        for (int64_t j = 0; j < out_w; ++j) {
          const int64_t w0 = bin_start(j, W, out_w), w1 = bin_end(j, W, out_w);
          const T v = gyp[i * out_w + j] / T((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) gxp[h * W + w] += v;
        }
      }
    });
  });
  return gx;
}

}  // namespace cuttle::engine
