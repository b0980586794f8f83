// model_info: parameter counts and forward multiply-adds per image of a CamoXpert config.
//
// Parameters: total, backbone, each MoE (router + expert pool, and each expert), head (the rest).
// Multiply-adds (MACs, counted by autograd::MacCounter while the forward runs, batch 1): conv2d
// (Cout*Hout*Wout * Cin/groups*kh*kw), linear (rows*in*out), matmul (M*K*N per batch entry) and
// softmax attention (q k^T and P v); biases, norms, activations, pooling, resizes and element-wise ops
// are not counted. 1 MAC = 2 FLOPs; the field's "FLOPs" (thop, fvcore) are usually MACs.
// The top-k figure depends on which experts the router picks: reported as the mean over the pool
// (uniform routing, what balancing aims at), the cheapest and the dearest k experts per scale, and the
// dense model (every expert). The head is the dense forward minus the backbone, experts and routers.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "apps/shipped_config.h"
#include "autograd/functions/pool.h"
#include "autograd/functions/views.h"
#include "autograd/grad_mode.h"
#include "autograd/mac_counter.h"
#include "engine/random.h"
#include "models/model_factory.h"

using namespace cuttle;
using autograd::Var;

namespace {

template <typename F>
int64_t macs_of(F&& f) {
  autograd::MacCounter c;
  f();
  return c.total();
}

void print_state_names(const models::CamoXpert& model) {
  for (const auto& [name, t] : model.state_dict()) {
    std::printf("%s [", name.c_str());
    for (size_t i = 0; i < t.shape().size(); ++i) std::printf(i ? ", %lld" : "%lld", (long long)t.shape()[i]);
    std::printf("]\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"model_info: parameter counts and forward multiply-adds per image of a CamoXpert config"};
  std::string config_path;
  int64_t size = 0;
  bool names = false;
  std::string save;
  app.add_option("--config", config_path, "config file, or the name of a shipped config (models/configs/NAME.json)")
      ->required();
  app.add_option("--image-size", size, "input side, a multiple of 32 (default: the config's image_size)");
  app.add_flag("--state-names", names, "print every state-dict entry with its shape, then stop");
  app.add_option("--save-weights", save, "also write the (seeded, random) initial weights to this safetensors file");
  CLI11_PARSE(app, argc, argv);

  try {
    const models::CamoXpertConfig cfg = models::load_camoxpert_config(apps::find_shipped_config(config_path));
    if (size == 0) size = cfg.image_size;
    CUTTLE_CHECK(size > 0 && size % 32 == 0, "--image-size ", size, " must be a positive multiple of 32");
    engine::Generator gen(cfg.train.seed);
    auto model = models::make_camoxpert(cfg, gen);
    if (names) {
      print_state_names(*model);
      return 0;
    }
    if (!save.empty()) model->save_state(save);
    model->eval();
    autograd::NoGradGuard no_grad;

    const int64_t total = model->num_parameters(), backbone = model->backbone().num_parameters();
    int64_t moe_params = 0;
    std::printf("%s, image %lldx%lld, top-%lld of %zu experts per scale\n", cfg.name.c_str(), (long long)size,
                (long long)size, (long long)cfg.moe.top_k, cfg.moe.experts.size());
    std::printf("parameters: total %lld (%.3f M)\n  backbone %lld\n", (long long)total, total / 1e6, (long long)backbone);
    for (int64_t s = 0; s < 4; ++s) {
      layers::SparseMoE& m = model->moe(s);
      moe_params += m.num_parameters();
      std::printf("  moe.%lld %lld (router %lld; experts", (long long)s, (long long)m.num_parameters(),
                  (long long)m.router().num_parameters());
      for (int64_t e = 0; e < m.num_experts(); ++e)
        std::printf(" %s %lld", cfg.moe.experts[(size_t)e].c_str(), (long long)m.expert(e).num_parameters());
      std::printf(")\n");
    }
    std::printf("  head %lld\n", (long long)(total - backbone - moe_params));

    const Var x(engine::normal({1, 3, size, size}, 0.0, 1.0, engine::DType::f32, &gen));
    std::vector<Var> feats;
    const int64_t mac_backbone = macs_of([&] { feats = model->backbone().features(x); });
    std::vector<std::vector<int64_t>> mac_experts(4);
    int64_t mac_routers = 0, mac_moe_dense = 0;
    for (size_t s = 0; s < 4; ++s) {
      layers::SparseMoE& m = model->moe((int64_t)s);
      const Var pooled = autograd::reshape(autograd::adaptive_avg_pool2d(feats[s], 1, 1), {1, feats[s].size(1)});
      mac_routers += macs_of([&] { m.router()(pooled); });
      for (int64_t e = 0; e < m.num_experts(); ++e) mac_experts[s].push_back(macs_of([&] { m.expert(e)(feats[s]); }));
      mac_moe_dense += std::accumulate(mac_experts[s].begin(), mac_experts[s].end(), int64_t(0));
    }
    std::vector<layers::MoEMode> modes;
    for (int64_t s = 0; s < 4; ++s) {
      modes.push_back(model->moe(s).options().mode);
      model->moe(s).set_mode(layers::MoEMode::dense_soft);
    }
    const int64_t mac_dense = macs_of([&] { model->forward(x); });
    for (int64_t s = 0; s < 4; ++s) model->moe(s).set_mode(modes[(size_t)s]);
    const int64_t mac_head = mac_dense - mac_backbone - mac_moe_dense - mac_routers;

    const int64_t k = cfg.moe.top_k;
    const double fixed = double(mac_backbone + mac_head + mac_routers);
    double mean = fixed, cheap = fixed, dear = fixed;
    for (auto e : mac_experts) {
      const double sum = (double)std::accumulate(e.begin(), e.end(), int64_t(0));
      mean += double(k) * sum / double(e.size());
      std::sort(e.begin(), e.end());
      cheap += (double)std::accumulate(e.begin(), e.begin() + k, int64_t(0));
      dear += (double)std::accumulate(e.end() - k, e.end(), int64_t(0));
    }
    const double G = 1e9;
    std::printf("forward multiply-adds per image (GMAC): backbone %.4f, head %.4f, routers %.6f\n", mac_backbone / G,
                mac_head / G, mac_routers / G);
    for (size_t s = 0; s < 4; ++s) {
      std::printf("  moe.%zu experts:", s);
      for (size_t e = 0; e < mac_experts[s].size(); ++e)
        std::printf("%s %s %.4f", e ? "," : "", cfg.moe.experts[e].c_str(), mac_experts[s][e] / G);
      std::printf("\n");
    }
    std::printf("  total top-%lld: mean over experts %.4f, cheapest %.4f, dearest %.4f; dense (all experts) %.4f\n",
                (long long)k, mean / G, cheap / G, dear / G, mac_dense / G);
    std::printf("exact MACs: backbone %lld, head %lld, routers %lld, experts (all) %lld, dense %lld\n",
                (long long)mac_backbone, (long long)mac_head, (long long)mac_routers, (long long)mac_moe_dense,
                (long long)mac_dense);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_info: %s\n", e.what());
    return 1;
  }
  return 0;
}
