#include "layers/norm.h"

#include "autograd/functions/norm.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"

namespace cuttle::layers {

BatchNorm2d::BatchNorm2d(int64_t channels, const BatchNormOptions& opts) : channels_(channels), opts_(opts) {
  CUTTLE_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got ", channels);
  if (opts.affine) {
    weight = register_parameter("weight", Tensor::ones({channels}));
    bias = register_parameter("bias", Tensor::zeros({channels}));
  }
  if (opts.track_running_stats) {
    register_buffer("running_mean", Tensor::zeros({channels}));
    register_buffer("running_var", Tensor::ones({channels}));
    register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64), /*host=*/true);  // a 0-d counter, as PyTorch
  }
}

Var BatchNorm2d::forward(const Var& x) { return run(x, false); }
Var BatchNorm2d::forward_relu(const Var& x) { return run(x, true); }

Var BatchNorm2d::run(const Var& x, bool relu, const Tensor& running_mean_shift) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == channels_, "BatchNorm2d(", channels_, "): input ", x.data().str(),
               " is not [N, ", channels_, ", H, W]");
  const bool use_batch_stats = uses_batch_statistics();
  CUTTLE_CHECK(!use_batch_stats || x.size(0) * x.size(2) * x.size(3) > 1, "BatchNorm2d(", channels_,
               "): batch statistics need more than one value per channel, input ", x.data().str());
  auto norm = relu ? autograd::batch_norm_relu : autograd::batch_norm;
  if (!opts_.track_running_stats)
    return norm(x, weight, bias, Tensor(), Tensor(), true, opts_.momentum, opts_.eps, Tensor());
  Var y = norm(x, weight, bias, running_mean(), running_var(), is_training(), opts_.momentum, opts_.eps,
               is_training() ? running_mean_shift : Tensor());
  if (is_training()) engine::add_scalar_(num_batches_tracked(), 1);  // in host memory: no launch
  return y;
}

Var BatchNorm2d::forward_shifted(const Var& x, const Var& shift, bool relu) {
  CUTTLE_CHECK(uses_batch_statistics(), "BatchNorm2d(", channels_,
               "): forward_shifted needs batch statistics (training mode or untracked running statistics)");
  CUTTLE_CHECK(shift.dim() == 1 && shift.size(0) == channels_, "BatchNorm2d(", channels_, "): shift ",
               shift.data().str(), " is not [", channels_, "]");
  // running = (1 - m) running + m (mean(x) + shift), inside the statistics kernel.
  return autograd::with_zero_gradient_for(run(x, relu, shift.data()), shift);
}

LayerNorm2d::LayerNorm2d(int64_t channels, double eps, bool affine) : channels_(channels), eps_(eps) {
  CUTTLE_CHECK(channels > 0, "LayerNorm2d: channels must be positive, got ", channels);
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({channels}));
    bias = register_parameter("bias", Tensor::zeros({channels}));
  }
}

Var LayerNorm2d::forward(const Var& x) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == channels_, "LayerNorm2d(", channels_, "): input ", x.data().str(),
               " is not [N, ", channels_, ", H, W]");
  return autograd::layer_norm2d(x, weight, bias, eps_);
}

LayerNorm::LayerNorm(int64_t dim, double eps, bool affine) : dim_(dim), eps_(eps) {
  CUTTLE_CHECK(dim > 0, "LayerNorm: size must be positive, got ", dim);
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({dim}));
    bias = register_parameter("bias", Tensor::zeros({dim}));
  }
}

Var LayerNorm::forward(const Var& x) {
  CUTTLE_CHECK(x.dim() >= 1 && x.size(-1) == dim_, "LayerNorm(", dim_, "): input ", x.data().str(),
               " does not end in ", dim_);
  return autograd::layer_norm(x, weight, bias, eps_);
}

}  // namespace cuttle::layers
