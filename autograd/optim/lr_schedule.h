// Defines WarmupCosine: linear warm-up from start_factor * base_lr to base_lr, then cosine decay to
// min_lr at total_steps (constant after).
#pragma once
#include <cstdint>

namespace cuttle::autograd {

struct WarmupCosine {
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr = 0.0;
  double start_factor = 0.01;

  // The learning rate for 0-based `step`.
  double lr(int64_t step) const;
};

}  // namespace cuttle::autograd
