// Defines Storage: one ref-counted block of memory on one device, shared by the tensors that view it.
#pragma once
#include <cstddef>
#include <memory>

#include "engine/device.h"

namespace cuttle::engine {

class Storage {
 public:
  // Allocates nbytes on `device` (64-byte aligned on the CPU). Contents are uninitialised.
  // `pinned` (CPU only): page-locked host memory, which the GPU copies by DMA without staging; where
  // no GPU is usable it falls back to ordinary memory.
  Storage(size_t nbytes, Device device, bool pinned = false);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

 private:
  std::shared_ptr<void> data_;
  size_t nbytes_;
  Device device_;
  bool pinned_ = false;
};

}  // namespace cuttle::engine
