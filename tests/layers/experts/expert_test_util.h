// Defines helpers for the expert tests: build an expert in float64 with non-trivial norm state
// (random affine weights and running statistics, so train and eval modes differ) and run its
// module gradcheck.
#pragma once
#include <memory>
#include <string>

#include "layers/experts/experts.h"
#include "tests/layers/module_test_util.h"

namespace cuttle::test {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// 1-D weights (norm scales) ~ U(0.5, 1.5), 1-D biases ~ U(-0.5, 0.5), running means ~ U(-0.3, 0.3),
// running variances ~ U(0.5, 2). Convolution weights keep their init.
inline void randomize_norms(layers::Module& m, uint64_t seed) {
  for (auto& [name, t] : m.state_dict()) {
    const Shape s = t.shape();
    if (t.dim() == 1 && ends_with(name, ".weight"))
      t.copy_(rand_uniform(s, 0.5, 1.5, seed++, t.dtype()));
    else if (t.dim() == 1 && ends_with(name, ".bias"))
      t.copy_(rand_uniform(s, -0.5, 0.5, seed++, t.dtype()));
    else if (ends_with(name, "running_mean"))
      t.copy_(rand_uniform(s, -0.3, 0.3, seed++, t.dtype()));
    else if (ends_with(name, "running_var"))
      t.copy_(rand_uniform(s, 0.5, 2.0, seed++, t.dtype()));
  }
}

// The expert `type` at C channels in float64 with randomised norms, in train or eval mode.
inline std::shared_ptr<layers::UnaryModule> make_f64_expert(const std::string& type, int64_t C, uint64_t seed,
                                                           bool train) {
  engine::Generator gen(seed);
  auto m = layers::make_expert(type, C, gen);
  m->to(DType::f64);
  randomize_norms(*m, seed * 1000 + 1);
  m->train(train);
  return m;
}

// Gradcheck of expert `type` (C = 8, input [2, 8, 8, 8]) w.r.t. its input and every parameter.
inline void gradcheck_expert(const std::string& type, bool train, uint64_t seed) {
  auto m = make_f64_expert(type, 8, seed, train);
  check_module_gradcheck(*m, randn({2, 8, 8, 8}, seed + 7));
}

}  // namespace cuttle::test
