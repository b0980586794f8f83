#include "data/synthetic_dataset.h"

#include <cstdio>

namespace cuttle::data {

SyntheticDataset::SyntheticDataset(std::string split, int64_t size, int64_t height, int64_t width, uint64_t seed,
                                   SyntheticConfig config)
    : split_(std::move(split)), size_(size), height_(height), width_(width), seed_(seed), config_(config) {
  CUTTLE_CHECK(size > 0, "synthetic dataset '", split_, "': size must be positive, got ", size);
  CUTTLE_CHECK(split_ == "train" || split_ == "val" || split_ == "test", "synthetic dataset: unknown split '", split_,
               "' (train, val or test)");
}

Sample SyntheticDataset::get(int64_t index) const {
  CUTTLE_CHECK(index >= 0 && index < size_, name(), ": index ", index, " out of range [0, ", size_, ")");
  SyntheticSample s = generate_synthetic(synthetic_seed(seed_, split_.c_str(), index), height_, width_, config_);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%06lld", split_.c_str(), (long long)index);
  return {s.image, s.mask, buf};
}

}  // namespace cuttle::data
