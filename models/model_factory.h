// Declares the builders that turn a CamoXpertConfig into a model: the backbone its `backbone.type`
// names, pretrained backbone weights from `backbone.weights` (timm's names, either stage spelling),
// and the whole CamoXpert, initialised from one seeded generator.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "models/camoxpert.h"

namespace cuttle::models {

// small_cnn | pvt_v2_b0 | pvt_v2_b1 | pvt_v2_b2; throws naming the known types otherwise.
std::shared_ptr<Backbone> make_backbone(const BackboneConfig& config, engine::Generator& gen);

// Loads a safetensors file of backbone weights (strict; a timm PVTv2 state dict loads as saved, its
// classifier head ignored). Throws naming the file and the mismatched names.
void load_backbone_weights(Backbone& backbone, const std::string& path);

struct BuiltModel {
  std::shared_ptr<CamoXpert> model;
  std::vector<std::string> warnings;  // e.g. a transformer backbone that starts from random weights
};
// The model of `config`, backbone weights loaded when config.backbone.weights is set.
BuiltModel build_camoxpert(const CamoXpertConfig& config, engine::Generator& gen);

}  // namespace cuttle::models
