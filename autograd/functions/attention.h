// Declares the differentiable attention functions on Var: scaled dot-product (softmax) attention
// with a fused backward node, and the elu+1 linear attention of the generic "Attention" expert.
#pragma once
#include "autograd/var.h"

namespace cuttle::autograd {

// softmax(scale * q k^T, over the keys) v, per batch entry and head.
// q [..., N, d], k [..., M, d], v [..., M, dv] with equal leading axes (no broadcasting) -> [..., N, dv].
// One node: it saves q, k, v and the probabilities P [..., N, M] (the only N x M tensor kept), and its
// backward is dV = P^T dO, dP = dO v^T, dS = scale * P (dP - rowsum(dP o P)), dq = dS k, dk = dS^T q.
// Inputs may be strided views (permuted heads): the GEMMs read them in place.
Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, double scale);

// Linear attention without a softmax: phi(x) = elu(x) + 1 normalised to sum 1 over the last (head)
// axis; KV = phi(k)^T v, out = phi(q) KV. q, k [..., N, d], v [..., N, dv] -> [..., N, dv].
// Cost O(N d dv): no N x N matrix. Composed of recorded ops, so every step is differentiable.
Var linear_attention(const Var& q, const Var& k, const Var& v);

}  // namespace cuttle::autograd
