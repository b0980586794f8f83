#include "models/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"

namespace cuttle::models {

namespace fs = std::filesystem;

namespace {

const char* kModelFile = "model.safetensors";
const char* kOptimizerFile = "optimizer.safetensors";
const char* kEmaFile = "ema.safetensors";
const char* kMetaFile = "checkpoint.json";

// Where a swap keeps the previous copy until the new one is in place.
std::string previous_of(const std::string& dir) { return dir + ".previous"; }

// Swaps `tmp` into `dir` in one step: renameat2(RENAME_EXCHANGE) where the filesystem has it (the old
// copy then sits at tmp and is deleted), else two renames with `.previous` covering the gap.
void swap_into_place(const std::string& tmp, const std::string& dir) {
  if (!fs::exists(dir)) {
    CUTTLE_CHECK(::rename(tmp.c_str(), dir.c_str()) == 0, "checkpoint: renaming '", tmp, "' to '", dir,
                 "' failed: ", std::strerror(errno));
    return;
  }
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(tmp);
    return;
  }
#endif
  const std::string prev = previous_of(dir);
  fs::remove_all(prev);
  CUTTLE_CHECK(::rename(dir.c_str(), prev.c_str()) == 0, "checkpoint: moving '", dir, "' aside failed: ",
               std::strerror(errno));
  CUTTLE_CHECK(::rename(tmp.c_str(), dir.c_str()) == 0, "checkpoint: renaming '", tmp, "' to '", dir,
               "' failed: ", std::strerror(errno), " (the previous checkpoint is at '", prev, "')");
  fs::remove_all(prev);
}


}  // namespace

void save_checkpoint(const std::string& dir_in, const layers::Module& model, const autograd::Optimizer* optimizer,
                     const layers::ModelEMA* ema, nlohmann::json meta) {
  const std::string dir = fs::path(dir_in).lexically_normal().string();
  const fs::path parent = fs::absolute(fs::path(dir)).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  CUTTLE_CHECK(!ec, "checkpoint '", dir, "': cannot create '", parent.string(), "': ", ec.message());
  const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  CUTTLE_CHECK(fs::create_directory(tmp, ec) && !ec, "checkpoint: cannot create '", tmp, "': ", ec.message());
  try {
    meta["format"] = kCheckpointFormat;
    // Each file is written atomically itself (temporary name, fsync, rename inside tmp).
    model.save_state((fs::path(tmp) / kModelFile).string(), {{"format", kCheckpointFormat}});
    if (optimizer) engine::save_safetensors((fs::path(tmp) / kOptimizerFile).string(), optimizer->state_dict());
    if (ema) engine::save_safetensors((fs::path(tmp) / kEmaFile).string(), ema->state());
    meta["has_optimizer"] = optimizer != nullptr;
    meta["has_ema"] = ema != nullptr;
    if (ema) meta["ema_updates"] = ema->updates();
    engine::write_file_atomic((fs::path(tmp) / kMetaFile).string(), meta.dump(2) + "\n");
    engine::fsync_directory(tmp);
    swap_into_place(tmp, dir);
    engine::fsync_directory(parent.string());
  } catch (...) {
    fs::remove_all(tmp, ec);  // the previous checkpoint is untouched
    throw;
  }
}

bool is_checkpoint_dir(const std::string& dir) {
  return fs::is_regular_file(fs::path(dir) / kModelFile) && fs::is_regular_file(fs::path(dir) / kMetaFile);
}

std::string resolve_checkpoint(const std::string& path) {
  CUTTLE_CHECK(!path.empty(), "checkpoint: empty path");
  if (fs::is_regular_file(path)) {
    CUTTLE_CHECK(fs::path(path).extension() == ".safetensors", "checkpoint '", path,
                 "': expected a checkpoint directory, a run directory or a .safetensors file");
    return path;
  }
  if (is_checkpoint_dir(path)) return path;
  if (is_checkpoint_dir(previous_of(path))) return previous_of(path);  // a swap was interrupted
  for (const char* name : {"checkpoint_best", "checkpoint_last"}) {
    const std::string c = (fs::path(path) / name).string();
    if (is_checkpoint_dir(c)) return c;
    if (is_checkpoint_dir(previous_of(c))) return previous_of(c);
  }
  CUTTLE_FAIL("checkpoint '", path, "': ", fs::exists(path) ? "holds no checkpoint" : "does not exist",
              "; expected a directory with ", kModelFile, " and ", kMetaFile,
              ", a run directory with checkpoint_best/ or checkpoint_last/, or a .safetensors file");
}

std::string resume_checkpoint(const std::string& run_dir) {
  CUTTLE_CHECK(!run_dir.empty(), "resume: empty run directory");
  CUTTLE_CHECK(fs::is_directory(run_dir), "cannot resume '", run_dir, "': ",
               fs::exists(run_dir) ? "not a directory" : "no such directory", "; expected a run directory of train_cod");
  const std::string last = (fs::path(run_dir) / "checkpoint_last").string();
  if (is_checkpoint_dir(last)) return last;
  if (is_checkpoint_dir(previous_of(last))) return previous_of(last);  // a swap was interrupted
  const bool best = is_checkpoint_dir((fs::path(run_dir) / "checkpoint_best").string());
  CUTTLE_FAIL("cannot resume '", run_dir, "': ",
              fs::exists(last) ? "its checkpoint_last/ lacks " + std::string(kModelFile) + " or " + kMetaFile
                               : std::string("it has no checkpoint_last/"),
              best ? " (its checkpoint_best/ holds weights for infer_cod, but a run resumes from checkpoint_last/)"
                   : " (not a train_cod run directory, or the run stopped before its first checkpoint)");
}

const nlohmann::json& checkpoint_field(const nlohmann::json& meta, const std::string& checkpoint, const char* key) {
  auto it = meta.find(key);
  CUTTLE_CHECK(it != meta.end() && !it->is_null(), "checkpoint '", checkpoint, "': ", kMetaFile, " has no '", key,
               "' (damaged, or not written by train_cod)");
  return *it;
}

nlohmann::json read_checkpoint_meta(const std::string& checkpoint) {
  if (fs::is_regular_file(checkpoint)) return nlohmann::json::object();
  const std::string file = (fs::path(checkpoint) / kMetaFile).string();
  std::ifstream in(file);
  CUTTLE_CHECK(in, "checkpoint: cannot open '", file, "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    CUTTLE_FAIL("'", file, "' is not valid JSON: ", e.what());
  }
  CUTTLE_CHECK(j.is_object(), "'", file, "' must be a JSON object, got ", j.type_name());
  const auto format = j.find("format");
  CUTTLE_CHECK(format != j.end() && format->is_string() && format->get<std::string>() == kCheckpointFormat, "'", file,
               "': format ", format == j.end() ? std::string("missing") : format->dump(), ", expected \"",
               kCheckpointFormat, "\"");
  return j;
}

void load_checkpoint_model(const std::string& checkpoint, layers::Module& model) {
  const std::string file =
      fs::is_regular_file(checkpoint) ? checkpoint : (fs::path(checkpoint) / kModelFile).string();
  engine::SafetensorsContents c = engine::load_safetensors(file);
  try {
    model.load_state_dict(c.tensors, true, file);
  } catch (const Error& e) {
    const nlohmann::json meta = read_checkpoint_meta(checkpoint);
    std::string written = "";
    if (meta.contains("config")) written = " (it was written by config '" + meta["config"].value("name", "?") + "')";
    CUTTLE_FAIL("checkpoint '", checkpoint, "' does not fit this model", written, ": ", e.what());
  }
}

void load_checkpoint_optimizer(const std::string& checkpoint, autograd::Optimizer& optimizer) {
  const std::string file = (fs::path(checkpoint) / kOptimizerFile).string();
  CUTTLE_CHECK(fs::is_regular_file(file), "checkpoint '", checkpoint, "' has no optimizer state (", kOptimizerFile,
               "); it cannot be resumed, only loaded as weights");
  optimizer.load_state_dict(engine::load_safetensors(file).tensors);
}

void load_checkpoint_ema(const std::string& checkpoint, layers::ModelEMA& ema) {
  const std::string file = (fs::path(checkpoint) / kEmaFile).string();
  CUTTLE_CHECK(fs::is_regular_file(file), "checkpoint '", checkpoint, "' has no EMA weights (", kEmaFile, ")");
  engine::SafetensorsContents c = engine::load_safetensors(file);
  engine::NamedTensors named;
  // Saved in the model's state order; the file keeps its own order, so restore it from the EMA.
  for (const auto& [name, t] : ema.state()) {
    auto it = c.tensors.find(name);
    CUTTLE_CHECK(it != c.tensors.end(), "'", file, "': EMA entry '", name, "' is missing");
    named.emplace_back(name, it->second);
  }
  CUTTLE_CHECK(named.size() == c.tensors.size(), "'", file, "': ", c.tensors.size(), " EMA entries, the model has ",
               named.size());
  ema.load(named);
}

}  // namespace cuttle::models
