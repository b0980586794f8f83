// Defines helpers for the backbone tests: the tiny PVTv2 configuration used throughout, timm's state
// names for a PVTv2 written out from its layout, and FeaturesAsOne, which presents a backbone's four
// maps as one flat output so the module gradcheck can drive it, and directional_gradcheck, a cheap
// gradcheck along random directions for modules too slow to check element by element.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions/join.h"
#include "autograd/grad_mode.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "autograd/functions/views.h"
#include "models/backbones/pvt_v2.h"
#include "tests/test_util.h"

namespace cuttle::test {

// dims [8, 16, 16, 16], one block and one head per stage: small enough for a float64 gradcheck.
inline models::PvtV2Config tiny_pvt_config() {
  models::PvtV2Config c;
  c.embed_dims = {8, 16, 16, 16};
  c.depths = {1, 1, 1, 1};
  c.num_heads = {1, 1, 1, 1};
  return c;
}

// timm's state_dict names of PyramidVisionTransformerV2 (head excluded), in timm's order.
inline std::vector<std::string> timm_pvt_names(const models::PvtV2Config& c) {
  std::vector<std::string> n;
  auto wb = [&](const std::string& p) {
    n.push_back(p + ".weight");
    n.push_back(p + ".bias");
  };
  wb("patch_embed.proj");
  wb("patch_embed.norm");
  for (int i = 0; i < 4; ++i) {
    const std::string s = "stages." + std::to_string(i) + ".";
    if (i > 0) {
      wb(s + "downsample.proj");
      wb(s + "downsample.norm");
    }
    for (int64_t j = 0; j < c.depths[i]; ++j) {
      const std::string b = s + "blocks." + std::to_string(j) + ".";
      wb(b + "norm1");
      wb(b + "attn.q");
      wb(b + "attn.kv");
      wb(b + "attn.proj");
      if (c.sr_ratios[i] > 1) {
        wb(b + "attn.sr");
        wb(b + "attn.norm");
      }
      wb(b + "norm2");
      wb(b + "mlp.fc1");
      wb(b + "mlp.dwconv");
      wb(b + "mlp.fc2");
    }
    wb(s + "norm");
  }
  return n;
}

// forward(x) = the four feature maps, each flattened per sample, concatenated: [B, sum C_i H_i W_i].
class FeaturesAsOne : public layers::UnaryModule {
 public:
  explicit FeaturesAsOne(std::shared_ptr<models::Backbone> b) : net(register_module("net", std::move(b))) {}
  autograd::Var forward(const autograd::Var& x) override {
    std::vector<autograd::Var> flat;
    for (const autograd::Var& f : net->features(x)) flat.push_back(autograd::flatten(f, 1));
    return autograd::concat(flat, 1);
  }
  std::shared_ptr<models::Backbone> net;
};

// Checks the gradient of L = sum(r * m(x)) (r random) w.r.t. the input and every trainable parameter
// along `directions` random directions v jointly over all of them: the central difference
// (L(w + eps v) - L(w - eps v)) / 2 eps must match <grad L, v>. Each direction costs two forwards
// instead of two per element (PyTorch's "fast mode" idea); a wrong gradient anywhere shows in every
// direction with probability 1. Float64 module and input.
inline void check_directional_gradcheck(layers::UnaryModule& m, const Tensor& x, int directions = 8,
                                        uint64_t seed = 99, double eps = 1e-6, double rtol = 1e-6) {
  using autograd::Var;
  namespace ops = engine;
  std::vector<Var> params = m.parameters(true);
  std::vector<Tensor> w{x.clone()};
  for (const Var& p : params) w.push_back(p.data());  // shares the parameters' storage
  m.zero_grad();
  Var xv(w[0], true);
  Var y = m.forward(xv);
  const Tensor r = randn(y.shape(), seed);
  y.backward(r);
  std::vector<Tensor> g{xv.grad().clone()};
  for (const Var& p : params) g.push_back(p.grad().clone());
  auto loss = [&] {
    autograd::NoGradGuard ng;
    return ops::sum(ops::mul(m.forward(Var(w[0])).data(), r)).item();
  };
  for (int k = 0; k < directions; ++k) {
    std::vector<Tensor> v;
    double analytic = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      v.push_back(randn(w[i].shape(), seed + 1000 * (k + 1) + i));
      analytic += ops::sum(ops::mul(g[i], v[i])).item();
    }
    auto shift = [&](double s) {
      for (size_t i = 0; i < w.size(); ++i) w[i].copy_(ops::add(w[i], ops::mul(v[i], Tensor::scalar(s, DType::f64))));
    };
    shift(eps);
    const double lp = loss();
    shift(-2 * eps);
    const double lm = loss();
    shift(eps);  // back to the start (to rounding)
    const double numeric = (lp - lm) / (2 * eps);
    CAPTURE(k);
    CAPTURE(analytic);
    CAPTURE(numeric);
    CHECK(std::abs(analytic - numeric) <= rtol * std::max(1.0, std::abs(analytic)));
  }
  m.zero_grad();
}

}  // namespace cuttle::test
