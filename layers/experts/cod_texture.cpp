#include "layers/experts/cod_texture.h"

#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

CODTexture::CODTexture(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("CODTexture", C, 4);
  const std::vector<int64_t> ci = quarter_split(C);
  const int64_t dilations[4] = {1, 2, 4, 8};
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(same_conv(C, ci[j], 1, gen));
    b->push_back(same_conv(ci[j], ci[j], 3, gen, dilations[j]));
    push_norm_act(*b, ci[j], NormAct::bn_relu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::bn_relu));
}

Var CODTexture::forward(const Var& x) {
  check_input("CODTexture", x, C_);
  return fuse_branches(*branches, {x}, *fusion) + x;
}

CODFrequency::CODFrequency(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("CODFrequency", C, 4);
  const std::vector<int64_t> ci = quarter_split(C);
  const int64_t kernels[4] = {3, 5, 7, 1};
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(same_conv(C, ci[j], kernels[j], gen));
    push_norm_act(*b, ci[j], NormAct::bn_relu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::bn_relu));
}

Var CODFrequency::forward(const Var& x) {
  check_input("CODFrequency", x, C_);
  return fuse_branches(*branches, {x}, *fusion) + x;
}

}  // namespace cuttle::layers
