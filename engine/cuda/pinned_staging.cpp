// Implements the pinned staging pool (engine/cuda/pinned_staging.h).
#include "engine/cuda/pinned_staging.h"

#include <cstring>
#include <mutex>
#include <vector>

#include "engine/cuda/cuda_check.h"

namespace cuttle::engine::cuda {

namespace {

// A copy up to this size is staged; larger ones (whole input batches at full resolution) stay
// synchronous rather than pin that much memory. The pool as a whole is capped likewise.
constexpr size_t kMaxStaged = 32u << 20;
constexpr size_t kMaxPooled = 256u << 20;
constexpr size_t kMinBlock = 4096;

struct Block {
  void* ptr = nullptr;
  size_t size = 0;
  cudaEvent_t done = nullptr;  // recorded behind the last copy that read the block
  bool recorded = false;
};

class StagingPool {
 public:
  bool copy(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
    if (nbytes > kMaxStaged) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    Block* b = free_block(nbytes);
    if (!b) return false;
    std::memcpy(b->ptr, src, nbytes);
    CUTTLE_CUDA_CHECK(cudaMemcpyAsync(dst, b->ptr, nbytes, cudaMemcpyHostToDevice, stream));
    CUTTLE_CUDA_CHECK(cudaEventRecord(b->done, stream));
    b->recorded = true;
    return true;
  }

 private:
  // A block of at least nbytes whose last copy has finished, allocated when none is.
  Block* free_block(size_t nbytes) {
    Block* best = nullptr;
    for (Block& b : blocks_) {
      if (b.size < nbytes || (best && best->size <= b.size)) continue;
      if (b.recorded) {
        const cudaError_t q = cudaEventQuery(b.done);
        if (q == cudaErrorNotReady) continue;
        CUTTLE_CUDA_CHECK(q);
        b.recorded = false;
      }
      best = &b;
    }
    if (best) return best;
    size_t size = kMinBlock;
    while (size < nbytes) size *= 2;
    if (pooled_ + size > kMaxPooled) return nullptr;
    Block b;
    b.size = size;
    CUTTLE_CUDA_CHECK(cudaHostAlloc(&b.ptr, size, cudaHostAllocDefault));
    CUTTLE_CUDA_CHECK(cudaEventCreateWithFlags(&b.done, cudaEventDisableTiming));
    pooled_ += size;
    blocks_.push_back(b);
    return &blocks_.back();
  }

  std::mutex mutex_;
  std::vector<Block> blocks_;  // never freed: the pool lives as long as the process
  size_t pooled_ = 0;
};

StagingPool& pool() {
  static StagingPool* p = new StagingPool();  // leaked on purpose: no CUDA calls at static destruction
  return *p;
}

}  // namespace

bool copy_to_device_async(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  if (nbytes == 0) return true;
  return pool().copy(dst, src, nbytes, stream);
}

}  // namespace cuttle::engine::cuda
