#include "autograd/functions/attention.h"

#include "autograd/functions/elementwise.h"
#include "autograd/functions/linalg.h"
#include "autograd/functions/reduce.h"
#include "autograd/mac_counter.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "engine/ops/softmax.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

namespace {

// q [..., N, d], k [..., M, d], v [..., M, dv]: same rank, same leading axes.
void check_qkv(const char* op, const Var& q, const Var& k, const Var& v, bool same_kv_len) {
  CUTTLE_CHECK(q.defined() && k.defined() && v.defined(), op, ": q, k and v must be defined");
  const Shape& sq = q.shape();
  const Shape& sk = k.shape();
  const Shape& sv = v.shape();
  const std::string shapes = " (q " + eng::shape_str(sq) + ", k " + eng::shape_str(sk) + ", v " + eng::shape_str(sv) + ")";
  CUTTLE_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op,
               ": q, k and v must have the same rank >= 2", shapes);
  for (int64_t i = 0; i + 2 < q.dim(); ++i)
    CUTTLE_CHECK(sq[i] == sk[i] && sq[i] == sv[i], op, ": leading (batch, head) axes differ", shapes);
  CUTTLE_CHECK(sk.back() == sq.back(), op, ": q and k must share the last (head) size", shapes);
  CUTTLE_CHECK(sk[sk.size() - 2] == sv[sv.size() - 2], op, ": k and v must have as many tokens", shapes);
  if (same_kv_len)
    CUTTLE_CHECK(sq[sq.size() - 2] == sk[sk.size() - 2], op, ": q and k must have as many tokens", shapes);
  CUTTLE_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), op, ": q, k and v must share one dtype", shapes);
}

// elu(x) + 1 (> 0 everywhere) normalised to sum 1 over the last axis.
Var positive_feature_map(const Var& x) {
  Var phi = elu(x) + 1.0;
  return phi / sum(phi, {-1}, true);
}

}  // namespace

Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, double scale) {
  check_qkv("scaled_dot_product_attention", q, k, v, false);
  const Tensor qd = q.data(), kd = k.data(), vd = v.data();
  Tensor s = eng::matmul(qd, kd, false, true);  // [..., N, M], fresh and contiguous
  eng::mul_scalar_(s, scale);
  Tensor p = eng::softmax(s, -1);
  s = Tensor();  // the scores are not needed again: only P is kept
  Tensor out = eng::matmul(p, vd);
  count_macs("attention", p.numel() * qd.size(-1) + out.numel() * vd.size(-2));  // q k^T, then P v
  const bool gq = q.requires_grad(), gk = k.requires_grad();
  // Keep only what the needed gradients read.
  return record("scaled_dot_product_attention", out, {q, k, v},
                [p, qd = gk ? qd : Tensor(), kd = gq ? kd : Tensor(), vd = (gq || gk) ? vd : Tensor(), scale](
                    const auto& g, const auto& needs) {
                  const Tensor& go = g[0];
                  Tensor dq, dk, dv;
                  if (needs[2]) dv = eng::matmul(p, go, true, false);  // P^T dO
                  if (needs[0] || needs[1]) {
                    Tensor ds = eng::softmax_backward(eng::matmul(go, vd, false, true), p, -1);
                    eng::mul_scalar_(ds, scale);
                    if (needs[0]) dq = eng::matmul(ds, kd);
                    if (needs[1]) dk = eng::matmul(ds, qd, true, false);
                  }
                  return std::vector<Tensor>{dq, dk, dv};
                });
}

Var linear_attention(const Var& q, const Var& k, const Var& v) {
  check_qkv("linear_attention", q, k, v, true);
  Var kv = matmul(positive_feature_map(k), v, true, false);  // [..., d, dv]
  return matmul(positive_feature_map(q), kv);
}

}  // namespace cuttle::autograd
