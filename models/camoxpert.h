// Defines CamoXpert, the camouflaged-object-detection network of docs/CAMOXPERT.md ("Whole model"):
// a Backbone's 4 maps, one SparseMoE per scale, the search/identification head, the 4-block decoder,
// reverse attention, the uncertainty head, 2 boundary-refinement passes and 3 deep-supervision heads.
// Module names (state dict): backbone.*, moe.{scale}.*, search.*, decoder.{i}.*, ra.*, unc.*,
// refine.blocks.{i}.*, refine.heads.{i}.*, deep.{i}.*; the sub-module names are listed in camoxpert.cpp.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "engine/random.h"
#include "layers/conv_bn_relu.h"
#include "layers/container.h"
#include "layers/conv.h"
#include "layers/moe/sparse_moe.h"
#include "layers/norm.h"
#include "models/backbone.h"
#include "models/camoxpert_config.h"

namespace cuttle::models {

// Everything the loss needs from one forward pass. Maps are [B,1,H,W] unless stated.
struct CamoXpertOutput {
  Var logits;               // final = pred_2
  Var pred_1;               // first refinement
  Var p0;                   // uncertainty head's mean, clamped (= pred_0)
  Var fg;                   // reverse attention's foreground probability, upsampled
  Var search;               // search probability, upsampled
  Var u;                    // uncertainty scale in [1e-8, 10]
  std::vector<Var> deep;    // logits on f3', f2', f1' (H/16, H/8, H/4)
  std::vector<Var> moe_aux; // auxiliary losses of the MoEs that produced one (training, when enabled)
};

// conv(k) -> BatchNorm2d -> ReLU; children "conv", "bn".

class CamoXpert : public layers::Module {
 public:
  // Throws cuttle::Error when the config is invalid or its backbone.dims disagree with the backbone's.
  CamoXpert(const CamoXpertConfig& config, std::shared_ptr<Backbone> backbone, engine::Generator& gen);
  std::string type_name() const override { return "CamoXpert"; }

  // x [B,3,H,W], H and W multiples of 32.
  CamoXpertOutput forward(const Var& x);

  Backbone& backbone() { return *backbone_; }
  layers::SparseMoE& moe(int64_t scale) { return *moes_.at((size_t)scale); }
  int64_t num_moes() const { return (int64_t)moes_.size(); }
  const CamoXpertConfig& config() const { return config_; }

 private:
  CamoXpertConfig config_;
  std::shared_ptr<Backbone> backbone_;
  std::vector<std::shared_ptr<layers::SparseMoE>> moes_;
  // search.*: branch = the search map's convs, ident = the identification convs
  std::shared_ptr<layers::Sequential> search_branch_, ident_;
  std::vector<std::shared_ptr<layers::Sequential>> decoder_;        // decoder.{i}: ConvBNReLU x2
  std::shared_ptr<layers::Sequential> ra_bg_, ra_fuse_;              // ra.bg, ra.fuse
  std::shared_ptr<layers::UnaryModule> unc_shared_;                  // unc.shared
  std::shared_ptr<layers::Sequential> unc_mean_, unc_scale_;         // unc.mean, unc.scale
  std::vector<std::shared_ptr<layers::Sequential>> refine_blocks_;   // refine.blocks.{i}
  std::vector<std::shared_ptr<layers::Conv2d>> refine_heads_;        // refine.heads.{i}
  std::vector<std::shared_ptr<layers::Conv2d>> deep_;                // deep.{i} on f3', f2', f1'
};

}  // namespace cuttle::models
