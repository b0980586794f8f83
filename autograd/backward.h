// Declares backward(): the reverse walk over the tape from one or more roots.
#pragma once
#include <vector>

#include "autograd/var.h"

namespace cuttle::autograd {

// Back-propagates grads[i] from roots[i]; leaves accumulate into .grad.
void backward(const std::vector<Var>& roots, const std::vector<Tensor>& grads, bool retain_graph = false);

}  // namespace cuttle::autograd
