#include "layers/experts/cod_edge.h"

#include <cmath>

#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

namespace {
// W = 0.1 * W_default + K / sum|K| on the (o, i = o mod ci) pairs; the bias becomes 0.
void init_edge_filter(Conv2d& conv, const double* K) {
  const Tensor& w = conv.weight.data();
  const int64_t ci = w.size(0), C = w.size(1);
  double l1 = 0;
  for (int t = 0; t < 9; ++t) l1 += std::abs(K[t]);
  std::vector<double> v = w.to_vector<double>();  // [ci, C, 3, 3] row-major
  for (double& e : v) e *= 0.1;
  for (int64_t o = 0; o < ci; ++o)
    for (int64_t i = o; i < C; i += ci)
      for (int t = 0; t < 9; ++t) v[size_t(((o * C) + i) * 9 + t)] += K[t] / l1;
  conv.weight.mutable_data().copy_(Tensor::from_vector(v, w.shape()).to(w.dtype()));
  conv.bias.mutable_data().copy_(Tensor::zeros(conv.bias.data().shape(), conv.bias.dtype()));
}
}  // namespace

CODEdge::CODEdge(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("CODEdge", C, 4);
  const std::vector<int64_t> ci = quarter_split(C);
  const double* kernels[3] = {kSobelX, kSobelY, kLaplacian};
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    auto conv = b->push_back(same_conv(C, ci[j], j < 3 ? 3 : 1, gen));
    if (j < 3) init_edge_filter(*conv, kernels[j]);
    push_norm_act(*b, ci[j], NormAct::bn_relu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::bn_relu));
}

Var CODEdge::forward(const Var& x) {
  check_input("CODEdge", x, C_);
  return fuse_branches(*branches, {x}, *fusion) + x;
}

ContrastEnhancement::ContrastEnhancement(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("ContrastEnhancement", C, 4);
  const std::vector<int64_t> ci = third_split(C);
  const int64_t kernels[3] = {3, 5, 7};
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 3; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(same_conv(C, ci[j], kernels[j], gen));
    push_norm_act(*b, ci[j], NormAct::bn_relu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::bn_relu));
  amp = register_module("amp", make_gate(C, gen, /*gelu=*/false));
}

Var ContrastEnhancement::forward(const Var& x) {
  check_input("ContrastEnhancement", x, C_);
  Var con = fuse_branches(*branches, {x}, *fusion);
  return x + con * amp->forward(con);
}

}  // namespace cuttle::layers
