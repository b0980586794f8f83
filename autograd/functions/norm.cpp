#include "autograd/functions/norm.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

namespace {
Tensor data_or_none(const Var& v) { return v.defined() ? v.data() : Tensor(); }
std::vector<Tensor> as_vector(eng::NormGrads g) { return {g.input, g.weight, g.bias}; }
eng::NormNeeds to_needs(const std::vector<bool>& n) { return {n[0], n[1], n[2]}; }
}  // namespace

Var batch_norm(const Var& x, const Var& weight, const Var& bias, const Tensor& running_mean,
               const Tensor& running_var, bool training, double momentum, double eps,
               const Tensor& running_mean_shift) {
  const Tensor w = data_or_none(weight);
  eng::BatchNormResult r = eng::batch_norm(x.data(), w, data_or_none(bias), running_mean, running_var, training,
                                           momentum, eps, running_mean_shift);
  return record("batch_norm", r.output, {x, weight, bias},
                [xs = x.data(), w, mean = r.save_mean, invstd = r.save_invstd, training](const auto& g,
                                                                                       const auto& needs) {
                  return as_vector(eng::batch_norm_backward(g[0], xs, w, mean, invstd, training, to_needs(needs)));
                });
}

Var batch_norm_relu(const Var& x, const Var& weight, const Var& bias, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum, double eps,
                    const Tensor& running_mean_shift) {
  const Tensor w = data_or_none(weight);
  eng::BatchNormResult r = eng::batch_norm_relu(x.data(), w, data_or_none(bias), running_mean, running_var, training,
                                                momentum, eps, running_mean_shift);
  // The output doubles as the ReLU mask (the next layer usually keeps it anyway).
  return record("batch_norm_relu", r.output, {x, weight, bias},
                [xs = x.data(), w, y = r.output, mean = r.save_mean, invstd = r.save_invstd, training](
                    const auto& g, const auto& needs) {
                  return as_vector(
                      eng::batch_norm_relu_backward(g[0], y, xs, w, mean, invstd, training, to_needs(needs)));
                });
}

Var with_zero_gradient_for(const Var& y, const Var& cancelled) {
  return record("zero_gradient_for", y.data(), {y, cancelled},
                [shape = cancelled.shape(), dt = cancelled.dtype(), device = cancelled.device()](
                    const auto& g, const auto& needs) {
                  return std::vector<Tensor>{g[0], needs[1] ? Tensor::zeros(shape, dt, device) : Tensor()};
                });
}

Var layer_norm(const Var& x, const Var& weight, const Var& bias, double eps) {
  const Tensor w = data_or_none(weight);
  eng::LayerNormResult r = eng::layer_norm(x.data(), w, data_or_none(bias), eps);
  return record("layer_norm", r.output, {x, weight, bias},
                [xs = x.data(), w, mean = r.mean, invstd = r.invstd](const auto& g, const auto& needs) {
                  return as_vector(eng::layer_norm_backward(g[0], xs, w, mean, invstd, to_needs(needs)));
                });
}

Var layer_norm2d(const Var& x, const Var& weight, const Var& bias, double eps) {
  const Tensor w = data_or_none(weight);
  eng::LayerNormResult r = eng::layer_norm2d(x.data(), w, data_or_none(bias), eps);
  return record("layer_norm2d", r.output, {x, weight, bias},
                [xs = x.data(), w, mean = r.mean, invstd = r.invstd](const auto& g, const auto& needs) {
                  return as_vector(eng::layer_norm2d_backward(g[0], xs, w, mean, invstd, to_needs(needs)));
                });
}

}  // namespace cuttle::autograd
