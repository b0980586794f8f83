// Declares global-norm gradient clipping over a set of parameters.
#pragma once
#include <vector>

#include "autograd/var.h"

namespace cuttle::autograd {

// Scales every defined gradient by max_norm / total_norm when the total L2 norm exceeds max_norm;
// returns the norm before clipping (inf or NaN is returned unscaled so the caller can skip the step).
double clip_grad_norm(std::vector<Var>& params, double max_norm);

}  // namespace cuttle::autograd
