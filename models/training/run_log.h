// Defines RunLog, the JSONL log of a run: one JSON object per line (steps, validations, events),
// flushed line by line so that a crash loses at most the line being written; a resumed run drops the
// lines past the checkpoint it continues from.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cuttle::models {

class RunLog {
 public:
  RunLog() = default;
  // Opens `path` for appending; with keep_until_step >= 0 the existing lines with "step" beyond it
  // are removed first (a resumed run rewrites that part of history).
  void open(const std::string& path, int64_t keep_until_step = -1);
  ~RunLog();
  void write(const nlohmann::json& entry);
  // Every entry of a log file (lines that do not parse are skipped: a torn last line).
  static std::vector<nlohmann::json> read(const std::string& path);

 private:
  FILE* file_ = nullptr;
  std::string path_;
};

}  // namespace cuttle::models
