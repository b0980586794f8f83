#include "autograd/functions/moe_combine.h"

#include "engine/ops/moe_combine.h"

namespace cuttle::autograd {

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

}  // namespace cuttle::autograd
