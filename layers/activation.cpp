#include "layers/activation.h"

#include "autograd/functions/elementwise.h"
#include "engine/error.h"

namespace cuttle::layers {

Var ReLU::forward(const Var& x) { return autograd::relu(x); }
Var GELU::forward(const Var& x) { return autograd::gelu(x); }
Var Sigmoid::forward(const Var& x) { return autograd::sigmoid(x); }

Softplus::Softplus(double beta) : beta_(beta) {
  CUTTLE_CHECK(beta > 0, "Softplus: beta must be positive, got ", beta);
}
Var Softplus::forward(const Var& x) {
  if (beta_ == 1.0) return autograd::softplus(x);
  return autograd::softplus(x * beta_) * (1.0 / beta_);
}

Var ELU::forward(const Var& x) { return autograd::elu(x, alpha_); }

}  // namespace cuttle::layers
