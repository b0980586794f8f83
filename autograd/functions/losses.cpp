#include "autograd/functions/losses.h"

#include "autograd/functions/elementwise.h"
#include "autograd/functions/index.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/softmax.h"
#include "autograd/functions/views.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;
using eng::UnaryOp;

namespace {

Tensor reduce(const Tensor& l, Reduction r) {
  switch (r) {
    case Reduction::none: return l;
    case Reduction::mean: return eng::mean(l);
    case Reduction::sum: return eng::sum(l);
  }
  return l;
}

// The per-element gradient scale: the output gradient (broadcast when reduced), / numel for mean.
Tensor element_grad(const Tensor& g, Reduction r, int64_t numel) {
  if (r == Reduction::mean) return eng::binary_scalar(eng::BinaryOp::div, g, (double)std::max<int64_t>(numel, 1));
  return g;
}

void check_pair(const char* op, const Var& a, const Var& b) {
  CUTTLE_CHECK(a.defined() && b.defined(), op, ": undefined input");
  CUTTLE_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), op, ": input ", a.data().str(),
               " and target ", b.data().str(), " must have one shape and dtype");
}

}  // namespace

Var binary_cross_entropy_with_logits(const Var& logits, const Var& target, Reduction reduction) {
  check_pair("binary_cross_entropy_with_logits", logits, target);
  const Tensor x = logits.data(), t = target.data();
  Tensor l = eng::sub(eng::unary(UnaryOp::softplus, x), eng::mul(x, t));
  return record("binary_cross_entropy_with_logits", reduce(l, reduction), {logits, target},
                [x, t, reduction](const auto& g, const auto& needs) {
                  const Tensor ge = element_grad(g[0], reduction, x.numel());
                  Tensor gx, gt;
                  if (needs[0]) gx = eng::mul(eng::sub(eng::unary(UnaryOp::sigmoid, x), t), ge);
                  if (needs[1]) gt = eng::mul(eng::unary(UnaryOp::neg, x), ge);
                  return std::vector<Tensor>{gx, gt};
                });
}

Var mse_loss(const Var& input, const Var& target, Reduction reduction) {
  check_pair("mse_loss", input, target);
  const Tensor d = eng::sub(input.data(), target.data());
  return record("mse_loss", reduce(eng::mul(d, d), reduction), {input, target},
                [d, reduction](const auto& g, const auto& needs) {
                  const Tensor gi = eng::mul(eng::binary_scalar(eng::BinaryOp::mul, d, 2.0),
                                             element_grad(g[0], reduction, d.numel()));
                  return std::vector<Tensor>{needs[0] ? gi : Tensor(),
                                             needs[1] ? eng::unary(UnaryOp::neg, gi) : Tensor()};
                });
}

Var cross_entropy(const Var& logits, const Tensor& target, Reduction reduction) {
  CUTTLE_CHECK(logits.defined() && logits.dim() == 2, "cross_entropy: logits must be [N, C], got ",
               logits.defined() ? logits.data().str() : std::string("undefined"));
  const int64_t n = logits.size(0), c = logits.size(1);
  CUTTLE_CHECK(target.defined() && target.dim() == 1 && target.size(0) == n, "cross_entropy: target ",
               target.defined() ? target.str() : std::string("undefined"), " must be [", n, "] class indices");
  CUTTLE_CHECK(target.dtype() == DType::i64 || target.dtype() == DType::i32,
               "cross_entropy: target must be i64 or i32, got ", target.str());
  for (int64_t v : target.to(engine::Device::cpu()).to_vector<int64_t>())  // a GPU target is read back once
    CUTTLE_CHECK(v >= 0 && v < c, "cross_entropy: target class ", v, " is out of range for ", c, " classes");
  Var picked = gather(log_softmax(logits, 1), 1, target.reshape({n, 1}));
  Var l = neg(reshape(picked, {n}));
  switch (reduction) {
    case Reduction::none: return l;
    case Reduction::mean: return mean(l);
    case Reduction::sum: return sum(l);
  }
  return l;
}

}  // namespace cuttle::autograd
