// Defines ConvGeom, the sizes of one 2-D convolution, and valid_range, the output positions whose
// tap lands inside the input (so the inner loops need no bounds tests).
#pragma once
#include <algorithm>
#include <cstdint>

#include "engine/ops/conv.h"

namespace cuttle::engine::cpu {

struct ConvGeom {
  int64_t N, C, H, W;       // input
  int64_t O, kh, kw;        // weight
  int64_t OH, OW;           // output
  int64_t sh, sw, ph, pw, dh, dw, groups;
  int64_t Cg, Og;           // channels per group
  int64_t K, P;             // im2col rows (Cg*kh*kw) and columns (OH*OW)

  ConvGeom(const Shape& x, const Shape& w, const Conv2dParams& p) {
    const Shape y = conv2d_output_shape(x, w, p);
    N = x[0]; C = x[1]; H = x[2]; W = x[3];
    O = w[0]; kh = w[2]; kw = w[3];
    OH = y[2]; OW = y[3];
    sh = p.stride_h; sw = p.stride_w; ph = p.pad_h; pw = p.pad_w; dh = p.dil_h; dw = p.dil_w;
    groups = p.groups;
    Cg = C / groups; Og = O / groups;
    K = Cg * kh * kw; P = OH * OW;
  }
  bool is_pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  bool is_depthwise() const { return groups == C && groups > 1; }
};

// Output positions o in [lo, hi) with 0 <= o * stride + off < in (clipped to [0, out)).
inline void valid_range(int64_t off, int64_t stride, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  hi = in - off <= 0 ? 0 : (in - 1 - off) / stride + 1;
  lo = std::min(lo, out);
  hi = std::max(lo, std::min(hi, out));
}

}  // namespace cuttle::engine::cpu
