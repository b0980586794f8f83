#include "models/model_factory.h"

#include <filesystem>

#include "engine/error.h"
#include "models/checkpoint.h"
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

TrainedModel load_trained_model(const std::string& checkpoint_or_run, engine::Device device,
                                const std::string& config_path) {
  TrainedModel t;
  t.checkpoint = resolve_checkpoint(checkpoint_or_run);
  t.meta = read_checkpoint_meta(t.checkpoint);
  if (!config_path.empty()) t.config = load_camoxpert_config(config_path);
  else if (std::filesystem::is_regular_file(t.checkpoint))
    CUTTLE_FAIL("checkpoint '", t.checkpoint, "' is a bare weights file: pass its config (--config)");
  else t.config = parse_camoxpert_config(checkpoint_field(t.meta, t.checkpoint, "config"), t.checkpoint);
  CamoXpertConfig arch = t.config;
  arch.backbone.weights.clear();  // the checkpoint holds the trained backbone
  engine::Generator gen(0);
  t.model = build_camoxpert(arch, gen).model;
  load_checkpoint_model(t.checkpoint, *t.model);
  t.model->to(device);
  t.model->eval();
  return t;
}

}  // namespace cuttle::models
