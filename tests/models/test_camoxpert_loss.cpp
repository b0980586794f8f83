// Tests of CamoXpert's losses: the structure loss against a direct loop computation, BCE on
// probabilities, and the total's terms (finite, weights applied).
#include <cmath>

#include "engine/error.h"
#include "models/loss.h"
#include "tests/models/stand_in_backbone.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

namespace {

// structure(P, T) written out with loops, for one channel.
double direct_structure(const std::vector<double>& P, const std::vector<double>& T, int64_t B, int64_t H, int64_t W) {
  double total = 0;
  for (int64_t b = 0; b < B; ++b) {
    auto at = [&](const std::vector<double>& v, int64_t y, int64_t x) { return v[(size_t)((b * H + y) * W + x)]; };
    double sw = 0, swbce = 0, inter = 0, uni = 0;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        double pool = 0;  // 31x31 window, zero padding counted
        for (int64_t dy = -15; dy <= 15; ++dy)
          for (int64_t dx = -15; dx <= 15; ++dx) {
            const int64_t yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < H && xx >= 0 && xx < W) pool += at(T, yy, xx);
          }
        pool /= 961.0;
        const double t = at(T, y, x), p = at(P, y, x);
        const double w = 1 + 5 * std::abs(pool - t);
        const double bce = std::max(p, 0.0) - p * t + std::log1p(std::exp(-std::abs(p)));
        const double s = 1 / (1 + std::exp(-p));
        sw += w;
        swbce += w * bce;
        inter += s * t * w;
        uni += (s + t) * w;
      }
    total += swbce / sw + 1 - (inter + 1) / (uni - inter + 1);
  }
  return total / double(B);
}

Tensor binary_mask(const Shape& s, uint64_t seed) {
  std::vector<double> v = rand_uniform(s, 0, 1, seed).to_vector<double>();
  for (double& x : v) x = x > 0.6 ? 1.0 : 0.0;
  return Tensor::from_vector<double>(v, s);
}

// A synthetic model output for a B x 1 x H x W target.
models::CamoXpertOutput fake_output(int64_t B, int64_t H, int64_t W, uint64_t seed) {
  models::CamoXpertOutput o;
  const Shape s{B, 1, H, W};
  o.logits = Var(randn(s, seed));
  o.pred_1 = Var(randn(s, seed + 1));
  o.p0 = Var(randn(s, seed + 2));
  o.fg = Var(rand_uniform(s, 0.05, 0.95, seed + 3));
  o.search = Var(rand_uniform(s, 0.05, 0.95, seed + 4));
  o.u = Var(rand_uniform(s, 0.1, 2.0, seed + 5));
  o.deep = {Var(randn({B, 1, H / 16, W / 16}, seed + 6)), Var(randn({B, 1, H / 8, W / 8}, seed + 7)),
            Var(randn({B, 1, H / 4, W / 4}, seed + 8))};
  return o;
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("structure loss matches a direct computation") {
    const int64_t B = 2, H = 5, W = 7;  // the 31x31 window covers the whole image with padding
    Tensor P = randn({B, 1, H, W}, 11);
    Tensor T = binary_mask({B, 1, H, W}, 12);
    const double want = direct_structure(P.to_vector<double>(), T.to_vector<double>(), B, H, W);
    CHECK(models::structure_loss(Var(P), Var(T)).item() == doctest::Approx(want).epsilon(1e-12));

    // A larger map, where the window does not cover everything.
    Tensor P2 = randn({1, 1, 40, 36}, 13);
    Tensor T2 = binary_mask({1, 1, 40, 36}, 14);
    CHECK(models::structure_loss(Var(P2), Var(T2)).item() ==
          doctest::Approx(direct_structure(P2.to_vector<double>(), T2.to_vector<double>(), 1, 40, 36)).epsilon(1e-12));
  }

  TEST_CASE("bce on probabilities matches its formula and survives 0 and 1") {
    Tensor p = Tensor::from_vector<double>({0.2, 0.9, 0.0, 1.0}, {4});
    Tensor t = Tensor::from_vector<double>({1.0, 0.0, 1.0, 1.0}, {4});
    const double want = (-std::log(0.2) - std::log(0.1) + 100.0 + 0.0) / 4;
    CHECK(models::bce_prob(Var(p), Var(t)).item() == doctest::Approx(want).epsilon(1e-12));
    Var pv(p.clone(), true);
    models::bce_prob(pv, Var(t)).backward();
    for (double g : pv.grad().to_vector<double>()) CHECK(std::isfinite(g));
  }

  TEST_CASE("camoxpert total loss terms are finite and weighted") {
    const int64_t B = 2, H = 32, W = 32;
    models::CamoXpertOutput o = fake_output(B, H, W, 20);
    Tensor T = binary_mask({B, 1, H, W}, 30);
    models::LossWeights w;  // the defaults
    models::LossTerms L = models::camoxpert_loss(o, T, w);
    for (auto& [name, v] : L.values()) {
      INFO(name);
      CHECK(std::isfinite(v));
    }
    CHECK(L.values().size() == 8);  // total + 7 terms; no MoE aux
    const double want = L.final_map.item() + 0.5 * (L.refine.item() + L.p0.item() + L.fg.item() + L.search.item()) +
                        0.4 * L.deep.item() + 0.3 * L.uncertainty.item();
    CHECK(L.total.item() == doctest::Approx(want).epsilon(1e-12));

    // Each weight scales its own term only.
    models::LossWeights z{0, 0, 0, 0, 0, 0, 0, 0};
    z.deep = 2.0;
    CHECK(models::camoxpert_loss(o, T, z).total.item() == doctest::Approx(2.0 * L.deep.item()).epsilon(1e-12));
    z.deep = 0;
    z.uncertainty = 3.0;
    CHECK(models::camoxpert_loss(o, T, z).total.item() == doctest::Approx(3.0 * L.uncertainty.item()).epsilon(1e-12));

    // The uncertainty term is minimised at u = e: mean(1 + log e) there.
    models::CamoXpertOutput o2 = o;
    std::vector<double> p0 = o.p0.data().to_vector<double>(), t = T.to_vector<double>(), e(p0.size());
    double want_u = 0;
    for (size_t i = 0; i < p0.size(); ++i) {
      e[i] = std::max(std::abs(1 / (1 + std::exp(-p0[i])) - t[i]), 1e-3);
      want_u += std::abs(1 / (1 + std::exp(-p0[i])) - t[i]) / e[i] + std::log(e[i]);
    }
    o2.u = Var(Tensor::from_vector<double>(e, {B, 1, H, W}));
    CHECK(models::camoxpert_loss(o2, T, w).uncertainty.item() == doctest::Approx(want_u / double(p0.size())).epsilon(1e-12));

    // MoE auxiliary losses enter with their weight.
    o2.moe_aux = {Var(Tensor::scalar(0.25, DType::f64)), Var(Tensor::scalar(0.5, DType::f64))};
    models::LossWeights a{0, 0, 0, 0, 0, 0, 0, 2.0};
    CHECK(models::camoxpert_loss(o2, T, a).total.item() == doctest::Approx(1.5));
  }

  TEST_CASE("camoxpert loss rejects mis-shaped maps") {
    models::CamoXpertOutput o = fake_output(2, 32, 32, 20);
    o.fg = Var(randn({2, 1, 16, 32}, 1));
    CHECK_THROWS_WITH_AS(models::camoxpert_loss(o, binary_mask({2, 1, 32, 32}, 3), {}), doctest::Contains("'fg'"),
                         cuttle::Error);
  }
}
