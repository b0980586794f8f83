// Declares the CUDA caching allocator: device memory is taken from cudaMalloc in segments, cut into
// blocks, and kept for reuse when freed, so a training step makes no cudaMalloc/cudaFree calls once
// warm. Per-stream pools (a block is reused only on the stream it was freed on, which orders the
// reuse after its last use), sizes rounded to 512 bytes, best-fit with block splitting and merging
// of free neighbours, and on out-of-memory: release the cache and retry once, then a clear error.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace cuttle::engine::cuda {

struct AllocatorStats {
  size_t allocated = 0;       // bytes in blocks handed out
  size_t reserved = 0;        // bytes held from cudaMalloc (allocated + cached)
  size_t peak_allocated = 0;  // high-water mark of `allocated`
  int64_t malloc_calls = 0;   // cudaMalloc calls so far
  int64_t free_calls = 0;     // cudaFree calls so far
  int64_t oom_retries = 0;    // times the cache was released to satisfy a request
};

// Returns device memory for nbytes (> 0) ordered on `stream`; throws cuttle::Error on exhaustion
// with the size asked, allocated and reserved.
void* device_alloc(size_t nbytes, int device, cudaStream_t stream);
void device_free(void* ptr);
// Returns every cached segment that holds no live block to the driver.
void empty_cache(int device);
AllocatorStats allocator_stats(int device);
void reset_peak(int device);
// Tests: while byte is in [0, 255], every new allocation is first filled with it (0xFF makes floats
// NaN and indices -1, so a kernel that leaves an output element unwritten shows); -1 turns it off.
void set_debug_fill(int byte);

}  // namespace cuttle::engine::cuda
