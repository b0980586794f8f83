#include "engine/random.h"

#include <cmath>

#include "engine/dispatch.h"
#include "engine/parallel.h"

namespace cuttle::engine {

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

namespace {
// Fills t (contiguous, fresh) with value(counter) converted to T.
// `per_element` counters are reserved for each element (Box-Muller reads two), so later draws never
// reuse a counter this one read.
template <typename Fn>
Tensor fill_random(const Shape& shape, DType dtype, Generator* gen, uint64_t per_element, const Fn& value) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, dtype);
  const int64_t n = t.numel();
  const uint64_t seed = g.seed(), base = g.advance((uint64_t)n * per_element);
  dispatch_all(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    parallel_for(0, n, kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = static_cast<T>(value(seed, base + (uint64_t)i * per_element));
    });
  });
  return t;
}
}  // namespace

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Generator* gen) {
  CUTTLE_CHECK(is_floating(dtype), "uniform: dtype must be floating, got ", dtype_name(dtype));
  return fill_random(shape, dtype, gen, 1, [=](uint64_t s, uint64_t c) {
    return low + (high - low) * random_unit(s, c);
  });
}

Tensor normal(const Shape& shape, double mean, double std, DType dtype, Generator* gen) {
  CUTTLE_CHECK(is_floating(dtype), "normal: dtype must be floating, got ", dtype_name(dtype));
  // Box-Muller from two independent streams of the same counter.
  return fill_random(shape, dtype, gen, 2, [=](uint64_t s, uint64_t c) {
    const double u1 = 1.0 - random_unit(s, c), u2 = random_unit(s, c + 1);
    return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  });
}

Tensor bernoulli(const Shape& shape, double p, DType dtype, Generator* gen) {
  CUTTLE_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: p must be in [0,1], got ", p);
  return fill_random(shape, dtype, gen, 1,
                     [=](uint64_t s, uint64_t c) { return random_unit(s, c) < p ? 1.0 : 0.0; });
}

Tensor randint(const Shape& shape, int64_t low, int64_t high, DType dtype, Generator* gen) {
  CUTTLE_CHECK(high > low, "randint: empty range [", low, ",", high, ")");
  const uint64_t span = (uint64_t)(high - low);
  return fill_random(shape, dtype, gen, 1, [=](uint64_t s, uint64_t c) {
    return (double)(low + (int64_t)(random_bits(s, c) % span));
  });
}

Tensor randperm(int64_t n, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::arange(n, DType::i64);
  int64_t* p = t.data<int64_t>();
  const uint64_t seed = g.seed(), base = g.advance((uint64_t)n);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = (int64_t)(random_bits(seed, base + (uint64_t)i) % (uint64_t)(i + 1));
    std::swap(p[i], p[j]);
  }
  return t;
}

}  // namespace cuttle::engine
