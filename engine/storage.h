// Defines Storage: one ref-counted block of memory on one device, shared by the tensors that view it.
#pragma once
#include <cstddef>
#include <memory>

#include "engine/device.h"

namespace cuttle::engine {

class Storage {
 public:
  // Allocates nbytes on `device` (64-byte aligned on the CPU). Contents are uninitialised.
  Storage(size_t nbytes, Device device);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  std::shared_ptr<void> data_;
  size_t nbytes_;
  Device device_;
};

}  // namespace cuttle::engine
