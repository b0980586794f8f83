// Defines plain-loop references for the attention tests: per-head softmax attention and linear
// attention on contiguous [B, heads, N, d] data, and a 1x1 convolution / linear map, in double.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

namespace cuttle::test::naive {

using Vec = std::vector<double>;

// q [G, N, d], k [G, M, d], v [G, M, dv] (G = batch * heads) -> [G, N, dv].
inline Vec sdpa(const Vec& q, const Vec& k, const Vec& v, int64_t G, int64_t N, int64_t M, int64_t d, int64_t dv,
                double scale) {
  Vec out(G * N * dv, 0.0), s(M);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t i = 0; i < N; ++i) {
      double mx = -1e300, z = 0;
      for (int64_t j = 0; j < M; ++j) {
        double acc = 0;
        for (int64_t c = 0; c < d; ++c) acc += q[(g * N + i) * d + c] * k[(g * M + j) * d + c];
        s[j] = acc * scale;
        mx = std::max(mx, s[j]);
      }
      for (int64_t j = 0; j < M; ++j) z += (s[j] = std::exp(s[j] - mx));
      for (int64_t j = 0; j < M; ++j)
        for (int64_t c = 0; c < dv; ++c) out[(g * N + i) * dv + c] += s[j] / z * v[(g * M + j) * dv + c];
    }
  return out;
}

// q, k [G, N, d], v [G, N, dv]: phi = (elu+1) normalised over d; out = phi(q) (phi(k)^T v).
inline Vec linear_attention(const Vec& q, const Vec& k, const Vec& v, int64_t G, int64_t N, int64_t d, int64_t dv) {
  auto phi = [&](const Vec& t) {
    Vec f(t.size());
    for (size_t i = 0; i < t.size(); ++i) f[i] = t[i] > 0 ? t[i] + 1 : std::exp(t[i]);
    for (int64_t r = 0; r < G * N; ++r) {
      double z = 0;
      for (int64_t c = 0; c < d; ++c) z += f[r * d + c];
      for (int64_t c = 0; c < d; ++c) f[r * d + c] /= z;
    }
    return f;
  };
  Vec fq = phi(q), fk = phi(k), out(G * N * dv, 0.0);
  for (int64_t g = 0; g < G; ++g) {
    Vec kv(d * dv, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < dv; ++b) kv[a * dv + b] += fk[(g * N + n) * d + a] * v[(g * N + n) * dv + b];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < dv; ++b) out[(g * N + n) * dv + b] += fq[(g * N + n) * d + a] * kv[a * dv + b];
  }
  return out;
}

// Channels-first 1x1 convolution: x [B, Cin, P] -> [B, Cout, P]; w [Cout, Cin]; b [Cout] or empty.
inline Vec conv1x1(const Vec& x, const Vec& w, const Vec& b, int64_t B, int64_t Cin, int64_t Cout, int64_t P) {
  Vec y(B * Cout * P, 0.0);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t o = 0; o < Cout; ++o)
      for (int64_t p = 0; p < P; ++p) {
        double acc = b.empty() ? 0.0 : b[o];
        for (int64_t c = 0; c < Cin; ++c) acc += w[o * Cin + c] * x[(n * Cin + c) * P + p];
        y[(n * Cout + o) * P + p] = acc;
      }
  return y;
}

// Channels-last linear map: x [R, in] -> [R, out].
inline Vec linear(const Vec& x, const Vec& w, const Vec& b, int64_t R, int64_t in, int64_t out) {
  Vec y(R * out);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int64_t c = 0; c < in; ++c) acc += w[o * in + c] * x[r * in + c];
      y[r * out + o] = acc;
    }
  return y;
}

// Channels-first [B, heads*d, P] (head j = channels [j*d, (j+1)*d)) <-> [B*heads, P, d].
inline Vec to_heads(const Vec& x, int64_t B, int64_t heads, int64_t d, int64_t P) {
  Vec y(x.size());
  for (int64_t n = 0; n < B * heads; ++n)
    for (int64_t c = 0; c < d; ++c)
      for (int64_t p = 0; p < P; ++p) y[(n * P + p) * d + c] = x[(n * d + c) * P + p];
  return y;
}
inline Vec from_heads(const Vec& y, int64_t B, int64_t heads, int64_t d, int64_t P) {
  Vec x(y.size());
  for (int64_t n = 0; n < B * heads; ++n)
    for (int64_t c = 0; c < d; ++c)
      for (int64_t p = 0; p < P; ++p) x[(n * d + c) * P + p] = y[(n * P + p) * d + c];
  return x;
}

}  // namespace cuttle::test::naive
