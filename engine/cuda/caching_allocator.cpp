#include "engine/cuda/caching_allocator.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"

namespace cuttle::engine::cuda {

namespace {

constexpr size_t kRound = 512;                   // every size is a multiple of this
constexpr size_t kSmallLimit = 1 << 20;          // requests up to 1 MiB share 2 MiB segments
constexpr size_t kSmallSegment = 2 << 20;
constexpr size_t kMidLimit = 10 << 20;           // requests up to 10 MiB share 20 MiB segments
constexpr size_t kMidSegment = 20 << 20;
constexpr size_t kLargeRound = 2 << 20;          // larger requests get their own, rounded to 2 MiB

struct Block {
  int device;
  cudaStream_t stream;
  size_t size;
  char* ptr;
  bool allocated = false;
  bool small;
  Block* prev = nullptr;  // neighbours inside the same cudaMalloc segment
  Block* next = nullptr;
};

struct BlockOrder {
  bool operator()(const Block* a, const Block* b) const {
    return std::tie(a->stream, a->size, a->ptr) < std::tie(b->stream, b->size, b->ptr);
  }
};

struct DevicePools {
  std::set<Block*, BlockOrder> small, large;
  AllocatorStats stats;
};

size_t round_size(size_t n) { return (std::max<size_t>(n, 1) + kRound - 1) / kRound * kRound; }

size_t segment_size(size_t rounded) {
  if (rounded <= kSmallLimit) return kSmallSegment;
  if (rounded <= kMidLimit) return kMidSegment;
  return (rounded + kLargeRound - 1) / kLargeRound * kLargeRound;
}

class Allocator {
 public:
  void* allocate(size_t nbytes, int device, cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mu_);
    DevicePools& pools = pools_for(device);
    const size_t size = round_size(nbytes);
    const bool small = size <= kSmallLimit;
    auto& pool = small ? pools.small : pools.large;
    Block key{device, stream, size, nullptr, false, small};
    auto it = pool.lower_bound(&key);
    Block* block = nullptr;
    if (it != pool.end() && (*it)->stream == stream) {
      block = *it;
      pool.erase(it);
    } else {
      block = new_segment(pools, device, stream, segment_size(size), small, nbytes);
    }
    // Split when the rest is worth keeping as its own block.
    const size_t rest = block->size - size;
    if (rest >= (small ? kRound : kSmallLimit + 1)) {
      Block* tail = new Block{device, stream, rest, block->ptr + size, false, small, block, block->next};
      if (block->next) block->next->prev = tail;
      block->next = tail;
      block->size = size;
      pool.insert(tail);
    }
    block->allocated = true;
    live_[block->ptr] = block;
    pools.stats.allocated += block->size;
    pools.stats.peak_allocated = std::max(pools.stats.peak_allocated, pools.stats.allocated);
    return block->ptr;
  }

  void free(void* ptr) {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    CUTTLE_CHECK(it != live_.end(), "CUDA allocator: freeing a pointer it did not allocate");
    Block* block = it->second;
    live_.erase(it);
    DevicePools& pools = pools_for(block->device);
    pools.stats.allocated -= block->size;
    block->allocated = false;
    auto& pool = block->small ? pools.small : pools.large;
    // Merge with free neighbours of the same segment.
    for (Block* nb : {block->prev, block->next}) {
      if (!nb || nb->allocated) continue;
      pool.erase(nb);
      if (nb == block->prev) {
        nb->size += block->size;
        nb->next = block->next;
        if (block->next) block->next->prev = nb;
        delete block;
        block = nb;
      } else {
        block->size += nb->size;
        block->next = nb->next;
        if (nb->next) nb->next->prev = block;
        delete nb;
      }
    }
    pool.insert(block);
  }

  void empty(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    release_free_segments(pools_for(device), device);
  }

  AllocatorStats stats(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    return pools_for(device).stats;
  }

  void reset_peak(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    DevicePools& p = pools_for(device);
    p.stats.peak_allocated = p.stats.allocated;
  }

 private:
  DevicePools& pools_for(int device) {
    if (pools_.empty()) pools_.resize(std::max(device_count(), 1));
    CUTTLE_CHECK(device >= 0 && device < (int)pools_.size(), "CUDA allocator: no device ", device);
    return pools_[device];
  }

  Block* new_segment(DevicePools& pools, int device, cudaStream_t stream, size_t bytes, bool small, size_t asked) {
    DeviceGuard guard(device);
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      ++pools.stats.oom_retries;
      release_free_segments(pools, device);
      err = cudaMalloc(&p, bytes);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      CUTTLE_FAIL("CUDA out of memory on device ", device, ": asked for ", asked, " bytes (a ", bytes,
                  "-byte segment); cuttle has ", pools.stats.allocated, " bytes allocated and ", pools.stats.reserved,
                  " reserved; the device has ", free_b, " of ", total_b, " bytes free (", cudaGetErrorString(err),
                  "). Lower the batch size or the image size.");
    }
    ++pools.stats.malloc_calls;
    pools.stats.reserved += bytes;
    return new Block{device, stream, bytes, static_cast<char*>(p), false, small};
  }

  // Frees every cached block that is a whole segment (no neighbours: nothing else lives in it).
  void release_free_segments(DevicePools& pools, int device) {
    DeviceGuard guard(device);
    cudaDeviceSynchronize();  // blocks may still be read by queued kernels of their stream
    for (auto* pool : {&pools.small, &pools.large}) {
      for (auto it = pool->begin(); it != pool->end();) {
        Block* b = *it;
        if (b->prev || b->next) {
          ++it;
          continue;
        }
        CUTTLE_CUDA_CHECK(cudaFree(b->ptr));
        ++pools.stats.free_calls;
        pools.stats.reserved -= b->size;
        delete b;
        it = pool->erase(it);
      }
    }
  }

  std::mutex mu_;
  std::vector<DevicePools> pools_;
  std::unordered_map<void*, Block*> live_;
};

Allocator& allocator() {
  static Allocator* a = new Allocator();  // never destroyed: tensors may be freed during exit
  return *a;
}

}  // namespace

namespace {
std::atomic<int> g_debug_fill{-1};
}

void set_debug_fill(int byte) { g_debug_fill = byte; }

void* device_alloc(size_t nbytes, int device, cudaStream_t stream) {
  void* p = allocator().allocate(nbytes, device, stream);
  const int fill = g_debug_fill;
  if (fill >= 0) CUTTLE_CUDA_CHECK(cudaMemsetAsync(p, fill, nbytes, stream));
  return p;
}
void device_free(void* ptr) { allocator().free(ptr); }
void empty_cache(int device) { allocator().empty(device); }
AllocatorStats allocator_stats(int device) { return allocator().stats(device); }
void reset_peak(int device) { allocator().reset_peak(device); }

}  // namespace cuttle::engine::cuda
