// Implements the config-to-model builders and the recipe's parameter groups.
#include "models/build.h"

#include "engine/error.h"
#include "models/backbones/pvt_v2.h"
#include "models/backbones/small_cnn.h"

namespace cuttle::models {

std::shared_ptr<Backbone> make_backbone(const BackboneConfig& config, engine::Generator& gen) {
  if (config.type == "small_cnn") {
    std::array<int64_t, 4> dims{16, 32, 64, 128};
    if (!config.dims.empty()) {
      CUTTLE_CHECK(config.dims.size() == 4, "make_backbone: small_cnn needs 4 dims, got ", config.dims.size());
      for (size_t i = 0; i < 4; ++i) dims[i] = config.dims[i];
    }
    return std::make_shared<SmallCNN>(dims, gen);
  }
  // PVTv2 has fixed dims per variant; CamoXpert checks backbone.dims against them.
  return std::make_shared<PvtV2>(pvt_v2_config(config.type), gen);
}

std::shared_ptr<CamoXpert> make_camoxpert(const CamoXpertConfig& config, engine::Generator& gen) {
  return std::make_shared<CamoXpert>(config, make_backbone(config.backbone, gen), gen);
}

std::vector<autograd::ParamGroup> camoxpert_param_groups(const CamoXpert& model, const TrainConfig& train) {
  autograd::ParamGroup rest, router;
  router.lr_scale = train.router_lr_scale;
  for (const auto& [name, p] : model.named_parameters(/*trainable_only=*/true))
    (name.find(".router.") != std::string::npos ? router : rest).params.push_back(p);
  return {rest, router};
}

}  // namespace cuttle::models
