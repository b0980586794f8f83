// Implements CamoXpert's losses: the structure loss, BCE on probabilities and the weighted total.
#include "models/loss.h"

#include <cfloat>
#include <cmath>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/losses.h"
#include "autograd/functions/pool.h"
#include "autograd/functions/reduce.h"
#include "engine/error.h"

namespace cuttle::models {

namespace ag = cuttle::autograd;

namespace {

void check_map(const Var& v, const Var& target, const char* what) {
  CUTTLE_CHECK(v.defined(), "camoxpert_loss: the output has no '", what, "' map");
  CUTTLE_CHECK(v.shape() == target.shape(), "camoxpert_loss: '", what, "' has shape ", engine::shape_str(v.shape()),
               ", the target ", engine::shape_str(target.shape()));
}

}  // namespace

Var structure_loss(const Var& logits, const Var& target) {
  CUTTLE_CHECK(logits.dim() == 4 && logits.shape() == target.shape(), "structure_loss: logits ",
               engine::shape_str(logits.shape()), " and target ", engine::shape_str(target.shape()),
               " must be the same [B,C,H,W]");
  const Var T = target.detach();
  // Pixels near edges (where the local mean differs from the mask) weigh up to 6x.
  Var w = ag::add(ag::mul(ag::abs(ag::sub(ag::avg_pool2d(T, {31, 31}, {1, 1}, {15, 15}, true), T)), 5.0), 1.0);
  Var wbce = ag::div(ag::sum(ag::mul(w, ag::binary_cross_entropy_with_logits(logits, T, ag::Reduction::none)), {2, 3}),
                     ag::sum(w, {2, 3}));
  Var p = ag::sigmoid(logits);
  Var inter = ag::sum(ag::mul(ag::mul(p, T), w), {2, 3});
  Var uni = ag::sum(ag::mul(ag::add(p, T), w), {2, 3});
  Var wiou = ag::rsub(1.0, ag::div(ag::add(inter, 1.0), ag::add(ag::sub(uni, inter), 1.0)));
  return ag::mean(ag::add(wbce, wiou));
}

Var bce_prob(const Var& prob, const Var& target) {
  CUTTLE_CHECK(prob.shape() == target.shape(), "bce_prob: prob ", engine::shape_str(prob.shape()), " and target ",
               engine::shape_str(target.shape()), " differ");
  // Clamping the probability (rather than the log) keeps the gradient finite where p = 0 or 1.
  const double lo = prob.dtype() == engine::DType::f64 ? std::exp(-100.0) : double(FLT_MIN);
  const Var T = target.detach();
  Var log_p = ag::log(ag::clamp(prob, lo, 1.0));
  Var log_q = ag::log(ag::clamp(ag::rsub(1.0, prob), lo, 1.0));
  return ag::neg(ag::mean(ag::add(ag::mul(T, log_p), ag::mul(ag::rsub(1.0, T), log_q))));
}

LossTerms camoxpert_loss(const CamoXpertOutput& out, const Tensor& target, const LossWeights& w) {
  const Var T(target);
  CUTTLE_CHECK(target.dim() == 4 && target.size(1) == 1, "camoxpert_loss: target must be [B,1,H,W], got ",
               engine::shape_str(target.shape()));
  check_map(out.logits, T, "logits");
  check_map(out.pred_1, T, "pred_1");
  check_map(out.p0, T, "p0");
  check_map(out.fg, T, "fg");
  check_map(out.search, T, "search");
  check_map(out.u, T, "u");
  CUTTLE_CHECK(!out.deep.empty(), "camoxpert_loss: the output has no deep-supervision maps");

  LossTerms L;
  L.final_map = structure_loss(out.logits, T);
  L.refine = structure_loss(out.pred_1, T);
  L.p0 = structure_loss(out.p0, T);
  L.fg = bce_prob(out.fg, T);
  L.search = bce_prob(out.search, T);

  Var deep_sum;
  for (const Var& d : out.deep) {
    CUTTLE_CHECK(d.dim() == 4 && d.size(0) == target.size(0) && d.size(1) == 1 && target.size(2) % d.size(2) == 0 &&
                     target.size(3) % d.size(3) == 0,
                 "camoxpert_loss: deep map ", engine::shape_str(d.shape()), " does not divide the target ",
                 engine::shape_str(target.shape()));
    // The target averaged over each head pixel's footprint: a soft target at coarse scales.
    Var Td = ag::adaptive_avg_pool2d(T, d.size(2), d.size(3));
    Var term = ag::binary_cross_entropy_with_logits(d, Td);
    deep_sum = deep_sum.defined() ? ag::add(deep_sum, term) : term;
  }
  L.deep = ag::mul(deep_sum, 1.0 / double(out.deep.size()));

  // Laplace negative log-likelihood of the (detached) error: minimised at u = e (FIX).
  Var e = ag::abs(ag::sub(ag::sigmoid(out.p0), T)).detach();
  L.uncertainty = ag::mean(ag::add(ag::div(e, out.u), ag::log(out.u)));

  for (const Var& a : out.moe_aux) L.moe_aux = L.moe_aux.defined() ? ag::add(L.moe_aux, a) : a;

  Var total = ag::mul(L.final_map, w.final_map);
  total = ag::add(total, ag::mul(L.refine, w.refine));
  total = ag::add(total, ag::mul(L.p0, w.p0));
  total = ag::add(total, ag::mul(L.fg, w.fg));
  total = ag::add(total, ag::mul(L.search, w.search));
  total = ag::add(total, ag::mul(L.deep, w.deep));
  total = ag::add(total, ag::mul(L.uncertainty, w.uncertainty));
  if (L.moe_aux.defined()) total = ag::add(total, ag::mul(L.moe_aux, w.moe_aux));
  L.total = total;
  return L;
}

std::vector<std::pair<std::string, double>> LossTerms::values() const {
  std::vector<std::pair<std::string, double>> v;
  auto put = [&](const char* name, const Var& x) {
    if (x.defined()) v.emplace_back(name, x.item());
  };
  put("total", total);
  put("final", final_map);
  put("refine", refine);
  put("p0", p0);
  put("fg", fg);
  put("search", search);
  put("deep", deep);
  put("uncertainty", uncertainty);
  put("moe_aux", moe_aux);
  return v;
}

}  // namespace cuttle::models
