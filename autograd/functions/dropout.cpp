#include "autograd/functions/dropout.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

Var dropout(const Var& x, double p, bool training, eng::Generator* gen) {
  eng::DropoutResult r = eng::dropout(x.data(), p, training, gen);
  if (!r.mask.defined()) return x;  // identity: no node needed
  return record("dropout", r.output, {x}, [mask = r.mask](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::dropout_backward(g[0], mask)};
  });
}

}  // namespace cuttle::autograd
