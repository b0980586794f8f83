#include "layers/experts/generic_texture.h"

#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

Texture::Texture(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("Texture", C, 4);
  const std::vector<int64_t> q = quarter_split(C);
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(same_conv(C, q[j], 1, gen));
    b->push_back(same_conv(q[j], q[j], 3, gen, /*dilation=*/j + 1));
    push_norm_act(*b, q[j], NormAct::ln_gelu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::ln_gelu));
}

Var Texture::forward(const Var& x) {
  check_input("Texture", x, C_);
  return fuse_branches(*branches, {x}, *fusion) + x;
}

Hybrid::Hybrid(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("Hybrid", C, 4);
  local = register_module("local", std::make_shared<Sequential>());
  local->push_back(same_conv(C, C, 5, gen, 1, /*groups=*/C));
  local->push_back(std::make_shared<LayerNorm2d>(C));
  local->push_back(same_conv(C, C, 1, gen));
  local->push_back(std::make_shared<GELU>());
  gate = register_module("gate", make_gate(C, gen, /*gelu=*/true));
  fusion = register_module("fusion", std::make_shared<Sequential>());
  fusion->push_back(same_conv(C, C, 1, gen));
}

Var Hybrid::forward(const Var& x) {
  check_input("Hybrid", x, C_);
  return fusion->forward(local->forward(x) * gate->forward(x)) + x;
}

}  // namespace cuttle::layers
