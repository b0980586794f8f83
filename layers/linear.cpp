#include "layers/linear.h"

#include "autograd/functions/linalg.h"
#include "engine/error.h"
#include "layers/init.h"

namespace cuttle::layers {

Linear::Linear(int64_t in_features, int64_t out_features, engine::Generator& gen, bool with_bias)
    : in_(in_features), out_(out_features) {
  CUTTLE_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive (in ", in_features, ", out ",
               out_features, ")");
  weight = register_parameter("weight", default_uniform_init({out_features, in_features}, in_features, gen));
  if (with_bias) bias = register_parameter("bias", default_uniform_init({out_features}, in_features, gen));
}

Var Linear::forward(const Var& x) {
  CUTTLE_CHECK(x.dim() >= 1 && x.size(-1) == in_, "Linear(", in_, "->", out_, "): input ", x.data().str(),
               " does not end in ", in_);
  return autograd::linear(x, weight, bias);
}

}  // namespace cuttle::layers
