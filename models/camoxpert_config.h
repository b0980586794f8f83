// Defines CamoXpertConfig, the JSON model-and-recipe configuration of CamoXpert (docs/CAMOXPERT.md,
// "Configs"), and its parser. Every field has a default (the GPU recipe's); an unknown field is an
// error naming the field and the file, so a typo never silently falls back to a default.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cuttle::models {

struct BackboneConfig {
  std::string type = "pvt_v2_b2";  // small_cnn | pvt_v2_b0 | pvt_v2_b1 | pvt_v2_b2
  std::vector<int64_t> dims;       // C1..C4; empty: the backbone type's own dims
  std::string weights;             // pretrained safetensors path; empty: random init
};

// The 6 COD experts of CAMOXPERT.md (the default pool of every scale).
const std::vector<std::string>& default_cod_experts();

struct MoEConfig {
  std::vector<std::string> experts = default_cod_experts();
  int64_t top_k = 2;
  std::string mode = "batched";  // batched | per_sample | dense_masked | dense_soft
  bool balance = true;           // loss-free balancing bias
  bool bias_in_weights = false;  // the original's variant
  bool aux_loss = false;         // auxiliary balance loss (coef warmed up over epochs)
  double aux_coef_min = 1e-5, aux_coef_max = 1e-4;
  int64_t aux_warmup_start_epoch = 30, aux_warmup_end_epoch = 90;
  std::vector<int64_t> sr_ratios{8, 4, 2, 1};  // CODAttention spatial reduction per scale
};

// Weights of the total loss (CAMOXPERT.md, "Loss").
struct LossWeights {
  double final_map = 1.0;    // structure(final)
  double refine = 0.5;       // structure(first refinement)
  double p0 = 0.5;           // structure(p0)
  double fg = 0.5;           // BCE(fg, T)
  double search = 0.5;       // BCE(search, T)
  double deep = 0.4;         // mean over the deep heads of BCEL
  double uncertainty = 0.3;  // Laplace likelihood of the error
  double moe_aux = 1.0;      // the MoE auxiliary losses (their coefficient is the MoE's own)
};

struct TrainConfig {
  double lr = 1e-4;
  double min_lr = 1e-6;              // end of the cosine
  double weight_decay = 1e-4;
  double beta1 = 0.9, beta2 = 0.999;
  int64_t warmup_steps = 0;          // used when > 0, else warmup_epochs
  int64_t warmup_epochs = 5;
  int64_t steps = 0;                 // used when > 0, else epochs
  int64_t epochs = 100;
  int64_t batch = 16;
  double router_lr_scale = 0.1;
  double clip = 1.0;                 // gradient-norm clip; 0 = off
  bool ema = false;
  double ema_decay = 0.999;
  int64_t freeze_backbone_epochs = 0;
  int64_t val_size = 200;            // synthetic validation split (CPU runs)
  int64_t synthetic_size = 2000;     // synthetic training scenes per epoch (fresh scenes every epoch)
  std::vector<double> synthetic_cue{0.3, 1.0};  // [min, max] of the per-scene camouflage cue (0 hardest)
  int64_t accumulate = 1;            // micro-batches per optimizer step (gradient accumulation)
  int64_t precise_bn_batches = 0;    // before each validation, BN statistics recomputed over this many batches
  // Progressive resizing: the first low_res_steps optimizer steps train on batches resized to
  // low_res_size (a multiple of 32; 0 = off, and so is a size not below image_size): early steps
  // learn coarse shapes at a fraction of the cost, the rest fine-tune at the full size.
  int64_t low_res_size = 0;
  int64_t low_res_steps = 0;
  bool tf32 = true;                  // CUDA: f32 convolutions and GEMMs on TF32 tensor cores (the recipe)
  uint64_t seed = 0;
};

struct CamoXpertConfig {
  std::string name = "camoxpert";
  BackboneConfig backbone;
  MoEConfig moe;
  int64_t head_width = 64;  // h of the decoder heads; h % 4 == 0
  int64_t image_size = 352;
  LossWeights loss;
  TrainConfig train;

  // Throw cuttle::Error (naming `source`) for out-of-range values: validate those of the model (all a
  // trained checkpoint needs), validate_training those of the recipe (loss, optimizer, data, schedule).
  void validate(const std::string& source = "config") const;
  void validate_training(const std::string& source = "config") const;
};

// Parses a JSON object; `source` (a file name) goes into every message.
CamoXpertConfig parse_camoxpert_config(const nlohmann::json& j, const std::string& source = "config");
CamoXpertConfig load_camoxpert_config(const std::string& path);
// Every field, with the names the parser reads (round-trips through parse_camoxpert_config).
nlohmann::json to_json(const CamoXpertConfig& c);

}  // namespace cuttle::models
