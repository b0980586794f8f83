#include "models/backbones/pvt_v2.h"

#include <cmath>
#include <regex>

#include "engine/error.h"
#include "engine/ops/elementwise.h"

namespace cuttle::models {

PvtV2Config pvt_v2_b0() { return PvtV2Config{}; }

PvtV2Config pvt_v2_b1() {
  PvtV2Config c;
  c.embed_dims = {64, 128, 320, 512};
  return c;
}

PvtV2Config pvt_v2_b2() {
  PvtV2Config c = pvt_v2_b1();
  c.depths = {3, 4, 6, 3};
  return c;
}

PvtV2Config pvt_v2_config(const std::string& name) {
  std::string n = name.rfind("pvt_v2_", 0) == 0 ? name.substr(7) : name;
  if (n == "b0") return pvt_v2_b0();
  if (n == "b1") return pvt_v2_b1();
  if (n == "b2") return pvt_v2_b2();
  CUTTLE_FAIL("pvt_v2_config: unknown variant '", name, "' (expected b0, b1 or b2)");
}

PvtV2::PvtV2(const PvtV2Config& cfg, engine::Generator& gen) : cfg_(cfg) {
  for (int i = 0; i < 4; ++i) {
    CUTTLE_CHECK(cfg.embed_dims[i] > 0 && cfg.num_heads[i] > 0 && cfg.embed_dims[i] % cfg.num_heads[i] == 0,
                 "PvtV2: stage ", i, " embed dim ", cfg.embed_dims[i], " must be a positive multiple of heads ",
                 cfg.num_heads[i]);
    CUTTLE_CHECK(cfg.mlp_ratios[i] > 0, "PvtV2: stage ", i, " mlp ratio must be positive");
  }
  patch_embed = register_module("patch_embed",
                                std::make_shared<OverlapPatchEmbed>(cfg.in_chans, cfg.embed_dims[0], 7, 4, gen));
  stages = register_module("stages", std::make_shared<layers::ModuleList>());
  int64_t prev = cfg.embed_dims[0];
  for (int i = 0; i < 4; ++i) {
    stages->push_back(std::make_shared<PvtStage>(prev, cfg.embed_dims[i], cfg.depths[i], i > 0, cfg.num_heads[i],
                                                 cfg.sr_ratios[i], cfg.mlp_ratios[i], cfg.eps, cfg.qkv_bias, gen));
    prev = cfg.embed_dims[i];
  }
  timm_vit_init(*this, gen);
}

std::vector<Var> PvtV2::features(const Var& x) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == cfg_.in_chans, "PvtV2: input ", x.data().str(), " is not [B, ",
               cfg_.in_chans, ", H, W]");
  CUTTLE_CHECK(x.size(2) % 32 == 0 && x.size(3) % 32 == 0, "PvtV2: H x W = ", x.size(2), "x", x.size(3),
               " must be multiples of 32");
  auto [t, H, W] = patch_embed->forward(x);
  std::vector<Var> out;
  Var h = stages->at<PvtStage>(0)->forward(t, H, W);
  out.push_back(h);
  for (int i = 1; i < 4; ++i) {
    h = stages->at<PvtStage>(i)->forward(h, 0, 0);  // the downsample finds H and W itself
    out.push_back(h);
  }
  return out;
}

layers::LoadReport PvtV2::load_timm_state_dict(const std::map<std::string, Tensor>& state, bool strict,
                                               const std::string& source) {
  return load_state_dict(normalize_pvt_state_dict(state), strict, source);
}

layers::LoadReport PvtV2::load_timm_state(const std::string& path, bool strict) {
  return load_timm_state_dict(engine::load_safetensors(path).tensors, strict, path);
}

std::map<std::string, Tensor> normalize_pvt_state_dict(const std::map<std::string, Tensor>& state) {
  static const std::regex flat_stage(R"(^stages_(\d+)\.)");
  static const std::string dw2 = ".mlp.dwconv.dwconv.";
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : state) {
    if (name.rfind("head.", 0) == 0) continue;  // the classifier is no part of a backbone
    std::string n = std::regex_replace(name, flat_stage, "stages.$1.");
    if (size_t p = n.find(dw2); p != std::string::npos) n.replace(p, dw2.size(), ".mlp.dwconv.");
    CUTTLE_CHECK(out.emplace(n, t).second, "normalize_pvt_state_dict: '", name, "' maps to '", n,
                 "', which another entry already took");
  }
  return out;
}

namespace {
void init_walk(layers::Module& m, engine::Generator& gen) {
  if (auto* lin = dynamic_cast<layers::Linear*>(&m)) {
    Tensor w = engine::normal(lin->weight.shape(), 0.0, 0.02, lin->weight.dtype(), &gen);
    lin->weight.mutable_data().copy_(engine::clamp(w, -2.0, 2.0));
    if (lin->bias.defined()) lin->bias.mutable_data().zero_();
  } else if (auto* conv = dynamic_cast<layers::Conv2d*>(&m)) {
    const layers::Size2 k = conv->kernel();
    const int64_t fan_out = k[0] * k[1] * conv->out_channels() / conv->options().groups;
    conv->weight.mutable_data().copy_(
        engine::normal(conv->weight.shape(), 0.0, std::sqrt(2.0 / double(fan_out)), conv->weight.dtype(), &gen));
    if (conv->bias.defined()) conv->bias.mutable_data().zero_();
  }
  for (const auto& [name, child] : m.children()) init_walk(*child, gen);
}
}  // namespace

void timm_vit_init(layers::Module& m, engine::Generator& gen) { init_walk(m, gen); }

}  // namespace cuttle::models
