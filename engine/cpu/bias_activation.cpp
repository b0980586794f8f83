// CPU bias + activation (engine/ops/bias_activation.h): the composition of the broadcast add, the
// unary op and the channel sum of the convolution bias gradient, so it agrees with the unfused path.
#include "engine/ops/bias_activation.h"

#include "engine/cpu/cpu_only.h"
#include "engine/device_route.h"
#include "engine/ops/conv.h"

#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/bias_activation.h"
#endif

namespace cuttle::engine {

namespace {

void check_operands(const char* op, const Tensor& x, const Tensor& bias, UnaryOp act) {
  CUTTLE_CHECK(is_fusable_activation(act), op, ": ", unary_op_name(act),
               " is not an activation (relu, gelu, sigmoid, tanh, softplus, elu)");
  CUTTLE_CHECK(x.defined() && bias.defined(), op, ": an input tensor is undefined");
  CUTTLE_CHECK(x.dim() == 4, op, ": x must be [N, C, H, W], got ", x.str());
  CUTTLE_CHECK(bias.dim() == 1 && bias.size(0) == x.size(1), op, ": bias ", bias.str(), " does not fit ", x.str());
  CUTTLE_CHECK(bias.dtype() == x.dtype(), op, ": dtype mismatch, ", x.str(), " vs ", bias.str());
}

Tensor biased(const Tensor& x, const Tensor& bias) { return add(x, bias.reshape({1, bias.size(0), 1, 1})); }

}  // namespace

bool is_fusable_activation(UnaryOp op) {
  using U = UnaryOp;
  return op == U::relu || op == U::gelu || op == U::sigmoid || op == U::tanh || op == U::softplus || op == U::elu;
}

Tensor bias_activation(const Tensor& x, const Tensor& bias, UnaryOp op, double param) {
  check_operands("bias_activation", x, bias, op);
  CUTTLE_ROUTE_CUDA("bias_activation", cuda::bias_activation(x, bias, op, param), x, bias);
  cpu::require_cpu("bias_activation", x, bias);
  return unary(op, biased(x, bias), param);
}

BiasActivationGrads bias_activation_backward(const Tensor& grad, const Tensor& x, const Tensor& bias, UnaryOp op,
                                             double param, bool need_bias) {
  check_operands("bias_activation_backward", x, bias, op);
  CUTTLE_CHECK(grad.defined() && grad.shape() == x.shape(), "bias_activation_backward: grad ",
               grad.defined() ? grad.str() : "undefined", " does not match x ", x.str());
  CUTTLE_ROUTE_CUDA("bias_activation_backward", cuda::bias_activation_backward(grad, x, bias, op, param, need_bias),
                    grad, x, bias);
  cpu::require_cpu("bias_activation_backward", grad, x, bias);
  const Tensor z = biased(x, bias);
  const Tensor y = unary(op, z, param);  // unary_backward takes both, whichever the derivative reads
  BiasActivationGrads out;
  out.x = unary_backward(op, grad, z, y, param);
  if (need_bias) out.bias = conv2d_backward_bias(out.x);
  return out;
}

}  // namespace cuttle::engine
