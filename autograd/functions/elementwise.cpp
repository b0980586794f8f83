#include "autograd/functions/elementwise.h"

#include "engine/ops/reduce.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;
using eng::BinaryOp;
using eng::CompareOp;

namespace {

// Reduces a broadcast gradient to the input's shape.
Tensor unbroadcast(const Tensor& g, const Shape& shape) { return eng::sum_to_shape(g, shape); }

}  // namespace

Var add(const Var& a, const Var& b) {
  Shape sa = a.shape(), sb = b.shape();
  return record("add", eng::add(a.data(), b.data()), {a, b}, [sa, sb](const auto& g, const auto& needs) {
    return std::vector<Tensor>{needs[0] ? unbroadcast(g[0], sa) : Tensor(), needs[1] ? unbroadcast(g[0], sb) : Tensor()};
  });
}

Var sub(const Var& a, const Var& b) {
  Shape sa = a.shape(), sb = b.shape();
  return record("sub", eng::sub(a.data(), b.data()), {a, b}, [sa, sb](const auto& g, const auto& needs) {
    return std::vector<Tensor>{needs[0] ? unbroadcast(g[0], sa) : Tensor(),
                               needs[1] ? unbroadcast(eng::unary(eng::UnaryOp::neg, g[0]), sb) : Tensor()};
  });
}

Var mul(const Var& a, const Var& b) {
  Tensor x = a.data(), y = b.data();
  const bool save_x = b.requires_grad(), save_y = a.requires_grad();
  return record("mul", eng::mul(x, y), {a, b},
                [x = save_x ? x : Tensor(), y = save_y ? y : Tensor(), sa = x.shape(), sb = y.shape()](
                    const auto& g, const auto& needs) {
                  return std::vector<Tensor>{needs[0] ? unbroadcast(eng::mul(g[0], y), sa) : Tensor(),
                                             needs[1] ? unbroadcast(eng::mul(g[0], x), sb) : Tensor()};
                });
}

Var div(const Var& a, const Var& b) {
  Tensor x = a.data(), y = b.data();
  Tensor out = eng::div(x, y);
  return record("div", out, {a, b}, [y, out, sa = x.shape(), sb = y.shape()](const auto& g, const auto& needs) {
    Tensor ga, gb;
    if (needs[0]) ga = unbroadcast(eng::div(g[0], y), sa);
    // d(x/y)/dy = -out / y
    if (needs[1]) gb = unbroadcast(eng::unary(eng::UnaryOp::neg, eng::div(eng::mul(g[0], out), y)), sb);
    return std::vector<Tensor>{ga, gb};
  });
}

Var pow(const Var& a, const Var& b) {
  Tensor x = a.data(), y = b.data();
  Tensor out = eng::pow(x, y);
  return record("pow", out, {a, b}, [x, y, out](const auto& g, const auto& needs) {
    Tensor ga, gb;
    if (needs[0]) {  // y * x^(y-1), and 0 where y == 0 (not 0 * 0^-1)
      Tensor d = eng::mul(y, eng::pow(x, eng::binary_scalar(BinaryOp::sub, y, 1.0)));
      d = eng::where(eng::compare_scalar(CompareOp::eq, y, 0.0), Tensor::zeros({}, x.dtype(), x.device()), d);
      ga = unbroadcast(eng::mul(g[0], d), x.shape());
    }
    if (needs[1]) {  // out * log(x), taken as 0 where x == 0 and y >= 0 (the limit PyTorch uses)
      Tensor d = eng::mul(out, eng::unary(eng::UnaryOp::log, x));
      Tensor at_zero = eng::mul(eng::compare_scalar(CompareOp::eq, x, 0.0).to(x.dtype()),
                                eng::compare_scalar(CompareOp::ge, y, 0.0).to(x.dtype()));
      d = eng::where(at_zero.to(engine::DType::boolean), Tensor::zeros({}, x.dtype(), x.device()), d);
      gb = unbroadcast(eng::mul(g[0], d), y.shape());
    }
    return std::vector<Tensor>{ga, gb};
  });
}

namespace {
Var select_extreme(const char* name, bool is_max, const Var& a, const Var& b) {
  Tensor x = a.data(), y = b.data();
  Tensor out = is_max ? eng::maximum(x, y) : eng::minimum(x, y);
  return record(name, out, {a, b}, [x, y, is_max](const auto& g, const auto& needs) {
    // The winner takes the gradient; at a tie each side gets half (as PyTorch).
    Tensor a_wins = eng::compare(is_max ? CompareOp::gt : CompareOp::lt, x, y);
    Tensor tie = eng::compare(CompareOp::eq, x, y);
    Tensor zero = Tensor::zeros({}, g[0].dtype(), g[0].device());
    Tensor half = eng::binary_scalar(BinaryOp::mul, g[0], 0.5);
    Tensor ga, gb;
    if (needs[0]) ga = unbroadcast(eng::where(a_wins, g[0], eng::where(tie, half, zero)), x.shape());
    if (needs[1]) gb = unbroadcast(eng::where(a_wins, zero, eng::where(tie, half, g[0])), y.shape());
    return std::vector<Tensor>{ga, gb};
  });
}
}  // namespace

Var maximum(const Var& a, const Var& b) { return select_extreme("maximum", true, a, b); }
Var minimum(const Var& a, const Var& b) { return select_extreme("minimum", false, a, b); }

Var add(const Var& a, double s) {
  return record("add_scalar", eng::binary_scalar(BinaryOp::add, a.data(), s), {a},
                [](const auto& g, const auto&) { return std::vector<Tensor>{g[0]}; });
}

Var mul(const Var& a, double s) {
  return record("mul_scalar", eng::binary_scalar(BinaryOp::mul, a.data(), s), {a},
                [s](const auto& g, const auto&) { return std::vector<Tensor>{eng::binary_scalar(BinaryOp::mul, g[0], s)}; });
}

Var pow(const Var& a, double e) {
  Tensor x = a.data();
  return record("pow_scalar", eng::binary_scalar(BinaryOp::pow, x, e), {a}, [x, e](const auto& g, const auto&) {
    if (e == 0.0) return std::vector<Tensor>{Tensor::zeros(x.shape(), x.dtype(), x.device())};  // not 0 * 0^-1
    Tensor d = eng::binary_scalar(BinaryOp::mul, eng::binary_scalar(BinaryOp::pow, x, e - 1.0), e);
    return std::vector<Tensor>{eng::mul(g[0], d)};
  });
}

Var rsub(double s, const Var& a) {
  return record("rsub_scalar", eng::rsub_scalar(s, a.data()), {a},
                [](const auto& g, const auto&) { return std::vector<Tensor>{eng::unary(eng::UnaryOp::neg, g[0])}; });
}

Var rdiv(double s, const Var& a) {
  Tensor x = a.data();
  Tensor out = eng::rdiv_scalar(s, x);
  return record("rdiv_scalar", out, {a}, [x, out](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::unary(eng::UnaryOp::neg, eng::div(eng::mul(g[0], out), x))};
  });
}

Var unary(eng::UnaryOp op, const Var& x, double param) {
  Tensor in = x.data();
  Tensor out = eng::unary(op, in, param);
  return record(eng::unary_op_name(op), out, {x}, [op, in, out, param](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::unary_backward(op, g[0], in, out, param)};
  });
}

Var clamp(const Var& x, double lo, double hi) {
  Tensor in = x.data();
  return record("clamp", eng::clamp(in, lo, hi), {x}, [in, lo, hi](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::clamp_backward(g[0], in, lo, hi)};
  });
}

Var where(const Tensor& cond, const Var& a, const Var& b) {
  Tensor c = cond;
  Shape sa = a.shape(), sb = b.shape();
  return record("where", eng::where(cond, a.data(), b.data()), {a, b}, [c, sa, sb](const auto& g, const auto& needs) {
    Tensor zero = Tensor::zeros({}, g[0].dtype(), g[0].device());
    Tensor ga, gb;
    if (needs[0]) ga = unbroadcast(eng::where(c, g[0], zero), sa);
    if (needs[1]) gb = unbroadcast(eng::where(c, zero, g[0]), sb);
    return std::vector<Tensor>{ga, gb};
  });
}

}  // namespace cuttle::autograd
