#include "engine/cuda/caching_allocator.h"

#include <atomic>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"
#include "engine/op_trace.h"
#include "engine/stream_hold_policy.h"

namespace cuttle::engine::cuda {

namespace {

constexpr size_t kRound = 512;                   // every size is a multiple of this
constexpr size_t kSmallLimit = 1 << 20;          // requests up to 1 MiB share 2 MiB segments
constexpr size_t kSmallSegment = 2 << 20;
constexpr size_t kMidLimit = 10 << 20;           // requests up to 10 MiB share 20 MiB segments
constexpr size_t kMidSegment = 20 << 20;
constexpr size_t kLargeRound = 2 << 20;          // larger requests get their own, rounded to 2 MiB

struct Block {
  // A constructor, not aggregate initialisation: a field added later must not shift the others.
  Block(int device_, cudaStream_t stream_, size_t size_, char* ptr_, bool small_, Block* prev_ = nullptr,
        Block* next_ = nullptr)
      : device(device_), stream(stream_), size(size_), ptr(ptr_), small(small_), prev(prev_), next(next_) {}
  int device;
  cudaStream_t stream;  // the stream it was allocated on, whose pool it returns to
  size_t size;
  char* ptr;
  bool small;
  bool allocated = false;
  bool held = false;  // freed, waiting for a cross-stream wait before it rejoins the pool
  Block* prev;        // neighbours inside the same cudaMalloc segment
  Block* next;
};

struct BlockOrder {
  bool operator()(const Block* a, const Block* b) const {
    return std::tie(a->stream, a->size, a->ptr) < std::tie(b->stream, b->size, b->ptr);
  }
};

struct DevicePools {
  std::set<Block*, BlockOrder> small, large;
  AllocatorStats stats;
  cudaStream_t main = nullptr;  // the device's main stream, once known
  StreamHoldPolicy holds;       // which freed blocks wait for a cross-stream wait (side streams)
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
    Block key(device, stream, size, nullptr, small);
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
      Block* tail = new Block(device, stream, rest, block->ptr + size, small, block, block->next);
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
    main_of(pools, block->device);
    // The calling thread's current stream issued the last use the host knows of.
    if (!pools.holds.on_free(block, block->stream, stream(block->device))) {
      block->held = true;
      pools.stats.held += block->size;
      return;
    }
    release(pools, block);
  }

  void device_idle(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    release_held(pools_for(device), device);
  }

  void side_stream_used(int device, cudaStream_t side) {
    std::lock_guard<std::mutex> lock(mu_);
    DevicePools& pools = pools_for(device);
    main_of(pools, device);
    pools.holds.side_used(side);
  }

  void stream_waited(int device, cudaStream_t waiter, cudaStream_t producer) {
    std::lock_guard<std::mutex> lock(mu_);
    DevicePools& pools = pools_for(device);
    main_of(pools, device);
    unhold_all(pools, pools.holds.on_wait(waiter, producer));
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

  cudaStream_t main_of(DevicePools& pools, int device) {
    if (!pools.main) {
      pools.main = main_stream(device);
      pools.holds.set_main(pools.main);
    }
    return pools.main;
  }

  // Every stream is idle: nothing needs holding (StreamHoldPolicy::on_idle).
  void release_held(DevicePools& pools, int device) {
    main_of(pools, device);
    unhold_all(pools, pools.holds.on_idle(stream(device)));
  }

  void unhold_all(DevicePools& pools, const std::vector<StreamHoldPolicy::BlockId>& blocks) {
    for (StreamHoldPolicy::BlockId id : blocks) {
      Block* b = const_cast<Block*>(static_cast<const Block*>(id));
      b->held = false;
      pools.stats.held -= b->size;
      release(pools, b);
    }
  }

  // Returns a free block to its pool, merged with free neighbours of the same segment.
  void release(DevicePools& pools, Block* block) {
    auto& pool = block->small ? pools.small : pools.large;
    for (Block* nb : {block->prev, block->next}) {
      if (!nb || nb->allocated || nb->held) continue;
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
    return new Block(device, stream, bytes, static_cast<char*>(p), small);
  }

  // Frees every cached block that is a whole segment (no neighbours: nothing else lives in it).
  void release_free_segments(DevicePools& pools, int device) {
    DeviceGuard guard(device);
    cudaDeviceSynchronize();  // blocks may still be read by queued kernels of their stream
    release_held(pools, device);  // every stream is idle now
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
  HostSection section("allocator: allocate");
  void* p = allocator().allocate(nbytes, device, stream);
  const int fill = g_debug_fill;
  if (fill >= 0) CUTTLE_CUDA_CHECK(cudaMemsetAsync(p, fill, nbytes, stream));
  return p;
}
void device_free(void* ptr) {
  HostSection section("allocator: free");
  allocator().free(ptr);
}
void note_side_stream_use(int device, cudaStream_t side) { allocator().side_stream_used(device, side); }
void note_device_idle(int device) { allocator().device_idle(device); }
void note_stream_wait(int device, cudaStream_t waiter, cudaStream_t producer) {
  allocator().stream_waited(device, waiter, producer);
}
void empty_cache(int device) { allocator().empty(device); }
AllocatorStats allocator_stats(int device) { return allocator().stats(device); }
void reset_peak(int device) { allocator().reset_peak(device); }

}  // namespace cuttle::engine::cuda
