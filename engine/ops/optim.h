// Declares the fused training updates over lists of tensors: AdamW and SGD steps, the sum of squares
// behind gradient clipping, in-place scaling, and the EMA of weights. Each works on a whole list at
// once so that the CUDA backend can update ~1000 small parameters with a few launches; tensors on the
// CPU and on GPUs may be mixed in one list (each device's share goes to its own backend).
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace cuttle::engine {

// One parameter of an AdamW step. w, exp_avg, exp_avg_sq are updated in place; all four are
// contiguous with one shape, dtype (f32 or f64) and device. The scalars are per parameter (its group's
// lr and weight decay, its own step count), computed on the host in double.
struct AdamWSlot {
  Tensor w, grad, exp_avg, exp_avg_sq;
  double decay_factor = 1;  // 1 - lr * weight_decay
  double step_size = 0;     // lr / (1 - beta1^step)
  double bc2_sqrt = 1;      // sqrt(1 - beta2^step)
};
void adamw_update(std::vector<AdamWSlot>& slots, double beta1, double beta2, double eps);

// One parameter of an SGD step; `momentum_buf` undefined means plain SGD. `first`: the buffer is
// being started this step (it takes the gradient, undamped).
struct SGDSlot {
  Tensor w, grad, momentum_buf;
  double lr = 0, weight_decay = 0;
  bool first = false;
};
void sgd_update(std::vector<SGDSlot>& slots, double momentum, double dampening, bool nesterov);

// Sum over every element of every tensor of x^2, accumulated in double: an f64 scalar on the tensors'
// device (one device for the whole list), left there (no host read). Floating tensors, any layout.
Tensor sum_of_squares(const std::vector<Tensor>& tensors);
// t *= s for every tensor, in place; floating, contiguous.
void scale_(std::vector<Tensor>& tensors, double s);
// avg = decay * avg + (1 - decay) * now for each pair (the CPU's mul_scalar_ then add_, in the
// tensors' type); avg contiguous, now same shape, dtype and device.
void ema_update_(std::vector<Tensor>& avg, const std::vector<Tensor>& now, double decay);

}  // namespace cuttle::engine
