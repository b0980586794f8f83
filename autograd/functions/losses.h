// Declares the loss functions on Var: binary cross-entropy on logits (stable, fused backward), mean
// squared error, and cross-entropy over class logits.
#pragma once
#include "autograd/var.h"

namespace cuttle::autograd {

enum class Reduction { none, mean, sum };

// max(x, 0) - x t + log1p(exp(-|x|)) per element (= softplus(x) - x t, no overflow for any x); the
// backward is the fused (sigmoid(x) - t) g. target has the logits' shape and may require grad.
Var binary_cross_entropy_with_logits(const Var& logits, const Var& target, Reduction reduction = Reduction::mean);
// (input - target)^2 per element; shapes must match.
Var mse_loss(const Var& input, const Var& target, Reduction reduction = Reduction::mean);
// -log_softmax(logits)[i, target[i]] for logits [N, C] and class indices target (i64 or i32) [N].
Var cross_entropy(const Var& logits, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace cuttle::autograd
