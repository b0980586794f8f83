#include "layers/init.h"

#include <cmath>

#include "engine/error.h"

namespace cuttle::layers {

int64_t fan_in(const engine::Shape& w) {
  CUTTLE_CHECK(w.size() >= 2, "fan_in: weight shape ", engine::shape_str(w), " needs at least 2 axes");
  int64_t f = w[1];
  for (size_t i = 2; i < w.size(); ++i) f *= w[i];
  return f;
}

engine::Tensor default_uniform_init(const engine::Shape& shape, int64_t fan_in, engine::Generator& gen,
                                    engine::DType dtype) {
  // gain sqrt(2 / (1 + 5)) times sqrt(3 / fan_in) is exactly 1 / sqrt(fan_in).
  if (fan_in <= 0) return engine::Tensor::zeros(shape, dtype);
  double bound = 1.0 / std::sqrt(double(fan_in));
  return engine::uniform(shape, -bound, bound, dtype, &gen);
}

}  // namespace cuttle::layers
