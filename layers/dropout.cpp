#include "layers/dropout.h"

#include "autograd/functions/dropout.h"
#include "engine/error.h"

namespace cuttle::layers {

Dropout::Dropout(double p, engine::Generator* gen) : p_(p), gen_(gen) {
  CUTTLE_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got ", p);
}

Var Dropout::forward(const Var& x) {
  if (!is_training() || p_ == 0) return x;
  return autograd::dropout(x, p_, true, gen_ ? gen_ : &engine::default_generator());
}

}  // namespace cuttle::layers
