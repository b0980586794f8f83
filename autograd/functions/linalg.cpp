#include "autograd/functions/linalg.h"

#include "autograd/mac_counter.h"
#include "engine/ops/reduce.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

// With A = op(a), B = op(b), C = A B: dA = G B^T and dB = A^T G, each written as one matmul with
// flags so no operand is transposed in memory; op undoes itself on the way back.
Var matmul(const Var& a, const Var& b, bool ta, bool tb) {
  const Tensor x = a.data(), y = b.data();
  Tensor out = eng::matmul(x, y, ta, tb);
  count_macs("matmul", out.numel() * (ta ? x.size(-2) : x.size(-1)));
  return record("matmul", out, {a, b},
                [x = b.requires_grad() ? x : Tensor(), y = a.requires_grad() ? y : Tensor(), sa = x.shape(),
                 sb = y.shape(), ta, tb](const auto& g, const auto& needs) {
                  Tensor ga, gb;
                  if (needs[0]) ga = eng::sum_to_shape(ta ? eng::matmul(y, g[0], tb, true) : eng::matmul(g[0], y, false, !tb), sa);
                  if (needs[1]) gb = eng::sum_to_shape(tb ? eng::matmul(g[0], x, true, ta) : eng::matmul(x, g[0], !ta, false), sb);
                  return std::vector<Tensor>{ga, gb};
                });
}

Var linear(const Var& x, const Var& w, const Var& bias) {
  const Tensor xd = x.data(), wd = w.data();
  Tensor out = eng::linear(xd, wd, bias.defined() ? bias.data() : Tensor());
  count_macs("linear", out.numel() * wd.size(1));
  return record("linear", out, {x, w, bias},
                [xd = w.requires_grad() ? xd : Tensor(), wd = x.requires_grad() ? wd : Tensor(), sx = xd.shape()](
                    const auto& g, const auto& needs) {
                  const int64_t out_f = g[0].size(-1);
                  const Tensor g2 = g[0].reshape({-1, out_f});
                  Tensor gx, gw, gb;
                  if (needs[0]) gx = eng::matmul(g2, wd).reshape(sx);
                  if (needs[1]) gw = eng::matmul(g2, xd.reshape({-1, xd.size(-1)}), true, false);
                  if (needs[2]) gb = eng::sum(g2, {0});
                  return std::vector<Tensor>{gx, gw, gb};
                });
}

}  // namespace cuttle::autograd
