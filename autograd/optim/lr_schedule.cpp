#include "autograd/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace cuttle::autograd {

double WarmupCosine::lr(int64_t step) const {
  if (step < warmup_steps) {
    const double t = (double)step / (double)warmup_steps;
    return base_lr * (start_factor + (1.0 - start_factor) * t);
  }
  const int64_t decay = std::max<int64_t>(total_steps - warmup_steps, 1);
  const double t = std::min(1.0, (double)(step - warmup_steps) / (double)decay);
  return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * t));
}

}  // namespace cuttle::autograd
