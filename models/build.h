// Declares the builders that turn a CamoXpertConfig into a model: the backbone of backbone.type
// (small_cnn with backbone.dims, or PVTv2 b0/b1/b2), the whole CamoXpert, and the optimizer parameter
// groups of the training recipe (the routers at train.router_lr_scale x lr, everything else at 1x).
#pragma once
#include <memory>
#include <vector>

#include "autograd/optim/optimizer.h"
#include "engine/random.h"
#include "models/camoxpert.h"
#include "models/camoxpert_config.h"

namespace cuttle::models {

// Random (seeded) initialisation; backbone.weights is not read here (the trainer loads it).
std::shared_ptr<Backbone> make_backbone(const BackboneConfig& config, engine::Generator& gen);
std::shared_ptr<CamoXpert> make_camoxpert(const CamoXpertConfig& config, engine::Generator& gen);

// Group 0: every parameter outside the routers (lr x 1); group 1: the MoE routers' weights and biases
// (lr x router_lr_scale). Both take the optimizer's weight decay. Trainable parameters only.
std::vector<autograd::ParamGroup> camoxpert_param_groups(const CamoXpert& model, const TrainConfig& train);

}  // namespace cuttle::models
