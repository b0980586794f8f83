// Declares training checkpoints: a directory holding
//   model.safetensors      the module's state dict (parameters and buffers, PyTorch names),
//   optimizer.safetensors  the optimizer's per-parameter state (absent when saved without one),
//   ema.safetensors        the EMA weights (only when EMA is on),
//   checkpoint.json        {"format", "config", "step", "epoch", "best", "rng", "provenance", ...}.
// It is written into a temporary sibling directory, every file and the directory fsynced, then swapped
// into place in one rename, so a crash at any moment leaves the previous checkpoint whole.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/optim/optimizer.h"
#include "layers/ema.h"
#include "layers/module.h"

namespace cuttle::models {

constexpr const char* kCheckpointFormat = "cuttle-checkpoint-1";

// Writes the checkpoint directory `dir` (replacing an existing one atomically). `meta` becomes
// checkpoint.json with "format" added. optimizer and ema may be null.
void save_checkpoint(const std::string& dir, const layers::Module& model, const autograd::Optimizer* optimizer,
                     const layers::ModelEMA* ema, nlohmann::json meta);

// The checkpoint directory `path` names: a checkpoint directory itself, a run directory (its
// checkpoint_best, else checkpoint_last), or a bare model.safetensors file (returned as is). When a
// crash interrupted a swap, the surviving previous copy is used. Throws saying what was looked for.
std::string resolve_checkpoint(const std::string& path);

// The checkpoint a run directory resumes from: its checkpoint_last (or the copy an interrupted swap
// left). Throws saying what is wrong: no such directory, no checkpoint_last, an incomplete one.
std::string resume_checkpoint(const std::string& run_dir);

bool is_checkpoint_dir(const std::string& dir);
// checkpoint.json; an empty object for a bare .safetensors file.
nlohmann::json read_checkpoint_meta(const std::string& checkpoint);
// meta[key]; throws naming the checkpoint when checkpoint.json lacks it.
const nlohmann::json& checkpoint_field(const nlohmann::json& meta, const std::string& checkpoint, const char* key);

// Strict load of the weights into `model`. A checkpoint of another architecture fails with the
// first mismatched names and shapes and the config name the checkpoint was written with.
void load_checkpoint_model(const std::string& checkpoint, layers::Module& model);
// The optimizer and EMA states, when the checkpoint has them (throws when they are missing).
void load_checkpoint_optimizer(const std::string& checkpoint, autograd::Optimizer& optimizer);
void load_checkpoint_ema(const std::string& checkpoint, layers::ModelEMA& ema);

}  // namespace cuttle::models
