// Defines SlotTable<T, Tag>: one object per (device, stream slot), made on first use and kept for the
// process's life. Every op looks up its stream and library handles, so after a thread's first lookup
// of an entry it finds it without the table's lock (each thread keeps the pointers it has seen); the
// lock is taken only to make an entry. Tag names the table: SlotTable<T, Tag>::get is the one table of
// that Tag, never destroyed (work may run at exit, and the pointers a thread keeps are per Tag).
#pragma once
#include <array>
#include <memory>
#include <mutex>

#include "engine/cuda/runtime.h"
#include "engine/error.h"

namespace cuttle::engine::cuda {

constexpr int kMaxDevices = 64;

template <typename T, typename Tag>
class SlotTable {
 public:
  // The (device, slot) entry, made by make() (returning a T) the first time any thread asks.
  template <typename Make>
  static T& get(int device, int slot, Make&& make) {
    CUTTLE_CHECK(device >= 0 && device < kMaxDevices && slot >= 0 && slot <= kMaxSideStreams, Tag::name,
                 ": device ", device, " slot ", slot, " is out of range");
    T*& seen = seen_by_this_thread()[(size_t)device][(size_t)slot];
    if (seen) return *seen;
    Entries& all = entries();
    std::lock_guard<std::mutex> lock(all.mu);
    std::unique_ptr<T>& entry = all.table[(size_t)device][(size_t)slot];
    if (!entry) entry = std::make_unique<T>(make());
    seen = entry.get();
    return *seen;
  }

 private:
  using Row = std::array<T*, kMaxSideStreams + 1>;
  static std::array<Row, kMaxDevices>& seen_by_this_thread() {
    thread_local std::array<Row, kMaxDevices> seen{};
    return seen;
  }

  struct Entries {
    std::mutex mu;
    std::array<std::array<std::unique_ptr<T>, kMaxSideStreams + 1>, kMaxDevices> table;
  };
  static Entries& entries() {
    static auto* all = new Entries();
    return *all;
  }
};

}  // namespace cuttle::engine::cuda
