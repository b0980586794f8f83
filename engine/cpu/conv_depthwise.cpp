// CPU kernels of depthwise convolution (engine/cpu/conv_depthwise.h). Every output plane, input-grad
// plane and weight-grad filter is owned by one thread and summed in a fixed order.
#include "engine/cpu/conv_depthwise.h"

#include <algorithm>

#include "engine/parallel.h"

namespace cuttle::engine::cpu {

namespace {
// Rows and columns of the output that tap (ki, kj) reads inside the input.
struct TapRange {
  int64_t oh0, oh1, ow0, ow1, row_off, col_off;
};
TapRange tap_range(const ConvGeom& g, int64_t ki, int64_t kj) {
  TapRange t;
  t.row_off = ki * g.dh - g.ph;
  t.col_off = kj * g.dw - g.pw;
  valid_range(t.row_off, g.sh, g.H, g.OH, t.oh0, t.oh1);
  valid_range(t.col_off, g.sw, g.W, g.OW, t.ow0, t.ow1);
  return t;
}
int64_t plane_grain(const ConvGeom& g) { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, g.P * g.kh * g.kw)); }
}  // namespace

template <typename T>
void depthwise_forward(const T* x, const T* w, const T* b, T* y, const ConvGeom& g) {
  const int64_t mult = g.O / g.C, taps = g.kh * g.kw;
  parallel_for(0, g.N * g.O, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t plane = p0; plane < p1; ++plane) {
      const int64_t n = plane / g.O, o = plane % g.O, c = o / mult;
      const T* xp = x + (n * g.C + c) * g.H * g.W;
      T* yp = y + plane * g.P;
      std::fill(yp, yp + g.P, b ? b[o] : T(0));
      for (int64_t ki = 0; ki < g.kh; ++ki)
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          const T wv = w[o * taps + ki * g.kw + kj];
          const TapRange t = tap_range(g, ki, kj);
          for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
            T* yr = yp + oh * g.OW;
            const T* xr = xp + (oh * g.sh + t.row_off) * g.W + t.col_off;
            if (g.sw == 1)
              for (int64_t ow = t.ow0; ow < t.ow1; ++ow) yr[ow] += wv * xr[ow];
            else
              for (int64_t ow = t.ow0; ow < t.ow1; ++ow) yr[ow] += wv * xr[ow * g.sw];
          }
        }
    }
  });
}

template <typename T>
void depthwise_backward_input(const T* gy, const T* w, T* gx, const ConvGeom& g) {
  const int64_t mult = g.O / g.C, taps = g.kh * g.kw;
  parallel_for(0, g.N * g.C, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t plane = p0; plane < p1; ++plane) {
      const int64_t n = plane / g.C, c = plane % g.C;
      T* gxp = gx + plane * g.H * g.W;
      std::fill(gxp, gxp + g.H * g.W, T(0));
      for (int64_t m = 0; m < mult; ++m) {
        const int64_t o = c * mult + m;
        const T* gyp = gy + (n * g.O + o) * g.P;
        for (int64_t ki = 0; ki < g.kh; ++ki)
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const T wv = w[o * taps + ki * g.kw + kj];
            const TapRange t = tap_range(g, ki, kj);
            for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
              const T* gyr = gyp + oh * g.OW;
              T* gxr = gxp + (oh * g.sh + t.row_off) * g.W + t.col_off;
              if (g.sw == 1)
                for (int64_t ow = t.ow0; ow < t.ow1; ++ow) gxr[ow] += wv * gyr[ow];
              else
                for (int64_t ow = t.ow0; ow < t.ow1; ++ow) gxr[ow * g.sw] += wv * gyr[ow];
            }
          }
      }
    }
  });
}

template <typename T>
void depthwise_backward_weight(const T* gy, const T* x, T* gw, const ConvGeom& g) {
  const int64_t mult = g.O / g.C, taps = g.kh * g.kw;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, g.N * g.P * taps));
  parallel_for(0, g.O, grain, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const int64_t c = o / mult;
      for (int64_t ki = 0; ki < g.kh; ++ki)
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          const TapRange t = tap_range(g, ki, kj);
          T acc = 0;
          for (int64_t n = 0; n < g.N; ++n) {
            const T* gyp = gy + (n * g.O + o) * g.P;
            const T* xp = x + (n * g.C + c) * g.H * g.W;
            for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
              const T* gyr = gyp + oh * g.OW;
              const T* xr = xp + (oh * g.sh + t.row_off) * g.W + t.col_off;
              for (int64_t ow = t.ow0; ow < t.ow1; ++ow) acc += gyr[ow] * xr[ow * g.sw];
            }
          }
          gw[o * taps + ki * g.kw + kj] = acc;
        }
    }
  });
}

#define CUTTLE_INSTANTIATE(T)                                                                \
  template void depthwise_forward<T>(const T*, const T*, const T*, T*, const ConvGeom&);    \
  template void depthwise_backward_input<T>(const T*, const T*, T*, const ConvGeom&);       \
  template void depthwise_backward_weight<T>(const T*, const T*, T*, const ConvGeom&);
CUTTLE_INSTANTIATE(float)
CUTTLE_INSTANTIATE(double)
#undef CUTTLE_INSTANTIATE

}  // namespace cuttle::engine::cpu
