// Declares the vectorised f32 paths of the hot unary ops (Eigen's SIMD exp, tanh, logistic, erf ...),
// used for contiguous f32 tensors; other cases take the generic strided loop.
#pragma once
#include <cstdint>

#include "engine/ops/elementwise.h"

namespace cuttle::engine::cpu {

// out[i] = op(x[i]) for n contiguous floats; returns false when op has no vectorised path.
bool unary_vectorized(UnaryOp op, const float* x, float* out, int64_t n, float param);
// out[i] = grad[i] * op'(x[i]) (y = op(x)); returns false when op has no vectorised path.
bool unary_backward_vectorized(UnaryOp op, const float* grad, const float* x, const float* y, float* out, int64_t n);

}  // namespace cuttle::engine::cpu
