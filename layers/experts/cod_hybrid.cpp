#include "layers/experts/cod_hybrid.h"

#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

CODHybrid::CODHybrid(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("CODHybrid", C, 4);
  local = register_module("local", std::make_shared<Sequential>());
  local->push_back(same_conv(C, C, 5, gen, 1, /*groups=*/C));
  local->push_back(std::make_shared<BatchNorm2d>(C));
  local->push_back(same_conv(C, C, 1, gen));
  local->push_back(std::make_shared<ReLU>());
  gate = register_module("gate", make_gate(C, gen, /*gelu=*/false));
  fusion = register_module("fusion", std::make_shared<Sequential>());
  fusion->push_back(same_conv(C, C, 1, gen));
  fusion->push_back(std::make_shared<BatchNorm2d>(C));
}

Var CODHybrid::forward(const Var& x) {
  check_input("CODHybrid", x, C_);
  return fusion->forward(local->forward(x) * gate->forward(x)) + x;
}

}  // namespace cuttle::layers
