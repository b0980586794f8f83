// Defines SyntheticDataset: a split of the built-in synthetic camouflage data, generated on the fly.
#pragma once
#include <string>

#include "data/sample.h"
#include "data/synthetic/generator.h"

namespace cuttle::data {

class SyntheticDataset : public Dataset {
 public:
  // `split` is "train", "val" or "test": the splits never share a scene.
  SyntheticDataset(std::string split, int64_t size, int64_t height, int64_t width, uint64_t seed = 0,
                   SyntheticConfig config = {});
  int64_t size() const override { return size_; }
  Sample get(int64_t index) const override;
  std::string name() const override { return "synthetic-" + split_; }

 private:
  std::string split_;
  int64_t size_, height_, width_;
  uint64_t seed_;
  SyntheticConfig config_;
};

}  // namespace cuttle::data
