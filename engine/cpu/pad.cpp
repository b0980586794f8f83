// pad and pad_backward (engine/ops/join.h). Constant padding is a fill plus a strided copy; reflect and
// replicate map every output row and column of the last two axes to its source through small tables.
// The backward accumulates plane by plane in output order, so it is deterministic.
#include <algorithm>

#include "engine/cpu/cpu_only.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/pad.h"
#endif
#include "engine/ops/join.h"
#include "engine/parallel.h"

namespace cuttle::engine {

const char* pad_mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::constant: return "constant";
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
  }
  return "?";
}

namespace {

// Checks pads against the input shape; returns the padded shape.
Shape padded_shape(const Shape& in, const std::vector<int64_t>& pads, PadMode mode, const char* op) {
  const int64_t nd = (int64_t)in.size();
  CUTTLE_CHECK(pads.size() % 2 == 0 && (int64_t)pads.size() / 2 <= nd, op, ": ", pads.size(),
               " pads do not form (before, after) pairs for the axes of ", shape_str(in));
  if (mode != PadMode::constant)
    CUTTLE_CHECK(pads.size() == 2 || pads.size() == 4, op, ": ", pad_mode_name(mode),
                 " padding covers the last one or two axes (2 or 4 pads), got ", pads.size());
  Shape out = in;
  for (size_t p = 0; p < pads.size(); ++p) {
    const int64_t axis = nd - 1 - (int64_t)p / 2, n = in[axis];
    CUTTLE_CHECK(pads[p] >= 0, op, ": pads must be non-negative, got ", pads[p]);
    if (mode == PadMode::reflect)
      CUTTLE_CHECK(pads[p] < n, op, ": reflect padding ", pads[p], " must be smaller than the size ", n, " of axis ",
                   axis);
    if (mode == PadMode::replicate)
      CUTTLE_CHECK(n > 0 || pads[p] == 0, op, ": cannot replicate-pad the empty axis ", axis);
    out[axis] += pads[p];
  }
  return out;
}

// The source index of each of the n + before + after output positions on one axis.
std::vector<int64_t> source_map(int64_t n, int64_t before, int64_t after, PadMode mode) {
  std::vector<int64_t> m(n + before + after);
  for (int64_t i = 0; i < (int64_t)m.size(); ++i) {
    int64_t p = i - before;
    if (mode == PadMode::reflect) {
      if (p < 0) p = -p;
      if (p >= n) p = 2 * (n - 1) - p;
    } else {
      p = std::clamp<int64_t>(p, 0, n - 1);
    }
    m[i] = p;
  }
  return m;
}

// The tensor as [planes, H, W] over its last two axes (H = 1 for a 1-axis pad).
struct Planes {
  int64_t planes = 1, h = 1, w = 1;
  std::vector<int64_t> rows, cols;  // output row / column -> input row / column
};

Planes plan(const Shape& in, const std::vector<int64_t>& pads, PadMode mode) {
  Planes p;
  const int nd = (int)in.size();
  const bool two = pads.size() == 4;
  p.w = in[nd - 1];
  p.h = two ? in[nd - 2] : 1;
  for (int d = 0; d < nd - (two ? 2 : 1); ++d) p.planes *= in[d];
  p.cols = source_map(p.w, pads[0], pads[1], mode);
  p.rows = two ? source_map(p.h, pads[2], pads[3], mode) : std::vector<int64_t>{0};
  return p;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  CUTTLE_CHECK(x.defined(), "pad: the input is undefined");
  const Shape out_shape = padded_shape(x.shape(), pads, mode, "pad");
  if (mode == PadMode::constant) {  // any device: a fill and a strided copy
    Tensor out = Tensor::full(out_shape, value, x.dtype(), x.device());
    Tensor inner = out;
    for (size_t p = 0; p < pads.size(); p += 2) {
      const int64_t axis = x.dim() - 1 - (int64_t)p / 2;
      inner = inner.slice(axis, pads[p], pads[p] + x.size(axis));
    }
    if (x.numel() > 0) inner.copy_(x);
    return out;
  }
  CUTTLE_ROUTE_CUDA("pad", cuda::pad(x, out_shape, pads, mode), x);
  cpu::require_cpu("pad", x);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  if (out.numel() == 0) return out;
  const Planes p = plan(x.shape(), pads, mode);
  const Tensor xc = x.contiguous();
  const int64_t ho = (int64_t)p.rows.size(), wo = (int64_t)p.cols.size();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    T* po = out.data<T>();
    parallel_for(0, p.planes * ho, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(wo, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t r = b; r < e; ++r) {
                     const int64_t plane = r / ho, i = r % ho;
                     const T* src = px + (plane * p.h + p.rows[i]) * p.w;
                     T* dst = po + r * wo;
                     for (int64_t j = 0; j < wo; ++j) dst[j] = src[p.cols[j]];
                   }
                 });
  });
  return out;
}

Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pads, PadMode mode) {
  CUTTLE_CHECK(grad.defined(), "pad_backward: grad is undefined");
  const Shape out_shape = padded_shape(input_shape, pads, mode, "pad_backward");
  CUTTLE_CHECK(grad.shape() == out_shape, "pad_backward: grad ", grad.str(), " does not match the padded shape ",
               shape_str(out_shape));
  if (mode == PadMode::constant) {
    Tensor inner = grad;
    for (size_t p = 0; p < pads.size(); p += 2) {
      const int64_t axis = (int64_t)input_shape.size() - 1 - (int64_t)p / 2;
      inner = inner.slice(axis, pads[p], pads[p] + input_shape[axis]);
    }
    return inner.clone();
  }
  CUTTLE_ROUTE_CUDA("pad_backward", cuda::pad_backward(grad, input_shape, pads, mode), grad);
  cpu::require_cpu("pad_backward", grad);
  Tensor gx = Tensor::zeros(input_shape, grad.dtype());
  if (grad.numel() == 0) return gx;
  const Planes p = plan(input_shape, pads, mode);
  const Tensor gc = grad.contiguous();
  const int64_t ho = (int64_t)p.rows.size(), wo = (int64_t)p.cols.size();
  dispatch_float(grad.dtype(), "pad_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gc.data<T>();
    T* pd = gx.data<T>();
    parallel_for(0, p.planes, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(ho * wo, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t plane = b; plane < e; ++plane)
                     for (int64_t i = 0; i < ho; ++i) {
                       const T* src = pg + (plane * ho + i) * wo;
                       T* dst = pd + (plane * p.h + p.rows[i]) * p.w;
                       for (int64_t j = 0; j < wo; ++j) dst[p.cols[j]] += src[j];
                     }
                 });
  });
  return gx;
}

}  // namespace cuttle::engine
