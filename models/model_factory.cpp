#include "models/model_factory.h"

#include <filesystem>

#include "engine/error.h"
#include "models/backbones/pvt_v2.h"
#include "models/backbones/small_cnn.h"

namespace cuttle::models {

std::shared_ptr<Backbone> make_backbone(const BackboneConfig& config, engine::Generator& gen) {
  if (config.type == "small_cnn") {
    std::array<int64_t, 4> dims{16, 32, 64, 128};
    if (!config.dims.empty()) {
      CUTTLE_CHECK(config.dims.size() == 4, "backbone.dims: 4 values expected, got ", config.dims.size());
      std::copy(config.dims.begin(), config.dims.end(), dims.begin());
    }
    return std::make_shared<SmallCNN>(dims, gen);
  }
  if (config.type.rfind("pvt_v2_", 0) == 0) {
    PvtV2Config pc = pvt_v2_config(config.type);
    if (!config.dims.empty())
      CUTTLE_CHECK(std::equal(config.dims.begin(), config.dims.end(), pc.embed_dims.begin()) && config.dims.size() == 4,
                   "backbone.dims: ", config.type, " has fixed dims [", pc.embed_dims[0], ", ", pc.embed_dims[1], ", ",
                   pc.embed_dims[2], ", ", pc.embed_dims[3], "]; leave the field out or match them");
    return std::make_shared<PvtV2>(pc, gen);
  }
  CUTTLE_FAIL("backbone.type '", config.type, "' is unknown; expected small_cnn, pvt_v2_b0, pvt_v2_b1 or pvt_v2_b2");
}

void load_backbone_weights(Backbone& backbone, const std::string& path) {
  CUTTLE_CHECK(std::filesystem::is_regular_file(path), "backbone weights '", path, "': no such file");
  // timm's names in either stage spelling; the ImageNet classifier head is dropped.
  if (auto* pvt = dynamic_cast<PvtV2*>(&backbone)) pvt->load_timm_state(path, true);
  else backbone.load_state(path, true);
}

BuiltModel build_camoxpert(const CamoXpertConfig& config, engine::Generator& gen) {
  config.validate(config.name);
  BuiltModel built;
  std::shared_ptr<Backbone> backbone = make_backbone(config.backbone, gen);
  if (!config.backbone.weights.empty()) load_backbone_weights(*backbone, config.backbone.weights);
  else if (config.backbone.type != "small_cnn")
    built.warnings.push_back(config.backbone.type + " starts from random weights: transformer backbones train "
                             "poorly from scratch; pass --backbone-weights FILE (timm ImageNet weights as "
                             "safetensors) for real data");
  built.model = std::make_shared<CamoXpert>(config, backbone, gen);
  return built;
}

}  // namespace cuttle::models
