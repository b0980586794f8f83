// Declares the builders that turn a CamoXpertConfig into a model: the backbone its `backbone.type`
// names, pretrained backbone weights from `backbone.weights` (timm's names, either stage spelling),
// and the whole CamoXpert, initialised from one seeded generator.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/optim/optimizer.h"
#include "engine/random.h"
#include "models/camoxpert.h"

namespace cuttle::models {

// small_cnn | pvt_v2_b0 | pvt_v2_b1 | pvt_v2_b2; throws naming the known types otherwise.
std::shared_ptr<Backbone> make_backbone(const BackboneConfig& config, engine::Generator& gen);

// CamoXpert with every weight from `gen` (PyTorch's default initialisations); backbone.weights is not
// read here (build_camoxpert does that).
std::shared_ptr<CamoXpert> make_camoxpert(const CamoXpertConfig& config, engine::Generator& gen);

// The optimizer groups of the recipe: group 0 every trainable parameter outside the routers (lr x 1),
// group 1 the MoE routers' weights and biases (lr x train.router_lr_scale); both take the optimizer's
// weight decay.
std::vector<autograd::ParamGroup> camoxpert_param_groups(const CamoXpert& model, const TrainConfig& train);

// Loads a safetensors file of backbone weights (strict; a timm PVTv2 state dict loads as saved, its
// classifier head ignored). Throws naming the file and the mismatched names.
void load_backbone_weights(Backbone& backbone, const std::string& path);

struct BuiltModel {
  std::shared_ptr<CamoXpert> model;
  std::vector<std::string> warnings;  // e.g. a transformer backbone that starts from random weights
};
// The model of `config`, backbone weights loaded when config.backbone.weights is set.
BuiltModel build_camoxpert(const CamoXpertConfig& config, engine::Generator& gen);

// A trained model ready for inference: resolved from a run directory, a checkpoint directory or a
// bare .safetensors file (which needs `config_path`, as it carries no config), weights loaded
// strictly, moved to `device`, in eval mode.
struct TrainedModel {
  std::shared_ptr<CamoXpert> model;
  CamoXpertConfig config;
  std::string checkpoint;  // the resolved checkpoint path
  nlohmann::json meta;     // its checkpoint.json (empty for a bare file)
};
TrainedModel load_trained_model(const std::string& checkpoint_or_run, engine::Device device,
                                const std::string& config_path = "");

}  // namespace cuttle::models
