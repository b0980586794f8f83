// Defines ConvBNReLU: conv -> BatchNorm2d -> ReLU, the block the CamoXpert head and the small CNN
// backbone are built from. Children: conv, bn.
#pragma once
#include <memory>

#include "layers/conv.h"
#include "layers/norm.h"

namespace cuttle::layers {

class ConvBNReLU : public UnaryModule {
 public:
  ConvBNReLU(int64_t in, int64_t out, int64_t kernel, engine::Generator& gen, const Conv2dOptions& opts);
  std::string type_name() const override { return "ConvBNReLU"; }
  Var forward(const Var& x) override;
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
};

}  // namespace cuttle::layers
