// Defines RoutingRecord: the experts each SparseMoE of a CamoXpert chose for every image of a run
// (indices [N, k] per scale, in the order the images went through the model), so that a trained
// model's routing can be replayed where routing matters for speed: bench_moe --routing-file and its
// PyTorch twin. Stored as safetensors: "moe.<scale>.indices" (I64 [N, k]) and metadata
// num_experts, top_k, model, source.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cuttle::models {

class CamoXpert;

class RoutingRecord {
 public:
  RoutingRecord() = default;
  RoutingRecord(int64_t scales, int64_t num_experts, int64_t top_k);

  // Appends the routing of `model`'s last forward (every scale; one host read each). The model's
  // scale count, expert count and top-k must match the record's; the batch must be the same size at
  // every scale.
  void append(CamoXpert& model);
  // Appends one scale's rows directly (tests, tools): host or device i64 [B, k].
  void append_scale(int64_t scale, const engine::Tensor& indices);

  int64_t scales() const { return (int64_t)rows_.size(); }
  int64_t num_experts() const { return num_experts_; }
  int64_t top_k() const { return top_k_; }
  int64_t images() const;  // throws when the scales hold different counts

  // Rows [first, first + count) of one scale: CPU i64 [count, k]. Throws naming what is missing.
  engine::Tensor batch(int64_t scale, int64_t first, int64_t count) const;
  // Samples per expert in those rows (E values; they sum to count * k).
  std::vector<int64_t> expert_counts(int64_t scale, int64_t first, int64_t count) const;

  std::map<std::string, std::string> metadata;  // saved with the record (model, source, ...)

  // Writes atomically; `path` names the file in errors on load.
  void save(const std::string& path) const;
  // Validates names, dtypes, shapes (one N and k for all scales), indices in [0, E) and distinct
  // within a row; errors name the file and the problem.
  static RoutingRecord load(const std::string& path);

 private:
  std::vector<std::vector<int64_t>> rows_;  // per scale, [N * k] row-major
  int64_t num_experts_ = 0, top_k_ = 0;
};

}  // namespace cuttle::models
