#include "layers/experts/generic_context.h"

#include "autograd/functions/interpolate.h"
#include "autograd/functions/join.h"
#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

SemanticContext::SemanticContext(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("SemanticContext", C, 4);
  const std::vector<int64_t> q = quarter_split(C);
  const int64_t sizes[4] = {8, 4, 2, 1};
  branches = register_module("branches", std::make_shared<ModuleList>());
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(std::make_shared<AdaptiveAvgPool2d>(sizes[j]));
    b->push_back(same_conv(C, q[j], 1, gen));
    push_norm_act(*b, q[j], NormAct::ln_gelu);
    branches->push_back(b);
  }
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::ln_gelu));
}

Var SemanticContext::forward(const Var& x) {
  check_input("SemanticContext", x, C_);
  const int64_t H = x.size(2), W = x.size(3);
  std::vector<Var> outs;
  for (size_t j = 0; j < branches->size(); ++j)
    outs.push_back(autograd::resize_bilinear(branches->at<Sequential>(j)->forward(x), H, W, false));
  return fusion->forward(autograd::concat(outs, 1)) + x;
}

}  // namespace cuttle::layers
