// Defines the "model" case list of bench_ops: the ops and shapes where CamoXpert (pvt_v2_b2 dims
// [64,128,320,512], head width 64) spends its time at 352x352, batch N, each a forward and a backward
// pass. tools/bench_ops_torch.py mirrors this list name for name; keep the two in step.
//   88x88 (stride 4): expert convs on f1 (CODFrequency/ContrastEnhancement 5x5 and 7x7, CODTexture
//     dilated 3x3 on C/4 = 16 channels, CODHybrid depthwise 5x5, 1x1s), PVTv2-b2 stage-1 MLP depthwise
//     3x3 (hidden 512), its attention softmax (7744 queries x 121 keys, sr 8), LayerNorm2d, GELU
//   176x176 (H/2): decoder.3 (128->64 after the x2 upsample), ra.fuse, ra.bg
//   352x352 (H): unc.*, refine.blocks.* (66->64, 64->64), the 1x1 heads, BN+ReLU, ReLU, add
// A pass is prepared (inputs made on the device) only when it runs, so an op without a kernel on the
// device reports n/a and the rest go on.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/ops/bias_activation.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/interpolate.h"
#include "engine/ops/norm.h"
#include "engine/ops/softmax.h"
#include "engine/random.h"

namespace cuttle::bench {

using engine::Device;
using engine::Shape;
using engine::Tensor;

struct BenchPass {
  std::string op, shape, pass;
  double bytes = 0;  // minimal memory traffic (each input read once, each output written once); 0: n/a
  // Makes the inputs on the device and returns the call to time (throws cuttle::Error where the op has
  // no kernel on the device).
  std::function<std::function<void()>()> prepare;
};

inline std::string shape_text(const Shape& s) { return engine::shape_str(s); }

inline Tensor bench_input(const Shape& s, double std, Device d, uint64_t seed) {
  engine::Generator gen(seed);
  return engine::normal(s, 0, std, engine::DType::f32, &gen).to(d);
}

inline void add_conv(std::vector<BenchPass>& out, Device d, int64_t n, int64_t c, int64_t hw, int64_t o, int64_t k,
                     int64_t dil, int64_t groups) {
  engine::Conv2dParams p;
  p.pad_h = p.pad_w = dil * (k - 1) / 2;
  p.dil_h = p.dil_w = dil;
  p.groups = groups;
  const Shape xs{n, c, hw, hw}, ws{o, c / groups, k, k};
  std::string op = "conv" + std::to_string(k) + "x" + std::to_string(k) + " " + std::to_string(c) + "->" + std::to_string(o);
  if (dil > 1) op += " dil" + std::to_string(dil);
  if (groups > 1) op += " g" + std::to_string(groups);
  out.push_back({op, shape_text(xs), "forward", 0, [=] {
                   Tensor x = bench_input(xs, 1, d, 1), w = bench_input(ws, 0.05, d, 2), b = bench_input({o}, 0.05, d, 3);
                   return std::function<void()>([=] { engine::conv2d(x, w, b, p); });
                 }});
  // Backward: the input, weight and bias gradients (what autograd computes for a conv with a bias).
  out.push_back({op, shape_text(xs), "backward", 0, [=] {
                   Tensor x = bench_input(xs, 1, d, 1), w = bench_input(ws, 0.05, d, 2);
                   Tensor gy = bench_input(engine::conv2d_output_shape(xs, ws, p), 1, d, 4);
                   return std::function<void()>([=] {
                     engine::conv2d_backward_input(gy, w, xs, p);
                     engine::conv2d_backward_weight(gy, x, ws, p);
                     engine::conv2d_backward_bias(gy);
                   });
                 }});
}

// BatchNorm2d in training (batch statistics, running stats updated) fused with the ReLU that follows
// (ConvBNReLU); PyTorch runs the two as separate kernels.
inline void add_bn_relu(std::vector<BenchPass>& out, Device d, const Shape& s) {
  const int64_t c = s[1];
  const double n = (double)engine::shape_numel(s) * 4;
  auto params = [=] {
    return std::vector<Tensor>{Tensor::ones({c}, engine::DType::f32, d), Tensor::zeros({c}, engine::DType::f32, d),
                               Tensor::zeros({c}, engine::DType::f32, d), Tensor::ones({c}, engine::DType::f32, d)};
  };
  out.push_back({"batch_norm+relu (train)", shape_text(s), "forward", 2 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 5);
                   std::vector<Tensor> pr = params();
                   return std::function<void()>(
                       [=] { engine::batch_norm_relu(x, pr[0], pr[1], pr[2], pr[3], true); });
                 }});
  out.push_back({"batch_norm+relu (train)", shape_text(s), "backward", 3 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 5), gy = bench_input(s, 1, d, 6);
                   std::vector<Tensor> pr = params();
                   engine::BatchNormResult r = engine::batch_norm_relu(x, pr[0], pr[1], pr[2], pr[3], true);
                   return std::function<void()>([=] {
                     engine::batch_norm_relu_backward(gy, r.output, x, pr[0], r.save_mean, r.save_invstd, true);
                   });
                 }});
}

inline void add_layer_norm2d(std::vector<BenchPass>& out, Device d, const Shape& s) {
  const int64_t c = s[1];
  const double n = (double)engine::shape_numel(s) * 4;
  out.push_back({"layer_norm2d", shape_text(s), "forward", 2 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 7), w = Tensor::ones({c}, engine::DType::f32, d),
                          b = Tensor::zeros({c}, engine::DType::f32, d);
                   return std::function<void()>([=] { engine::layer_norm2d(x, w, b); });
                 }});
  out.push_back({"layer_norm2d", shape_text(s), "backward", 3 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 7), gy = bench_input(s, 1, d, 8),
                          w = Tensor::ones({c}, engine::DType::f32, d), b = Tensor::zeros({c}, engine::DType::f32, d);
                   engine::LayerNormResult r = engine::layer_norm2d(x, w, b);
                   return std::function<void()>(
                       [=] { engine::layer_norm2d_backward(gy, x, w, r.mean, r.invstd); });
                 }});
}

inline void add_unary(std::vector<BenchPass>& out, Device d, const std::string& name, engine::UnaryOp op,
                      const Shape& s) {
  const double n = (double)engine::shape_numel(s) * 4;
  out.push_back({name, shape_text(s), "forward", 2 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 9);
                   return std::function<void()>([=] { engine::unary(op, x); });
                 }});
  out.push_back({name, shape_text(s), "backward", 3 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 9), gy = bench_input(s, 1, d, 10);
                   Tensor y = engine::unary(op, x);
                   return std::function<void()>([=] { engine::unary_backward(op, gy, x, y); });
                 }});
}

inline void add_upsample(std::vector<BenchPass>& out, Device d, const Shape& s) {
  const Shape os{s[0], s[1], 2 * s[2], 2 * s[3]};
  const double bytes = (double)(engine::shape_numel(s) + engine::shape_numel(os)) * 4;
  out.push_back({"bilinear x2", shape_text(s), "forward", bytes, [=] {
                   Tensor x = bench_input(s, 1, d, 11);
                   return std::function<void()>([=] { engine::resize_bilinear(x, os[2], os[3], false); });
                 }});
  out.push_back({"bilinear x2", shape_text(s), "backward", bytes, [=] {
                   Tensor gy = bench_input(os, 1, d, 12);
                   return std::function<void()>([=] { engine::resize_bilinear_backward(gy, s, false); });
                 }});
}

inline void add_softmax(std::vector<BenchPass>& out, Device d, const Shape& s) {
  const double n = (double)engine::shape_numel(s) * 4;
  out.push_back({"softmax (last axis)", shape_text(s), "forward", 2 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 13);
                   return std::function<void()>([=] { engine::softmax(x, -1); });
                 }});
  out.push_back({"softmax (last axis)", shape_text(s), "backward", 3 * n, [=] {
                   Tensor x = bench_input(s, 1, d, 13), gy = bench_input(s, 1, d, 14);
                   Tensor y = engine::softmax(x, -1);
                   return std::function<void()>([=] { engine::softmax_backward(gy, y, -1); });
                 }});
}

// The model list for batch n on device d, plus the device-to-device copy that element-wise ops are
// measured against.
inline std::vector<BenchPass> model_passes(Device d, int64_t n) {
  std::vector<BenchPass> out;
  const Shape copy_shape{n, 64, 352, 352};
  out.push_back({"copy (reference)", shape_text(copy_shape), "d2d", 2.0 * engine::shape_numel(copy_shape) * 4, [=] {
                   Tensor src = bench_input(copy_shape, 1, d, 15);
                   Tensor dst = Tensor::empty(copy_shape, engine::DType::f32, d);
                   return std::function<void()>([=]() mutable { dst.copy_(src); });
                 }});
  // Full-resolution 3x3 convs of the head at width 64.
  add_conv(out, d, n, 64, 88, 64, 3, 1, 1);
  add_conv(out, d, n, 64, 176, 64, 3, 1, 1);
  add_conv(out, d, n, 64, 352, 64, 3, 1, 1);
  add_conv(out, d, n, 128, 176, 64, 3, 1, 1);  // decoder.3.0
  add_conv(out, d, n, 66, 352, 64, 3, 1, 1);   // refine.blocks.*.0
  // CODFrequency / ContrastEnhancement branches on f1.
  add_conv(out, d, n, 64, 88, 16, 5, 1, 1);
  add_conv(out, d, n, 64, 88, 16, 7, 1, 1);
  // CODTexture dilated branches (C/4 channels).
  for (int64_t dil : {1, 2, 4, 8}) add_conv(out, d, n, 16, 88, 16, 3, dil, 1);
  // Depthwise: PVTv2-b2 stage-1 MLP (hidden 512), CODHybrid local 5x5.
  add_conv(out, d, n, 512, 88, 512, 3, 1, 512);
  add_conv(out, d, n, 64, 88, 64, 5, 1, 64);
  // 1x1: expert fusion/CODHybrid, CODTexture branch entry, the prediction heads at full resolution.
  add_conv(out, d, n, 64, 88, 64, 1, 1, 1);
  add_conv(out, d, n, 64, 88, 16, 1, 1, 1);
  add_conv(out, d, n, 64, 352, 1, 1, 1, 1);
  add_bn_relu(out, d, {n, 64, 88, 88});
  add_bn_relu(out, d, {n, 64, 352, 352});
  add_layer_norm2d(out, d, {n, 64, 88, 88});
  add_unary(out, d, "gelu", engine::UnaryOp::gelu, {n, 512, 88, 88});
  add_unary(out, d, "relu", engine::UnaryOp::relu, {n, 64, 352, 352});
  // A convolution's bias and the activation after it (PVT's MLP dwconv + GELU; expert conv + ReLU).
  const Shape ba_shape{n, 512, 88, 88};
  const double ba_bytes = (double)engine::shape_numel(ba_shape) * 4;
  out.push_back({"bias+gelu", shape_text(ba_shape), "forward", 2 * ba_bytes, [=] {
                   Tensor x = bench_input(ba_shape, 1, d, 22), b = bench_input({512}, 1, d, 23);
                   return std::function<void()>([=] { engine::bias_activation(x, b, engine::UnaryOp::gelu); });
                 }});
  out.push_back({"bias+gelu", shape_text(ba_shape), "backward", 3 * ba_bytes, [=] {
                   Tensor x = bench_input(ba_shape, 1, d, 22), b = bench_input({512}, 1, d, 23);
                   Tensor gy = bench_input(ba_shape, 1, d, 24);
                   return std::function<void()>(
                       [=] { engine::bias_activation_backward(gy, x, b, engine::UnaryOp::gelu, 1.0, true); });
                 }});
  const Shape add_shape{n, 64, 352, 352};
  out.push_back({"add", shape_text(add_shape), "forward", 3.0 * engine::shape_numel(add_shape) * 4, [=] {
                   Tensor a = bench_input(add_shape, 1, d, 16), b = bench_input(add_shape, 1, d, 17);
                   return std::function<void()>([=] { engine::add(a, b); });
                 }});
  add_upsample(out, d, {n, 128, 88, 88});
  add_upsample(out, d, {n, 64, 176, 176});
  add_softmax(out, d, {n, 7744, 121});
  // Layout traffic the whole-model profile shows: a per-channel broadcast (conv bias, gates), PVT's
  // token/map transposes, and GELU over PVT's transposed tokens (the MLP's dwconv output).
  const Shape bc_shape{n, 64, 352, 352}, tok_shape{n, 7744, 64}, mlp_shape{n, 512, 7744};
  out.push_back({"add (channel broadcast)", shape_text(bc_shape), "forward", 2.0 * engine::shape_numel(bc_shape) * 4,
                 [=] {
                   Tensor a = bench_input(bc_shape, 1, d, 18), b = bench_input({1, 64, 1, 1}, 1, d, 19);
                   return std::function<void()>([=] { engine::add(a, b); });
                 }});
  out.push_back({"transpose(1,2) copy", shape_text(tok_shape), "forward", 2.0 * engine::shape_numel(tok_shape) * 4,
                 [=] {
                   Tensor a = bench_input(tok_shape, 1, d, 20);
                   return std::function<void()>([=] { (void)a.transpose(1, 2).contiguous(); });
                 }});
  out.push_back({"gelu (transposed view)", shape_text(mlp_shape), "forward", 2.0 * engine::shape_numel(mlp_shape) * 4,
                 [=] {
                   Tensor a = bench_input(mlp_shape, 1, d, 21);
                   return std::function<void()>([=] { engine::unary(engine::UnaryOp::gelu, a.transpose(1, 2)); });
                 }});
  return out;
}

}  // namespace cuttle::bench
