#include "data/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"
#include "engine/parallel.h"

namespace cuttle::data {

namespace {

using engine::parallel_for;

// One output index's two source taps and weights along an axis.
struct Tap {
  int64_t i0 = 0, i1 = 0;
  float w0 = 1.f, w1 = 0.f;
};

// The taps of an axis as OpenCV computes them: the coordinate is formed in double and rounded to
// float, the fraction taken in float. Horizontally a coordinate outside [0, in-1] snaps to the edge
// pixel with weight 1; vertically the fraction is kept and only the row indices are clamped (OpenCV
// treats the two axes differently, which changes the 8-bit rounding of the border rows).
std::vector<Tap> axis_taps(int64_t in, int64_t out, bool snap_edges) {
  const double scale = 1.0 / ((double)out / (double)in);  // OpenCV's scale = 1 / inv_scale
  std::vector<Tap> taps((size_t)out);
  for (int64_t d = 0; d < out; ++d) {
    float f = (float)(((double)d + 0.5) * scale - 0.5);
    int64_t s = (int64_t)std::floor(f);
    f -= (float)s;
    if (snap_edges) {
      if (s < 0) f = 0.f, s = 0;
      if (s >= in - 1) f = 0.f, s = in - 1;
    }
    Tap& t = taps[(size_t)d];
    t.i0 = std::clamp<int64_t>(s, 0, in - 1);
    t.i1 = std::clamp<int64_t>(s + 1, 0, in - 1);
    t.w0 = 1.f - f;
    t.w1 = f;
  }
  return taps;
}

void check_sizes(const char* op, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w) {
  CUTTLE_CHECK(in_h > 0 && in_w > 0, op, ": empty source image ", in_h, "x", in_w);
  CUTTLE_CHECK(out_h > 0 && out_w > 0, op, ": output size must be positive, got ", out_h, "x", out_w);
}

// Nearest source index for each output index.
std::vector<int64_t> nearest_index(int64_t in, int64_t out) {
  const double scale = 1.0 / ((double)out / (double)in);
  std::vector<int64_t> idx((size_t)out);
  for (int64_t d = 0; d < out; ++d) idx[(size_t)d] = std::min<int64_t>((int64_t)std::floor((double)d * scale), in - 1);
  return idx;
}

}  // namespace

Image resize_bilinear(const Image& src, int64_t out_h, int64_t out_w) {
  check_sizes("resize_bilinear", src.height, src.width, out_h, out_w);
  const int64_t C = src.channels;
  const std::vector<Tap> tx = axis_taps(src.width, out_w, true), ty = axis_taps(src.height, out_h, false);
  // Fixed-point weights: round(w * 2048), each weight rounded on its own (they need not sum to 2048).
  auto q = [](float w) { return (int32_t)std::lrint(w * 2048.f); };
  // Horizontal pass over every source row: values up to 255 * 2048.
  std::vector<int32_t> rows((size_t)(src.height * out_w * C));
  parallel_for(0, src.height, 64, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y)
      for (int64_t x = 0; x < out_w; ++x) {
        const Tap& t = tx[(size_t)x];
        const int32_t a0 = q(t.w0), a1 = q(t.w1);
        for (int64_t c = 0; c < C; ++c)
          rows[(size_t)((y * out_w + x) * C + c)] = src.at(y, t.i0, c) * a0 + src.at(y, t.i1, c) * a1;
      }
  });
  // Vertical pass as OpenCV's SIMD kernel rounds it: drop 4 bits, 16x16 high multiply by each weight,
  // add, then round away the last 2 bits; saturate to [0, 255].
  Image out(out_h, out_w, C);
  const int64_t row_len = out_w * C;
  parallel_for(0, out_h, 16, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      const Tap& t = ty[(size_t)y];
      const int32_t b0 = q(t.w0), b1 = q(t.w1);
      const int32_t* r0 = rows.data() + t.i0 * row_len;
      const int32_t* r1 = rows.data() + t.i1 * row_len;
      uint8_t* o = out.pixels.data() + y * row_len;
      for (int64_t i = 0; i < row_len; ++i) {
        const int32_t v = (((r0[i] >> 4) * b0) >> 16) + (((r1[i] >> 4) * b1) >> 16);
        o[i] = (uint8_t)std::clamp((v + 2) >> 2, 0, 255);
      }
    }
  });
  return out;
}

GreyImageF resize_bilinear(const GreyImageF& src, int64_t out_h, int64_t out_w) {
  check_sizes("resize_bilinear", src.height, src.width, out_h, out_w);
  const std::vector<Tap> tx = axis_taps(src.width, out_w, true), ty = axis_taps(src.height, out_h, false);
  std::vector<float> rows((size_t)(src.height * out_w));
  for (int64_t y = 0; y < src.height; ++y)
    for (int64_t x = 0; x < out_w; ++x) {
      const Tap& t = tx[(size_t)x];
      rows[(size_t)(y * out_w + x)] = src.at(y, t.i0) * t.w0 + src.at(y, t.i1) * t.w1;
    }
  GreyImageF out(out_h, out_w);
  parallel_for(0, out_h, 16, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      const Tap& t = ty[(size_t)y];
      const float* r0 = rows.data() + t.i0 * out_w;
      const float* r1 = rows.data() + t.i1 * out_w;
      for (int64_t x = 0; x < out_w; ++x) out.at(y, x) = r0[x] * t.w0 + r1[x] * t.w1;
    }
  });
  return out;
}

Image resize_nearest(const Image& src, int64_t out_h, int64_t out_w) {
  check_sizes("resize_nearest", src.height, src.width, out_h, out_w);
  const std::vector<int64_t> ix = nearest_index(src.width, out_w), iy = nearest_index(src.height, out_h);
  Image out(out_h, out_w, src.channels);
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < out_w; ++x)
      for (int64_t c = 0; c < src.channels; ++c) out.at(y, x, c) = src.at(iy[(size_t)y], ix[(size_t)x], c);
  return out;
}

GreyImageF resize_nearest(const GreyImageF& src, int64_t out_h, int64_t out_w) {
  check_sizes("resize_nearest", src.height, src.width, out_h, out_w);
  const std::vector<int64_t> ix = nearest_index(src.width, out_w), iy = nearest_index(src.height, out_h);
  GreyImageF out(out_h, out_w);
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < out_w; ++x) out.at(y, x) = src.at(iy[(size_t)y], ix[(size_t)x]);
  return out;
}

}  // namespace cuttle::data
