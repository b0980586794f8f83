#include "data/metrics/edt.h"

#include <cmath>

#include "engine/error.h"
#include "engine/parallel.h"

namespace cuttle::data::metrics {

// Two separable passes (Maurer, Qi and Raghavan 2003), in integers, so exact:
//  1. down each column, the nearest foreground row in that column;
//  2. along each row, the lower envelope of the parabolas (x - c)^2 + h_c of the columns c that have a
//     candidate, h_c = squared row distance of column c's candidate, queried left to right.
// Ties are resolved as scipy's implementation of the same algorithm resolves them, which fixes the
// index output among equally near pixels:
//  - pass 1 runs along axis 0 first and keeps the upper (smaller row) of two equally near pixels;
//  - pass 2 drops the envelope's top site only when it is strictly hidden (Maurer's test > 0; a site
//    that ties at a single point stays), and the query moves on to the next site only when that one
//    is strictly nearer, so among equal distances the leftmost site wins.
DistanceTransform distance_to_foreground(const std::vector<uint8_t>& fg, int64_t H, int64_t W) {
  CUTTLE_CHECK((int64_t)fg.size() == H * W && H > 0 && W > 0, "distance_to_foreground: ", fg.size(),
               " values for a ", H, "x", W, " map");
  DistanceTransform out;
  out.height = H;
  out.width = W;
  // Pass 1: column candidate row per pixel, -1 where the column has no foreground.
  std::vector<int32_t> col_row((size_t)(H * W), -1);
  bool any = false;
  for (size_t i = 0; i < fg.size() && !any; ++i) any = fg[i] != 0;
  CUTTLE_CHECK(any, "distance_to_foreground: the map has no foreground pixel");
  engine::parallel_for(0, W, 64, [&](int64_t b, int64_t e) {
    std::vector<int32_t> below((size_t)H);
    for (int64_t x = b; x < e; ++x) {
      int32_t next = -1;  // nearest foreground at or below row y
      for (int64_t y = H - 1; y >= 0; --y) {
        if (fg[(size_t)(y * W + x)]) next = (int32_t)y;
        below[(size_t)y] = next;
      }
      int32_t prev = -1;  // nearest foreground at or above row y
      for (int64_t y = 0; y < H; ++y) {
        if (fg[(size_t)(y * W + x)]) prev = (int32_t)y;
        int32_t best = prev;
        const int32_t down = below[(size_t)y];
        if (down >= 0 && (prev < 0 || down - y < y - prev)) best = down;  // equal: keep the upper one
        col_row[(size_t)(y * W + x)] = best;
      }
    }
  });
  // Pass 2 along rows.
  out.distance.assign((size_t)(H * W), 0.0);
  out.nearest_row.assign((size_t)(H * W), 0);
  out.nearest_col.assign((size_t)(H * W), 0);
  engine::parallel_for(0, H, 16, [&](int64_t b, int64_t e) {
    std::vector<int64_t> site_col((size_t)W), site_h((size_t)W);
    for (int64_t y = b; y < e; ++y) {
      const int32_t* cand = col_row.data() + y * W;
      int64_t k = 0;  // envelope size
      for (int64_t c = 0; c < W; ++c) {
        if (cand[c] < 0) continue;
        const int64_t h = (int64_t)(cand[c] - y) * (cand[c] - y);
        while (k >= 2) {
          // u = second from top, v = top, w = the new site: v is hidden when
          // (w-u) h_v - (w-v) h_u - (v-u) h_w - (v-u)(w-v)(w-u) > 0.
          const int64_t u = site_col[(size_t)(k - 2)], v = site_col[(size_t)(k - 1)];
          const int64_t a = v - u, bb = c - v, cc = a + bb;
          if (cc * site_h[(size_t)(k - 1)] - bb * site_h[(size_t)(k - 2)] - a * h - a * bb * cc <= 0) break;
          --k;
        }
        site_col[(size_t)k] = c;
        site_h[(size_t)k] = h;
        ++k;
      }
      // k >= 1: some column has foreground, so every row sees a candidate.
      int64_t l = 0;
      for (int64_t x = 0; x < W; ++x) {
        int64_t d1 = (site_col[(size_t)l] - x) * (site_col[(size_t)l] - x) + site_h[(size_t)l];
        while (l + 1 < k) {
          const int64_t d2 = (site_col[(size_t)(l + 1)] - x) * (site_col[(size_t)(l + 1)] - x) + site_h[(size_t)(l + 1)];
          if (d1 <= d2) break;
          d1 = d2;
          ++l;
        }
        const size_t i = (size_t)(y * W + x);
        const int64_t c = site_col[(size_t)l];
        out.nearest_col[i] = (int32_t)c;
        out.nearest_row[i] = col_row[(size_t)(y * W + c)];
        out.distance[i] = std::sqrt((double)d1);
      }
    }
  });
  return out;
}

}  // namespace cuttle::data::metrics
