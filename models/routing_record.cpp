#include "models/routing_record.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "models/camoxpert.h"

namespace cuttle::models {

namespace {
std::string scale_name(int64_t s) { return "moe." + std::to_string(s) + ".indices"; }

int64_t parse_count(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& path) {
  const auto it = meta.find(key);
  CUTTLE_CHECK(it != meta.end(), "routing record '", path, "': metadata has no '", key, "'");
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    if (used == it->second.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  CUTTLE_FAIL("routing record '", path, "': metadata '", key, "' = '", it->second, "' is not a positive integer");
}
}  // namespace

RoutingRecord::RoutingRecord(int64_t scales, int64_t num_experts, int64_t top_k)
    : rows_((size_t)scales), num_experts_(num_experts), top_k_(top_k) {
  CUTTLE_CHECK(scales > 0 && num_experts > 0 && top_k > 0 && top_k <= num_experts, "RoutingRecord: ", scales,
               " scales, ", num_experts, " experts, top-", top_k, " do not make a routing");
}

void RoutingRecord::append(CamoXpert& model) {
  CUTTLE_CHECK(model.num_moes() == scales(), "RoutingRecord: the model has ", model.num_moes(),
               " MoE layers, the record ", scales());
  std::vector<engine::Tensor> batch;
  for (int64_t s = 0; s < scales(); ++s) {
    const engine::Tensor& idx = model.moe(s).last_indices();
    CUTTLE_CHECK(idx.defined(), "RoutingRecord: MoE ", s, " has no routing yet (run a forward first)");
    CUTTLE_CHECK(model.moe(s).num_experts() == num_experts_, "RoutingRecord: MoE ", s, " has ",
                 model.moe(s).num_experts(), " experts, the record ", num_experts_);
    CUTTLE_CHECK(s == 0 || idx.size(0) == batch[0].size(0), "RoutingRecord: MoE ", s, " routed ", idx.size(0),
                 " samples, MoE 0 ", batch[0].size(0));
    batch.push_back(idx);
  }
  for (int64_t s = 0; s < scales(); ++s) append_scale(s, batch[(size_t)s]);
}

void RoutingRecord::append_scale(int64_t scale, const engine::Tensor& indices) {
  CUTTLE_CHECK(scale >= 0 && scale < scales(), "RoutingRecord: scale ", scale, " of ", scales());
  CUTTLE_CHECK(indices.dim() == 2 && indices.size(1) == top_k_ && indices.dtype() == engine::DType::i64,
               "RoutingRecord: indices ", indices.str(), " are not i64 [B, ", top_k_, "]");
  const std::vector<int64_t> v = indices.to(engine::Device::cpu()).to_vector<int64_t>();
  for (int64_t e : v)
    CUTTLE_CHECK(e >= 0 && e < num_experts_, "RoutingRecord: expert index ", e, " outside [0, ", num_experts_, ")");
  std::vector<int64_t>& rows = rows_[(size_t)scale];
  rows.insert(rows.end(), v.begin(), v.end());
}

int64_t RoutingRecord::images() const {
  CUTTLE_CHECK(!rows_.empty(), "RoutingRecord: empty record (no scales)");
  const int64_t n = (int64_t)rows_[0].size() / top_k_;
  for (size_t s = 1; s < rows_.size(); ++s)
    CUTTLE_CHECK((int64_t)rows_[s].size() / top_k_ == n, "RoutingRecord: scale ", s, " holds ",
                 rows_[s].size() / top_k_, " images, scale 0 ", n);
  return n;
}

engine::Tensor RoutingRecord::batch(int64_t scale, int64_t first, int64_t count) const {
  CUTTLE_CHECK(scale >= 0 && scale < scales(), "RoutingRecord: scale ", scale, " of ", scales());
  const int64_t n = images();
  CUTTLE_CHECK(first >= 0 && count > 0 && first + count <= n, "RoutingRecord: images [", first, ", ",
               first + count, ") asked, the record holds ", n);
  const auto begin = rows_[(size_t)scale].begin() + first * top_k_;
  return engine::Tensor::from_vector<int64_t>(std::vector<int64_t>(begin, begin + count * top_k_), {count, top_k_});
}

std::vector<int64_t> RoutingRecord::expert_counts(int64_t scale, int64_t first, int64_t count) const {
  std::vector<int64_t> counts((size_t)num_experts_, 0);
  for (int64_t e : batch(scale, first, count).to_vector<int64_t>()) ++counts[(size_t)e];
  return counts;
}

void RoutingRecord::save(const std::string& path) const {
  const int64_t n = images();
  CUTTLE_CHECK(n > 0, "RoutingRecord: nothing recorded, not writing '", path, "'");
  engine::NamedTensors tensors;
  for (int64_t s = 0; s < scales(); ++s) tensors.emplace_back(scale_name(s), batch(s, 0, n));
  std::map<std::string, std::string> meta = metadata;
  meta["num_experts"] = std::to_string(num_experts_);
  meta["top_k"] = std::to_string(top_k_);
  engine::save_safetensors(path, tensors, meta);
}

RoutingRecord RoutingRecord::load(const std::string& path) {
  engine::SafetensorsContents c = engine::load_safetensors(path);
  const int64_t E = parse_count(c.metadata, "num_experts", path), k = parse_count(c.metadata, "top_k", path);
  int64_t scales = 0;
  while (c.tensors.count(scale_name(scales))) ++scales;
  CUTTLE_CHECK(scales > 0, "routing record '", path, "' holds no '", scale_name(0), "'");
  CUTTLE_CHECK((int64_t)c.tensors.size() == scales, "routing record '", path, "': ", c.tensors.size(),
               " tensors, but only moe.0 .. moe.", scales - 1, " are consecutive scales");
  CUTTLE_CHECK(k <= E, "routing record '", path, "': top_k ", k, " exceeds num_experts ", E);
  RoutingRecord r(scales, E, k);
  for (int64_t s = 0; s < scales; ++s) {
    const engine::Tensor& t = c.tensors.at(scale_name(s));
    CUTTLE_CHECK(t.dtype() == engine::DType::i64 && t.dim() == 2 && t.size(1) == k, "routing record '", path, "': ",
                 scale_name(s), " is ", t.str(), ", expected i64 [N, ", k, "]");
    const std::vector<int64_t> v = t.to_vector<int64_t>();
    for (size_t i = 0; i < v.size(); i += (size_t)k)
      for (int64_t j = 0; j < k; ++j) {
        const int64_t e = v[i + (size_t)j];
        CUTTLE_CHECK(e >= 0 && e < E, "routing record '", path, "': ", scale_name(s), " row ", i / (size_t)k,
                     " names expert ", e, ", outside [0, ", E, ")");
        CUTTLE_CHECK(std::find(v.begin() + (std::ptrdiff_t)i, v.begin() + (std::ptrdiff_t)i + j, e) ==
                         v.begin() + (std::ptrdiff_t)i + j,
                     "routing record '", path, "': ", scale_name(s), " row ", i / (size_t)k, " names expert ", e,
                     " twice");
      }
    r.rows_[(size_t)s] = v;
  }
  r.images();  // one N for every scale
  c.metadata.erase("num_experts");
  c.metadata.erase("top_k");
  r.metadata = c.metadata;
  return r;
}

}  // namespace cuttle::models
