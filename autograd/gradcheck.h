// Declares gradcheck: compares a function's analytic gradient (backward) with central finite
// differences in float64, as PyTorch's gradcheck does, through a random projection of the output.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/var.h"

namespace cuttle::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  uint64_t seed = 1234;  // for the output projection
};

struct GradcheckResult {
  bool ok = true;
  std::string message;   // the first mismatches, or empty
  double max_abs_error = 0;
  int64_t checked = 0;   // number of input elements checked
};

using GradcheckFn = std::function<Var(const std::vector<Var>&)>;

// Floating inputs (must be f64) are differentiated; other dtypes pass through as constants.
// L = sum(f(x) * v) for a fixed random v; dL/dx from backward() is compared element by element with
// (L(x + eps) - L(x - eps)) / (2 eps): |analytic - numeric| <= atol + rtol * |numeric|.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opts = {});

}  // namespace cuttle::autograd
