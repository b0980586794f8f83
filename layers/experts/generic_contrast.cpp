#include "layers/experts/generic_contrast.h"

#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

Contrast::Contrast(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("Contrast", C, 1);
  local = register_module("local", std::make_shared<Sequential>());
  local->push_back(same_conv(C, C, 3, gen, 1, /*groups=*/C));
  push_norm_act(*local, C, NormAct::ln_gelu);
  local->push_back(same_conv(C, C, 1, gen));
  local->push_back(std::make_shared<LayerNorm2d>(C));
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::ln_gelu));
}

Var Contrast::forward(const Var& x) {
  check_input("Contrast", x, C_);
  return fusion->forward(local->forward(x)) + x;
}

ContrastBN::ContrastBN(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("ContrastBN", C, 4);
  const std::vector<int64_t> q = quarter_split(C);
  const int64_t kernels[4] = {3, 3, 5, 1}, dilations[4] = {1, 2, 1, 1};
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(same_conv(C, q[j], kernels[j], gen, dilations[j]));
    push_norm_act(*b, q[j], NormAct::bn_gelu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::bn_gelu));
}

Var ContrastBN::forward(const Var& x) {
  check_input("ContrastBN", x, C_);
  return fuse_branches(*branches, {x}, *fusion) + x;
}

}  // namespace cuttle::layers
