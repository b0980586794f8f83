// CUDA reflect / replicate padding and its backward (engine/cuda/pad.h). The tensor is seen as
// [planes, h, w] over its last two axes (h = 1, no row padding, for a one-axis pad).
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/pad.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

struct Side {
  int64_t n, before, after;  // input size and pads on one axis
  __device__ int64_t out() const { return n + before + after; }
};

struct PadGeom {
  int64_t planes;
  Side rows, cols;
  bool reflect;
};

PadGeom make_geom(const Shape& in, const std::vector<int64_t>& pads, PadMode mode) {
  const int nd = (int)in.size();
  const bool two = pads.size() == 4;
  PadGeom g{1, {two ? in[nd - 2] : 1, two ? pads[2] : 0, two ? pads[3] : 0}, {in[nd - 1], pads[0], pads[1]},
            mode == PadMode::reflect};
  for (int d = 0; d < nd - (two ? 2 : 1); ++d) g.planes *= in[d];
  return g;
}

// Input position that padded position i copies (the CPU's source_map).
__device__ inline int64_t source(int64_t i, const Side& s, bool reflect) {
  int64_t p = i - s.before;
  if (reflect) {
    if (p < 0) p = -p;
    if (p >= s.n) p = 2 * (s.n - 1) - p;
  } else {
    p = p < 0 ? 0 : (p > s.n - 1 ? s.n - 1 : p);
  }
  return p;
}

// Padded positions that copy input position r, as up to three inclusive ranges in increasing order.
struct Ranges {
  int count = 0;
  int64_t lo[3], hi[3];
  __device__ void add(int64_t a, int64_t b) {
    lo[count] = a;
    hi[count] = b;
    ++count;
  }
};
__device__ inline Ranges copies_of(int64_t r, const Side& s, bool reflect) {
  Ranges g;
  if (reflect) {
    if (r >= 1 && r <= s.before) g.add(s.before - r, s.before - r);
    g.add(s.before + r, s.before + r);
    if (r <= s.n - 2 && r >= s.n - 1 - s.after) g.add(s.before + 2 * (s.n - 1) - r, s.before + 2 * (s.n - 1) - r);
  } else {
    g.add(r == 0 ? 0 : s.before + r, r == s.n - 1 ? s.out() - 1 : s.before + r);
  }
  return g;
}

template <typename T>
__global__ void pad_fwd(const T* x, T* y, PadGeom g) {
  const int64_t ho = g.rows.out(), wo = g.cols.out();
  CUTTLE_KERNEL_LOOP(e, g.planes * ho * wo) {
    const int64_t pl = e / (ho * wo), r = e % (ho * wo), i = r / wo, j = r % wo;
    y[e] = x[(pl * g.rows.n + source(i, g.rows, g.reflect)) * g.cols.n + source(j, g.cols, g.reflect)];
  }
}

template <typename T>
__global__ void pad_bwd(const T* gy, T* gx, PadGeom g) {
  const int64_t h = g.rows.n, w = g.cols.n, ho = g.rows.out(), wo = g.cols.out();
  CUTTLE_KERNEL_LOOP(e, g.planes * h * w) {
    const int64_t pl = e / (h * w), r = e % (h * w), rr = r / w, cc = r % w;
    const Ranges ri = copies_of(rr, g.rows, g.reflect), ci = copies_of(cc, g.cols, g.reflect);
    const T* gp = gy + pl * ho * wo;
    T acc = 0;
    for (int a = 0; a < ri.count; ++a)
      for (int64_t i = ri.lo[a]; i <= ri.hi[a]; ++i)
        for (int b = 0; b < ci.count; ++b)
          for (int64_t j = ci.lo[b]; j <= ci.hi[b]; ++j) acc += gp[i * wo + j];
    gx[e] = acc;
  }
}

}  // namespace

Tensor pad(const Tensor& x, const Shape& out_shape, const std::vector<int64_t>& pads, PadMode mode) {
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const Tensor xc = x.contiguous();
  const PadGeom g = make_geom(x.shape(), pads, mode);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    pad_fwd<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(xc.data<T>(), y.data<T>(), g);
    CUTTLE_CUDA_CHECK_LAUNCH("pad");
  });
  return y;
}

Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pads, PadMode mode) {
  Tensor gx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  if (gx.numel() == 0) return gx;
  DeviceGuard guard(grad.device().index);
  const Tensor gc = grad.contiguous();
  const PadGeom g = make_geom(input_shape, pads, mode);
  dispatch_float(grad.dtype(), "pad_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    pad_bwd<T><<<blocks_for(gx.numel()), kThreads, 0, stream_of(grad)>>>(gc.data<T>(), gx.data<T>(), g);
    CUTTLE_CUDA_CHECK_LAUNCH("pad_backward");
  });
  return gx;
}

}  // namespace cuttle::engine::cuda
