// Defines check_module_gradcheck: a float64 gradcheck of a module with respect to its input AND its
// trainable parameters. For each evaluation the parameters are rebound to (an identity of)
// gradcheck's inputs, so gradients reach them; the original parameters are restored afterwards.
#pragma once
#include <vector>

#include "autograd/functions/elementwise.h"
#include "layers/module.h"
#include "tests/test_util.h"

namespace cuttle::test {

inline autograd::GradcheckResult module_gradcheck(layers::UnaryModule& m, const Tensor& x,
                                                  const autograd::GradcheckOptions& opts = {}) {
  using autograd::Var;
  using autograd::VarImpl;
  std::vector<Var> params = m.parameters(true);
  std::vector<VarImpl> saved;
  std::vector<Tensor> inputs{x};
  for (const Var& p : params) {
    REQUIRE(p.dtype() == DType::f64);
    saved.push_back(*p.impl());
    inputs.push_back(p.data().clone());
  }
  struct Restore {  // also on a failed REQUIRE or an exception
    std::vector<Var>& params;
    std::vector<VarImpl>& saved;
    ~Restore() {
      for (size_t i = 0; i < params.size(); ++i) *params[i].impl() = saved[i];
    }
  } restore{params, saved};
  return autograd::gradcheck(
      [&](const std::vector<Var>& v) {
        for (size_t i = 0; i < params.size(); ++i) {
          Var routed = v[i + 1] * 1.0;  // a non-leaf whose gradient flows into gradcheck's input
          *params[i].impl() = *routed.impl();
        }
        return m.forward(v[0]);
      },
      inputs, opts);
}

// Checks every element of the input and of the trainable parameters.
inline void check_module_gradcheck(layers::UnaryModule& m, const Tensor& x, const autograd::GradcheckOptions& opts = {}) {
  autograd::GradcheckResult r = module_gradcheck(m, x, opts);
  INFO(r.message);
  CHECK(r.checked == x.numel() + m.num_parameters(true));
  CHECK(r.ok);
}

}  // namespace cuttle::test
