// Defines Sample (one image and its mask) and Dataset, the interface every image source implements
// (synthetic scenes, folders on disk).
#pragma once
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace cuttle::data {

struct Sample {
  engine::Tensor image;  // f32 [3, H, W], values in [0, 1]
  engine::Tensor mask;   // u8 [H, W], 0 or 255 (binarised at > 128)
  std::string name;      // file stem, used for output names
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Must be safe to call from several threads at once.
  virtual Sample get(int64_t index) const = 0;
  virtual std::string name() const = 0;
};

}  // namespace cuttle::data
