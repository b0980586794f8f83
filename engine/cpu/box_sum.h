// Defines the summed-area-table helpers behind large average-pool windows: the structure loss pools
// its mask with a 31x31 window, where the direct sum costs 961 reads per pixel; a table costs 4.
#pragma once
#include <cstdint>
#include <vector>

namespace cuttle::engine::cpu {

// table[(h) * (W + 1) + w] = sum of plane[0..h) x [0..w), accumulated in double so that the
// differences of large partial sums stay exact to well below f32 rounding.
template <typename T>
void summed_area_table(const T* plane, int64_t H, int64_t W, std::vector<double>& table) {
  table.assign((size_t)((H + 1) * (W + 1)), 0.0);
  for (int64_t h = 0; h < H; ++h) {
    double row = 0;
    for (int64_t w = 0; w < W; ++w) {
      row += (double)plane[h * W + w];
      table[(size_t)((h + 1) * (W + 1) + w + 1)] = table[(size_t)(h * (W + 1) + w + 1)] + row;
    }
  }
}

// Sum over [h0, h1) x [w0, w1) of the plane the table was built from.
inline double box_sum(const std::vector<double>& table, int64_t W, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  const int64_t s = W + 1;
  return table[(size_t)(h1 * s + w1)] - table[(size_t)(h0 * s + w1)] - table[(size_t)(h1 * s + w0)] +
         table[(size_t)(h0 * s + w0)];
}

// The adjoint: adds `value` to every element of [h0, h1) x [w0, w1) through a (H+1) x (W+1) difference
// array; integrate_differences() then turns the array into the per-element totals.
inline void add_box(std::vector<double>& diff, int64_t W, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double value) {
  const int64_t s = W + 1;
  diff[(size_t)(h0 * s + w0)] += value;
  diff[(size_t)(h0 * s + w1)] -= value;
  diff[(size_t)(h1 * s + w0)] -= value;
  diff[(size_t)(h1 * s + w1)] += value;
}

template <typename T>
void integrate_differences(std::vector<double>& diff, int64_t H, int64_t W, T* out) {
  const int64_t s = W + 1;
  for (int64_t h = 0; h < H; ++h) {
    double row = 0;
    for (int64_t w = 0; w < W; ++w) {
      row += diff[(size_t)(h * s + w)];
      if (h > 0) diff[(size_t)(h * s + w)] = row + diff[(size_t)((h - 1) * s + w)];
      else diff[(size_t)(h * s + w)] = row;
      out[h * W + w] += (T)diff[(size_t)(h * s + w)];
    }
  }
}

}  // namespace cuttle::engine::cpu
