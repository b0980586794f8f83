#include "autograd/functions/moe_combine.h"

#include "engine/ops/moe_combine.h"

namespace cuttle::autograd {

namespace {
std::vector<Tensor> contiguous_all(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.contiguous());
  return out;
}
}  // namespace

Var moe_combine(const std::vector<Var>& ys, const Var& weights, const Tensor& table, int64_t B) {
  std::vector<Tensor> outs;
  std::vector<Var> inputs;
  for (const Var& y : ys) {
    outs.push_back(y.data());
    inputs.push_back(y);
  }
  inputs.push_back(weights);
  const Tensor w = weights.data();
  return record("moe_combine", engine::moe_combine(outs, w, table, B), inputs,
                [outs, w, table](const auto& g, const auto& needs) {
                  bool need_ys = false;
                  for (size_t i = 0; i < outs.size(); ++i) need_ys = need_ys || needs[i];
                  engine::MoECombineGrads r =
                      engine::moe_combine_backward(g[0], outs, w, table, need_ys, needs[outs.size()]);
                  std::vector<Tensor> grads(outs.size() + 1);
                  for (size_t i = 0; i < outs.size(); ++i)
                    if (needs[i]) grads[i] = std::move(r.ys[i]);
                  grads[outs.size()] = std::move(r.weights);
                  return grads;
                });
}

std::vector<Var> moe_dispatch(const Var& x, const Tensor& table, const std::vector<int64_t>& rows) {
  const int64_t B = x.size(0);
  return record("moe_dispatch", engine::moe_dispatch(x.data(), table, rows), {x}, [table, B](const auto& g, const auto&) {
    return std::vector<Tensor>{engine::moe_dispatch_backward(contiguous_all(g), table, B)};
  });
}

}  // namespace cuttle::autograd

