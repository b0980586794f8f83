// Defines helpers shared by the tests: tensor construction, closeness checks, and the gradcheck
// assertion that prints the mismatches.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace cuttle::test {

// The repository's tests/ folder: $CUTTLE_TEST_DIR when set (a build moved to another machine, where
// the compiled-in path does not exist), else the path the build was configured with.
inline std::string test_dir() {
  const char* env = std::getenv("CUTTLE_TEST_DIR");
  return env && *env ? std::string(env) : std::string(CUTTLE_TEST_DIR);
}

using engine::DType;
using engine::Shape;
using engine::Tensor;

inline Tensor randn(const Shape& s, uint64_t seed, DType dt = DType::f64) {
  engine::Generator g(seed);
  return engine::normal(s, 0.0, 1.0, dt, &g);
}
inline Tensor rand_uniform(const Shape& s, double lo, double hi, uint64_t seed, DType dt = DType::f64) {
  engine::Generator g(seed);
  return engine::uniform(s, lo, hi, dt, &g);
}

// Max |a - b| / max(1, max |b|) over all elements; shapes must match.
inline double max_rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0, scale = 1;
  for (double x : vb) scale = std::max(scale, std::abs(x));
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m / scale;
}

// max |a - b| / max(floor, max |b|): relative to the reference's own largest value, not floored at 1
// like max_rel_diff (for tensors whose scale is far from 1); m itself when that maximum is 0.
inline double rel_to_max(const Tensor& a, const Tensor& b, double floor = 0) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0, scale = floor;
  for (size_t i = 0; i < va.size(); ++i) {
    m = std::max(m, std::abs(va[i] - vb[i]));
    scale = std::max(scale, std::abs(vb[i]));
  }
  return scale > 0 ? m / scale : m;
}

inline void check_close(const Tensor& a, const Tensor& b, double tol) {
  CHECK(max_rel_diff(a, b) <= tol);
}

inline void check_gradcheck(const autograd::GradcheckFn& f, const std::vector<Tensor>& inputs,
                            const autograd::GradcheckOptions& opts = {}) {
  autograd::GradcheckResult r = autograd::gradcheck(f, inputs, opts);
  INFO(r.message);
  CHECK(r.checked > 0);
  CHECK(r.ok);
}

}  // namespace cuttle::test
