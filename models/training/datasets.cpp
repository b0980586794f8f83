#include "models/training/datasets.h"

#include <algorithm>

#include "data/datasets/folder_dataset.h"
#include "data/synthetic_dataset.h"
#include "engine/error.h"
#include "engine/random.h"

namespace cuttle::models {

data::Sample PairListDataset::get(int64_t index) const {
  CUTTLE_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of ", size());
  return data::read_pair(pairs_[(size_t)index]);
}

std::vector<std::shared_ptr<const data::Dataset>> open_sets(const std::vector<std::string>& roots, const std::string& split,
                                                            bool decode_files) {
  // FolderDataset scans and checks every root at once, so a single error lists every problem.
  data::FolderDatasetOptions opts;
  opts.scan.split = split;
  opts.decode_files = decode_files;
  data::FolderDataset checked(roots, opts);
  std::vector<std::shared_ptr<const data::Dataset>> sets;
  for (const data::ScannedSet& s : checked.sets())
    sets.push_back(std::make_shared<PairListDataset>(s.name, s.pairs));
  return sets;
}

HeldOut hold_out(std::shared_ptr<const data::Dataset> all, double share, int64_t max_val, uint64_t seed) {
  const int64_t n = all->size();
  engine::Generator g(engine::random_bits(seed, 0x5A11D));
  std::vector<int64_t> order = engine::randperm(n, &g).to_vector<int64_t>();
  const int64_t n_val = std::min<int64_t>(max_val, std::max<int64_t>(1, (int64_t)(n * share)));
  CUTTLE_CHECK(n > n_val, all->name(), ": ", n, " images are too few to hold out ", n_val, " for validation");
  std::vector<int64_t> val(order.begin(), order.begin() + n_val), train(order.begin() + n_val, order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  return {std::make_shared<SubsetDataset>(all, train, all->name() + "-train"),
          std::make_shared<SubsetDataset>(all, val, all->name() + "-heldout")};
}

data::SyntheticConfig synthetic_config(const CamoXpertConfig& cfg) {
  data::SyntheticConfig c;
  c.cue_min = cfg.train.synthetic_cue.at(0);
  c.cue_max = cfg.train.synthetic_cue.at(1);
  return c;
}

std::shared_ptr<const data::Dataset> synthetic_validation_split(const CamoXpertConfig& cfg, int64_t side) {
  return std::make_shared<data::SyntheticDataset>("val", cfg.train.val_size, side, side, cfg.train.seed,
                                                  synthetic_config(cfg));
}

ConcatDataset::ConcatDataset(std::vector<std::shared_ptr<const data::Dataset>> parts) : parts_(std::move(parts)) {
  CUTTLE_CHECK(!parts_.empty(), "ConcatDataset: no datasets");
  offsets_.push_back(0);
  for (const auto& p : parts_) {
    offsets_.push_back(offsets_.back() + p->size());
    name_ += (name_.empty() ? "" : "+") + p->name();
  }
}

data::Sample ConcatDataset::get(int64_t index) const {
  CUTTLE_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of ", size());
  const size_t part = (size_t)(std::upper_bound(offsets_.begin(), offsets_.end(), index) - offsets_.begin() - 1);
  return parts_[part]->get(index - offsets_[part]);
}

}  // namespace cuttle::models
