// Declares the softmax op family: softmax and log_softmax along one axis (max-subtracted, so large
// inputs do not overflow) and their fused backward kernels.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine {

Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);
// grad of x given grad of y = softmax(x): y * (grad - sum(grad * y, axis)).
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t axis);
// grad of x given grad of y = log_softmax(x): grad - exp(y) * sum(grad, axis).
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t axis);

}  // namespace cuttle::engine
