#include "models/training/run_log.h"

#include <fstream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace cuttle::models {

void RunLog::open(const std::string& path, int64_t keep_until_step) {
  path_ = path;
  if (keep_until_step >= 0) {
    std::string kept;
    for (const nlohmann::json& e : read(path))
      if (!e.contains("step") || e["step"].get<int64_t>() <= keep_until_step) kept += e.dump() + "\n";
    engine::write_file_atomic(path, kept);
  }
  file_ = std::fopen(path.c_str(), "a");
  CUTTLE_CHECK(file_, "cannot open the run log '", path, "' for writing");
}

RunLog::~RunLog() {
  if (file_) std::fclose(file_);
}

void RunLog::write(const nlohmann::json& entry) {
  if (!file_) return;
  const std::string line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  CUTTLE_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size(), "writing the run log '", path_, "' failed");
  std::fflush(file_);
}

std::vector<nlohmann::json> RunLog::read(const std::string& path) {
  std::vector<nlohmann::json> entries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      entries.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
    }
  }
  return entries;
}

}  // namespace cuttle::models
