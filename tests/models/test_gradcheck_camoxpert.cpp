// Float64 gradchecks of CamoXpert (eval mode, frozen MoE routing, stand-in backbone, 32x32 input)
// with respect to its input, and of the total loss with respect to every map it reads.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/interpolate.h"
#include "autograd/functions/join.h"
#include "models/loss.h"
#include "tests/models/stand_in_backbone.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

TEST_SUITE("gradcheck") {
  TEST_CASE("camoxpert model gradcheck wrt the input") {
    auto m = make_tiny_camoxpert(5);
    m->to(DType::f64);
    m->eval();
    // Each of the 6 experts runs at some scale (scale s uses experts 2s and 2s+1 mod 6).
    for (int64_t s = 0; s < 4; ++s) {
      std::vector<int64_t> idx{(2 * s) % 6, (2 * s + 1) % 6};
      m->moe(s).freeze_routing(Tensor::from_vector<int64_t>(idx, {1, 2}));
    }
    // The 32x32 input is a fixed image plus a bilinear upsampling of a 2x1 perturbation: every pixel
    // of the input moves and every path of the backward runs, with 6 checked values instead of 3072
    // (a full-input check takes minutes).
    Tensor base = randn({1, 3, 32, 32}, 7);
    check_gradcheck(
        [&](const std::vector<Var>& v) {
          Var x = autograd::add(Var(base), autograd::resize_bilinear(v[0], 32, 32));
          models::CamoXpertOutput o = m->forward(x);
          // Project several outputs at once so their backward paths are all checked.
          return autograd::concat({o.logits, o.pred_1, o.p0, o.u, o.fg, o.search}, 1);
        },
        {randn({1, 3, 2, 1}, 8)});
  }

  // The uncertainty term's error e = |sigmoid(p0) - T| is detached by design, which finite differences
  // through p0 would see: the first check leaves that term out, the second checks it through u alone.
  TEST_CASE("camoxpert loss gradcheck wrt the logits") {
    const int64_t B = 2, H = 8, W = 4;  // small: each structure loss pools 31x31 per pixel
    const Shape s{B, 1, H, W};
    std::vector<double> t = rand_uniform(s, 0, 1, 40).to_vector<double>();
    for (double& x : t) x = x > 0.5 ? 1.0 : 0.0;
    Tensor T = Tensor::from_vector<double>(t, s);
    models::LossWeights w;
    w.uncertainty = 0;
    check_gradcheck(
        [&](const std::vector<Var>& v) {
          models::CamoXpertOutput o;
          o.logits = v[0];
          o.pred_1 = v[1];
          o.p0 = v[2];
          o.fg = autograd::sigmoid(v[3]);
          o.search = autograd::sigmoid(v[4]);
          o.u = autograd::add(autograd::softplus(v[5]), 0.1);
          o.deep = {v[6], v[7], v[8]};
          return models::camoxpert_loss(o, T, w).total;
        },
        {randn(s, 41), randn(s, 42), randn(s, 43), randn(s, 44), randn(s, 45), randn(s, 46),
         randn({B, 1, 1, 1}, 47), randn({B, 1, 2, 2}, 48), randn({B, 1, 4, 4}, 49)});

    const Tensor p0 = randn(s, 43);
    check_gradcheck(
        [&](const std::vector<Var>& v) {
          models::CamoXpertOutput o;
          o.logits = o.pred_1 = o.p0 = Var(p0);
          o.fg = o.search = Var(rand_uniform(s, 0.1, 0.9, 50));
          o.u = autograd::add(autograd::softplus(v[0]), 0.1);
          o.deep = {Var(randn({B, 1, 4, 4}, 49))};
          return models::camoxpert_loss(o, T, models::LossWeights{}).total;
        },
        {randn(s, 46)});
  }
}
