// Defines the pieces of PVTv2 (timm's pvt_v2 layout and state names): OverlapPatchEmbed, MixFFN,
// PvtBlock and PvtStage. Tokens are [B, N = H*W, C] with pixels in row-major order.
//
// State names, relative to each piece:
//   OverlapPatchEmbed: proj.{weight,bias} (conv k, stride s, pad k/2), norm.{weight,bias}
//   MixFFN:            fc1.*, dwconv.{weight,bias} (depthwise 3x3, pad 1), fc2.*
//   PvtBlock:          norm1.*, attn.{q,kv,proj,sr,norm}.*, norm2.*, mlp.*
//   PvtStage:          downsample.* (stages 1-3 only), blocks.{j}.*, norm.*
// No dropout and no drop-path: timm's defaults (drop rates 0) and what timm does in eval, so training
// here is always "drop_path_rate = 0".
#pragma once
#include <memory>
#include <tuple>

#include "engine/random.h"
#include "layers/attention.h"
#include "layers/container.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "models/backbones/backbone.h"

namespace cuttle::models {

// Conv (kernel k, stride s, padding k/2) then LayerNorm over the channels of each output pixel.
// timm builds this norm with nn.LayerNorm's default eps (1e-5), not the blocks' norm_layer.
class OverlapPatchEmbed : public layers::Module {
 public:
  OverlapPatchEmbed(int64_t in, int64_t out, int64_t kernel, int64_t stride, engine::Generator& gen);
  std::string type_name() const override { return "OverlapPatchEmbed"; }
  // Image [B, C, H, W] -> tokens [B, H'*W', out], with H' and W'.
  std::tuple<Var, int64_t, int64_t> forward(const Var& x);
  std::shared_ptr<layers::Conv2d> proj;
  std::shared_ptr<layers::LayerNorm> norm;
};

// fc1 -> depthwise conv3x3 on the token grid -> GELU (erf form) -> fc2.
class MixFFN : public layers::Module {
 public:
  MixFFN(int64_t dim, int64_t hidden, engine::Generator& gen);
  std::string type_name() const override { return "MixFFN"; }
  Var forward(const Var& x, int64_t H, int64_t W);
  std::shared_ptr<layers::Linear> fc1, fc2;
  std::shared_ptr<layers::Conv2d> dwconv;

 private:
  int64_t hidden_;
};

// x + attn(norm1 x), then x + mlp(norm2 x) (pre-norm transformer block).
class PvtBlock : public layers::Module {
 public:
  PvtBlock(int64_t dim, int64_t heads, int64_t sr_ratio, double mlp_ratio, double eps, bool qkv_bias,
           engine::Generator& gen);
  std::string type_name() const override { return "PvtBlock"; }
  Var forward(const Var& x, int64_t H, int64_t W);
  std::shared_ptr<layers::LayerNorm> norm1, norm2;
  std::shared_ptr<layers::SpatialReductionAttention> attn;
  std::shared_ptr<MixFFN> mlp;
};

// [downsample] -> blocks -> norm -> NCHW map. Without downsample the input is already tokens.
class PvtStage : public layers::Module {
 public:
  PvtStage(int64_t dim_in, int64_t dim, int64_t depth, bool downsample, int64_t heads, int64_t sr_ratio,
           double mlp_ratio, double eps, bool qkv_bias, engine::Generator& gen);
  std::string type_name() const override { return "PvtStage"; }
  // With downsample: x is the previous stage's map [B, dim_in, H, W]; without: tokens [B, H*W, dim]
  // of the H x W grid. Returns the stage's map [B, dim, H', W'].
  Var forward(const Var& x, int64_t H, int64_t W);
  std::shared_ptr<OverlapPatchEmbed> downsample;  // null in stage 0 (the model's patch_embed instead)
  std::shared_ptr<layers::ModuleList> blocks;
  std::shared_ptr<layers::LayerNorm> norm;

 private:
  int64_t dim_;
};

}  // namespace cuttle::models
