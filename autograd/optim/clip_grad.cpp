#include "autograd/optim/clip_grad.h"

#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace cuttle::autograd {

double clip_grad_norm(std::vector<Var>& params, double max_norm) {
  double sq = 0;
  for (const Var& p : params)
    if (p.grad().defined()) {
      const Tensor g = p.grad().to(engine::DType::f64);
      sq += engine::sum(engine::mul(g, g)).item();
    }
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  for (Var& p : params)
    if (p.grad().defined()) p.set_grad(engine::binary_scalar(engine::BinaryOp::mul, p.grad(), scale));
  return norm;
}

}  // namespace cuttle::autograd
