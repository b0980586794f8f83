// Differentiable bias + activation (autograd/functions/bias_activation.h).
#include "autograd/functions/bias_activation.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

Var bias_activation(const Var& x, const Var& bias, eng::UnaryOp op, double param) {
  const Tensor in = x.data(), b = bias.data();
  Tensor out = eng::bias_activation(in, b, op, param);
  // The backward recomputes x + bias instead of keeping it: one tensor fewer alive until backward.
  return record("bias_activation", out, {x, bias}, [in, b, op, param](const auto& g, const auto& needs) {
    eng::BiasActivationGrads d = eng::bias_activation_backward(g[0], in, b, op, param, needs[1]);
    return std::vector<Tensor>{needs[0] ? d.x : Tensor(), d.bias};
  });
}

}  // namespace cuttle::autograd
