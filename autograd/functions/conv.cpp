#include "autograd/functions/conv.h"

#include "autograd/mac_counter.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

Var conv2d(const Var& x, const Var& w, const Var& bias, const eng::Conv2dParams& p) {
  const Tensor b = bias.defined() ? bias.data() : Tensor();
  Tensor out = eng::conv2d(x.data(), w.data(), b, p);
  count_macs("conv2d", out.numel() * w.size(1) * w.size(2) * w.size(3));  // Cin/groups * kh * kw per output
  // Only what the needed gradients read is kept: x for the weight grad, w for the input grad.
  Tensor xs = w.requires_grad() ? x.data() : Tensor();
  Tensor ws = x.requires_grad() ? w.data() : Tensor();
  return record("conv2d", out, {x, w, bias},
                [xs, ws, x_shape = x.shape(), w_shape = w.shape(), p](const auto& g, const auto& needs) {
                  std::vector<Tensor> grads(3);
                  if (needs[0]) grads[0] = eng::conv2d_backward_input(g[0], ws, x_shape, p);
                  if (needs[1]) grads[1] = eng::conv2d_backward_weight(g[0], xs, w_shape, p);
                  if (needs[2]) grads[2] = eng::conv2d_backward_bias(g[0]);
                  return grads;
                });
}

}  // namespace cuttle::autograd
