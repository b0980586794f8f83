#include "layers/experts/common.h"

#include "autograd/functions/join.h"
#include "engine/error.h"

namespace cuttle::layers::experts_detail {

void check_channels(const char* expert, int64_t C, int64_t min_c) {
  CUTTLE_CHECK(C >= min_c, expert, ": needs C >= ", min_c, " channels, got C = ", C);
}

void check_input(const char* expert, const Var& x, int64_t C) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == C, expert, "(C=", C, "): input ", x.data().str(), " is not [B, ", C,
               ", H, W]");
}

std::vector<int64_t> quarter_split(int64_t C) {
  int64_t q = C / 4;
  return {q, q, q, C - 3 * q};
}

std::vector<int64_t> third_split(int64_t C) {
  int64_t t = C / 3;
  return {t, t, C - 2 * t};
}

std::shared_ptr<Conv2d> same_conv(int64_t in, int64_t out, int64_t k, engine::Generator& gen, int64_t dilation,
                                  int64_t groups) {
  return std::make_shared<Conv2d>(in, out, k, gen, Conv2dOptions::same(k, dilation).with_groups(groups));
}

void push_norm_act(Sequential& s, int64_t C, NormAct na) {
  if (na == NormAct::ln_gelu)
    s.push_back(std::make_shared<LayerNorm2d>(C));  // eps 1e-6
  else
    s.push_back(std::make_shared<BatchNorm2d>(C));  // eps 1e-5, momentum 0.1
  if (na == NormAct::bn_relu)
    s.push_back(std::make_shared<ReLU>());
  else
    s.push_back(std::make_shared<GELU>());
}

std::shared_ptr<Sequential> make_fusion(int64_t C, engine::Generator& gen, NormAct na) {
  auto f = std::make_shared<Sequential>();
  f->push_back(same_conv(C, C, 1, gen));
  push_norm_act(*f, C, na);
  return f;
}

std::shared_ptr<Sequential> make_gate(int64_t C, engine::Generator& gen, bool gelu) {
  auto g = std::make_shared<Sequential>();
  g->push_back(std::make_shared<AdaptiveAvgPool2d>(1));
  g->push_back(same_conv(C, C / 4, 1, gen));
  if (gelu)
    g->push_back(std::make_shared<GELU>());
  else
    g->push_back(std::make_shared<ReLU>());
  g->push_back(same_conv(C / 4, C, 1, gen));
  g->push_back(std::make_shared<Sigmoid>());
  return g;
}

Var fuse_branches(const ModuleList& branches, const std::vector<Var>& inputs, Sequential& fusion) {
  CUTTLE_CHECK(inputs.size() == 1 || inputs.size() == branches.size(), "fuse_branches: ", inputs.size(),
               " inputs for ", branches.size(), " branches");
  std::vector<Var> outs;
  outs.reserve(branches.size());
  for (size_t j = 0; j < branches.size(); ++j)
    outs.push_back(branches.at<Sequential>(j)->forward(inputs.size() == 1 ? inputs[0] : inputs[j]));
  return fusion.forward(autograd::concat(outs, 1));
}

}  // namespace cuttle::layers::experts_detail
