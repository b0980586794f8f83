#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

namespace {
double projected(const Tensor& y, const Tensor& v) { return eng::sum(eng::mul(y, v)).item(); }
}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opts) {
  std::vector<Var> vars;
  std::vector<Tensor> work;  // private copies we perturb in place
  for (const Tensor& t : inputs) {
    const bool diff = eng::is_floating(t.dtype());
    CUTTLE_CHECK(!diff || t.dtype() == DType::f64, "gradcheck: floating inputs must be f64, got ", t.str());
    work.push_back(t.clone());
    vars.emplace_back(work.back(), diff);
  }

  Var y = f(vars);
  CUTTLE_CHECK(y.dtype() == DType::f64, "gradcheck: the function returned ", y.data().str(), ", expected f64");
  eng::Generator gen(opts.seed);
  Tensor v = eng::normal(y.shape(), 0.0, 1.0, DType::f64, &gen);
  GradcheckResult res;
  if (!y.requires_grad()) {
    res.ok = false;
    res.message = "the output does not depend on any input that requires grad";
    return res;
  }
  y.backward(v);

  std::ostringstream os;
  int reported = 0;
  NoGradGuard no_grad;
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!vars[i].requires_grad()) continue;
    Tensor analytic = vars[i].grad();
    double* p = work[i].data<double>();
    const Tensor a = analytic.defined() ? analytic.contiguous() : Tensor::zeros(work[i].shape(), DType::f64);
    const double* pa = a.data<double>();
    CUTTLE_CHECK(work[i].is_contiguous(), "gradcheck: input copies are contiguous");
    for (int64_t j = 0; j < work[i].numel(); ++j) {
      const double orig = p[j];
      p[j] = orig + opts.eps;
      const double lp = projected(f(vars).data(), v);
      p[j] = orig - opts.eps;
      const double lm = projected(f(vars).data(), v);
      p[j] = orig;
      const double numeric = (lp - lm) / (2 * opts.eps);
      const double err = std::abs(pa[j] - numeric);
      res.max_abs_error = std::max(res.max_abs_error, err);
      ++res.checked;
      if (!(err <= opts.atol + opts.rtol * std::abs(numeric))) {
        res.ok = false;
        if (reported++ < 5)
          os << "input " << i << " element " << j << ": analytic " << pa[j] << ", numeric " << numeric << "\n";
      }
    }
  }
  res.message = os.str();
  return res;
}

}  // namespace cuttle::autograd
