// Declares the host allocator behind CPU Storage: 64-byte-aligned blocks, with freed blocks of 64 KiB
// and more kept for reuse. A training step allocates the same large activations every step; handing
// them back to the OS and faulting fresh zero pages in again cost a fifth of a CPU step.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cuttle::engine {

void* host_alloc(size_t nbytes);             // throws cuttle::Error when the memory cannot be had
void host_free(void* p, size_t nbytes);      // nbytes: what host_alloc was asked for

struct HostCacheStats {
  size_t cached_bytes = 0;    // held for reuse now
  int64_t hits = 0, misses = 0;
};
HostCacheStats host_cache_stats();
// Returns every cached block to the system.
void host_cache_release();

}  // namespace cuttle::engine
