// Defines StandInBackbone for the model tests: 4 strided convs (kernel = stride = 4, 2, 2, 2, tanh)
// giving maps at strides 4/8/16/32 with configurable dims, so the CamoXpert tests do not depend on
// the real backbones. State names: convs.{0..3}.{weight,bias}.
#pragma once
#include <array>
#include <memory>

#include "autograd/functions/elementwise.h"
#include "layers/container.h"
#include "layers/conv.h"
#include "models/backbone.h"
#include "models/camoxpert.h"

namespace cuttle::test {

class StandInBackbone : public models::Backbone {
 public:
  StandInBackbone(std::array<int64_t, 4> dims, engine::Generator& gen) : dims_(dims) {
    auto list = register_module("convs", std::make_shared<layers::ModuleList>());
    int64_t in = 3;
    for (size_t i = 0; i < 4; ++i) {
      const int64_t k = i == 0 ? 4 : 2;
      convs_[i] = list->push_back(
          std::make_shared<layers::Conv2d>(in, dims[i], k, gen, layers::Conv2dOptions{}.with_stride(k)));
      in = dims[i];
    }
  }
  std::vector<autograd::Var> features(const autograd::Var& x) override {
    std::vector<autograd::Var> f;
    autograd::Var h = x;
    for (auto& c : convs_) f.push_back(h = autograd::tanh((*c)(h)));
    return f;
  }
  std::array<int64_t, 4> dims() const override { return dims_; }

 private:
  std::array<int64_t, 4> dims_;
  std::array<std::shared_ptr<layers::Conv2d>, 4> convs_;
};

// A CamoXpert config for the stand-in: dims 8, head width 8 (h/4 = 2), the default 6 experts.
inline models::CamoXpertConfig tiny_test_config() {
  models::CamoXpertConfig c;
  c.name = "test";
  c.backbone.type = "small_cnn";
  c.backbone.dims = {8, 8, 8, 8};
  c.head_width = 8;
  c.image_size = 64;
  return c;
}

inline std::shared_ptr<models::CamoXpert> make_tiny_camoxpert(uint64_t seed = 1,
                                                               models::CamoXpertConfig c = tiny_test_config()) {
  engine::Generator gen(seed);
  auto bb = std::make_shared<StandInBackbone>(std::array<int64_t, 4>{8, 8, 8, 8}, gen);
  return std::make_shared<models::CamoXpert>(c, bb, gen);
}

}  // namespace cuttle::test
