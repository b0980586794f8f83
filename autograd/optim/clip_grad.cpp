#include "autograd/optim/clip_grad.h"

#include <cmath>

#include "engine/ops/optim.h"

namespace cuttle::autograd {

double clip_grad_norm(std::vector<Var>& params, double max_norm) {
  std::vector<Tensor> grads;
  for (const Var& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  // The squares are summed where the gradients live; the norm is the one value read back (the caller
  // needs it on the host to skip a non-finite step).
  const double norm = std::sqrt(engine::sum_of_squares(grads).to(engine::Device::cpu()).item());
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  // In place: a gradient is owned by its parameter (accumulation clones, never aliases).
  std::vector<Tensor> contiguous;
  for (Var& p : params)
    if (p.grad().defined()) {
      if (!p.grad().is_contiguous()) p.set_grad(p.grad().contiguous());
      contiguous.push_back(p.grad());
    }
  engine::scale_(contiguous, scale);
  return norm;
}

}  // namespace cuttle::autograd
