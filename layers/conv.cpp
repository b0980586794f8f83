#include "layers/conv.h"

#include "autograd/functions/bias_activation.h"
#include "autograd/functions/conv.h"
#include "autograd/functions/elementwise.h"
#include "engine/error.h"
#include "layers/init.h"

namespace cuttle::layers {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel, engine::Generator& gen,
               const Conv2dOptions& opts)
    : in_(in_channels), out_(out_channels), kernel_(kernel), opts_(opts) {
  CUTTLE_CHECK(in_channels > 0 && out_channels > 0 && kernel[0] > 0 && kernel[1] > 0,
               "Conv2d: channels and kernel must be positive (in ", in_channels, ", out ", out_channels,
               ", kernel ", kernel[0], "x", kernel[1], ")");
  CUTTLE_CHECK(opts.groups > 0 && in_channels % opts.groups == 0 && out_channels % opts.groups == 0,
               "Conv2d: groups ", opts.groups, " must divide in_channels ", in_channels, " and out_channels ",
               out_channels);
  CUTTLE_CHECK(opts.stride[0] > 0 && opts.stride[1] > 0 && opts.dilation[0] > 0 && opts.dilation[1] > 0 &&
                   opts.padding[0] >= 0 && opts.padding[1] >= 0,
               "Conv2d: stride and dilation must be positive and padding non-negative");
  Shape wshape{out_channels, in_channels / opts.groups, kernel[0], kernel[1]};
  int64_t fi = fan_in(wshape);
  weight = register_parameter("weight", default_uniform_init(wshape, fi, gen));
  if (opts.bias) bias = register_parameter("bias", default_uniform_init({out_channels}, fi, gen));
}

namespace {

engine::Conv2dParams conv_params(const Conv2dOptions& o) {
  engine::Conv2dParams p;
  p.stride_h = o.stride[0];
  p.stride_w = o.stride[1];
  p.pad_h = o.padding[0];
  p.pad_w = o.padding[1];
  p.dil_h = o.dilation[0];
  p.dil_w = o.dilation[1];
  p.groups = o.groups;
  return p;
}

}  // namespace

Var Conv2d::forward(const Var& x) {
  check_input(x);
  return autograd::conv2d(x, weight, bias, conv_params(opts_));
}

Var Conv2d::forward_unbiased(const Var& x) {
  check_input(x);
  return autograd::conv2d(x, weight, Var(), conv_params(opts_));
}

void Conv2d::check_input(const Var& x) const {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == in_, "Conv2d(", in_, "->", out_, "): input ", x.data().str(),
               " is not [N, ", in_, ", H, W]");
}

Var Conv2d::forward_activated(const Var& x, engine::UnaryOp act, double param) {
  if (!bias.defined()) return autograd::unary(act, forward(x), param);
  return autograd::bias_activation(forward_unbiased(x), bias, act, param);
}

}  // namespace cuttle::layers
