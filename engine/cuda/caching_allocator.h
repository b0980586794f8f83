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
  size_t held = 0;            // bytes freed but held until a cross-stream wait (side streams)
};

// Returns device memory for nbytes (> 0) ordered on `stream`; throws cuttle::Error on exhaustion
// with the size asked, allocated and reserved.
void* device_alloc(size_t nbytes, int device, cudaStream_t stream);
void device_free(void* ptr);
// Side streams (engine/streams.h) use blocks across streams (an expert's input made on the main
// stream and read on its side stream, its output read back on the main stream, gradients passed
// between slots in backward), so a freed block may wait for a stream wait that orders its reuse after
// those uses: the rule is engine/stream_hold_policy.h. Held bytes show in AllocatorStats::held, not in
// `allocated` or its peak; without side streams nothing is held. runtime.cpp reports uses and waits.
void note_side_stream_use(int device, cudaStream_t side);
void note_stream_wait(int device, cudaStream_t waiter, cudaStream_t producer);
// Every stream of the device is idle (after a device synchronisation): nothing needs holding.
void note_device_idle(int device);
// Returns every cached segment that holds no live block to the driver.
void empty_cache(int device);
AllocatorStats allocator_stats(int device);
void reset_peak(int device);
// Tests: while byte is in [0, 255], every new allocation is first filled with it (0xFF makes floats
// NaN and indices -1, so a kernel that leaves an output element unwritten shows); -1 turns it off.
void set_debug_fill(int byte);

}  // namespace cuttle::engine::cuda
