// Declares the datasets a training run draws from: image/mask pair lists (one scanned set, e.g. one
// test dataset of the SINet bundle), index subsets (a held-out validation share of the training
// roots), and the resolution of --data/--val/--test roots into them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/datasets/layout.h"
#include "data/sample.h"
#include "data/synthetic/generator.h"
#include "models/camoxpert_config.h"

namespace cuttle::models {

// The pairs of one scanned set, read on demand (data::read_pair).
class PairListDataset : public data::Dataset {
 public:
  PairListDataset(std::string name, std::vector<data::PairPath> pairs) : name_(std::move(name)), pairs_(std::move(pairs)) {}
  int64_t size() const override { return (int64_t)pairs_.size(); }
  data::Sample get(int64_t index) const override;
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::vector<data::PairPath> pairs_;
};

// The samples `indices` of another dataset, in that order.
class SubsetDataset : public data::Dataset {
 public:
  SubsetDataset(std::shared_ptr<const data::Dataset> base, std::vector<int64_t> indices, std::string name)
      : base_(std::move(base)), indices_(std::move(indices)), name_(std::move(name)) {}
  int64_t size() const override { return (int64_t)indices_.size(); }
  data::Sample get(int64_t index) const override { return base_->get(indices_.at((size_t)index)); }
  std::string name() const override { return name_; }

 private:
  std::shared_ptr<const data::Dataset> base_;
  std::vector<int64_t> indices_;
  std::string name_;
};

// Every set of every root for `split` ("train" or "test"), one dataset per set, each checked (every
// problem of every root in one error): headers, and with decode_files every file decoded once.
std::vector<std::shared_ptr<const data::Dataset>> open_sets(const std::vector<std::string>& roots, const std::string& split,
                                                            bool decode_files = false);

// Splits `all` into training and validation parts: every `1 / share`-th sample (in a seeded order)
// goes to validation, at most max_val of them.
struct HeldOut {
  std::shared_ptr<const data::Dataset> train, val;
};
HeldOut hold_out(std::shared_ptr<const data::Dataset> all, double share, int64_t max_val, uint64_t seed);

// The built-in synthetic scenes of a recipe: its train.synthetic_cue range.
data::SyntheticConfig synthetic_config(const CamoXpertConfig& cfg);
// A run's synthetic validation split (train.val_size scenes of train.seed, side x side): what the trainer
// validates on without --data, and what verify_moe checks without --data.
std::shared_ptr<const data::Dataset> synthetic_validation_split(const CamoXpertConfig& cfg, int64_t side);

// Joins datasets end to end.
class ConcatDataset : public data::Dataset {
 public:
  explicit ConcatDataset(std::vector<std::shared_ptr<const data::Dataset>> parts);
  int64_t size() const override { return offsets_.back(); }
  data::Sample get(int64_t index) const override;
  std::string name() const override { return name_; }

 private:
  std::vector<std::shared_ptr<const data::Dataset>> parts_;
  std::vector<int64_t> offsets_;  // offsets_[i] = first index of part i; back() = total
  std::string name_;
};

}  // namespace cuttle::models
