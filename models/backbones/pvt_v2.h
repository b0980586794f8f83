// Defines PvtV2, the Pyramid Vision Transformer v2 backbone with timm's `pvt_v2_b*` parameter names,
// its configuration (PvtV2Config; pvt_v2_b0/b1/b2), and normalize_pvt_state_dict, which maps the
// other spellings of a timm state dict onto cuttle's names.
//
// Layout and state names (as timm.create_model("pvt_v2_b*") writes them, head excluded):
//   patch_embed.proj.{weight,bias}      conv k7 s4 p3, 3 -> D0
//   patch_embed.norm.{weight,bias}      LayerNorm eps 1e-5
//   stages.{i}.downsample.{proj,norm}.* i = 1..3: conv k3 s2 p1, D(i-1) -> Di, LayerNorm eps 1e-5
//   stages.{i}.blocks.{j}.norm1.*       LayerNorm eps cfg.eps (1e-6 in b0-b2)
//   stages.{i}.blocks.{j}.attn.q.*, attn.kv.*, attn.proj.*, attn.sr.*, attn.norm.*  (sr/norm when sr>1)
//   stages.{i}.blocks.{j}.norm2.*
//   stages.{i}.blocks.{j}.mlp.fc1.*, mlp.dwconv.{weight,bias}, mlp.fc2.*
//   stages.{i}.norm.{weight,bias}       LayerNorm eps cfg.eps
// Current timm keeps the depthwise conv directly as `mlp.dwconv` (its checkpoint filter rewrites the
// original PVT repository's `mlp.dwconv.dwconv`); both spellings load (normalize_pvt_state_dict).
//
// Initialisation (seeded, after timm's _init_weights): Linear weight ~ N(0, 0.02) truncated to
// [-2, 2] (timm's absolute bounds, 100 std: in practice never reached), bias 0; Conv2d weight ~
// N(0, sqrt(2 / fan_out)), fan_out = kh * kw * out / groups, bias 0; LayerNorm ones and zeros.
// No dropout or drop-path (eval-equivalent; see pvt_v2_blocks.h).
#pragma once
#include <array>
#include <map>
#include <memory>
#include <string>

#include "models/backbones/pvt_v2_blocks.h"

namespace cuttle::models {

struct PvtV2Config {
  std::array<int64_t, 4> embed_dims{32, 64, 160, 256};
  std::array<int64_t, 4> depths{2, 2, 2, 2};
  std::array<int64_t, 4> num_heads{1, 2, 5, 8};
  std::array<int64_t, 4> sr_ratios{8, 4, 2, 1};
  std::array<double, 4> mlp_ratios{8, 8, 4, 4};
  int64_t in_chans = 3;
  double eps = 1e-6;  // the blocks' and stage norms' LayerNorm eps (timm's pvt_v2_b*: 1e-6)
  bool qkv_bias = true;
};

PvtV2Config pvt_v2_b0();  // dims [32, 64, 160, 256], depths [2, 2, 2, 2]
PvtV2Config pvt_v2_b1();  // dims [64, 128, 320, 512], depths [2, 2, 2, 2]
PvtV2Config pvt_v2_b2();  // dims [64, 128, 320, 512], depths [3, 4, 6, 3]
// "b0", "b1", "b2" or "pvt_v2_b0" ...; throws on anything else.
PvtV2Config pvt_v2_config(const std::string& name);

class PvtV2 : public Backbone {
 public:
  PvtV2(const PvtV2Config& cfg, engine::Generator& gen);
  std::string type_name() const override { return "PvtV2"; }
  // x [B, in_chans, H, W], H and W multiples of 32 (and of 4 * sr_ratio[0] ... which 32 covers for b*).
  std::vector<Var> features(const Var& x) override;
  std::array<int64_t, 4> dims() const override { return cfg_.embed_dims; }
  const PvtV2Config& config() const { return cfg_; }
  // normalize_pvt_state_dict, then load_state_dict.
  layers::LoadReport load_timm_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                                          const std::string& source = "timm state dict");
  // The same from a safetensors file.
  layers::LoadReport load_timm_state(const std::string& path, bool strict = true);

  std::shared_ptr<OverlapPatchEmbed> patch_embed;
  std::shared_ptr<layers::ModuleList> stages;  // four PvtStage

 private:
  PvtV2Config cfg_;
};

// Rewrites a timm PVTv2 state dict to cuttle's names: `stages_N.` (timm features_only) -> `stages.N.`,
// `.mlp.dwconv.dwconv.` (original PVT naming) -> `.mlp.dwconv.`; drops the classifier (`head.*`).
// Other names pass through unchanged. Throws when two names map to the same one.
std::map<std::string, Tensor> normalize_pvt_state_dict(const std::map<std::string, Tensor>& state);

// timm's _init_weights over every Linear and Conv2d below `m` (see the header comment).
void timm_vit_init(layers::Module& m, engine::Generator& gen);

}  // namespace cuttle::models
