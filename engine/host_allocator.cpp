#include "engine/host_allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "engine/error.h"

namespace cuttle::engine {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kMinCached = 64 << 10;  // smaller blocks live in malloc's own bins already
constexpr size_t kGranule = 4096;        // sizes round up to pages so near-equal requests share blocks

size_t cache_limit() {
  // CUTTLE_HOST_CACHE_MB caps what is held for reuse (default 4 GiB; 0 turns the cache off).
  static const size_t limit = [] {
    const char* env = std::getenv("CUTTLE_HOST_CACHE_MB");
    return (env ? std::strtoull(env, nullptr, 10) : 4096ull) << 20;
  }();
  return limit;
}

size_t rounded(size_t nbytes) {
  const size_t n = nbytes < kMinCached ? nbytes : (nbytes + kGranule - 1) / kGranule * kGranule;
  return (std::max<size_t>(n, 1) + kAlignment - 1) / kAlignment * kAlignment;
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // rounded size -> block
  HostCacheStats stats;
};
// Never destroyed: tensors held by other static objects may be freed after main returns.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace

void* host_alloc(size_t nbytes) {
  const size_t size = rounded(nbytes);
  if (size >= kMinCached) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end()) {
      void* p = it->second;
      c.free_blocks.erase(it);
      c.stats.cached_bytes -= size;
      ++c.stats.hits;
      return p;
    }
    ++c.stats.misses;
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) {
    host_cache_release();  // cached blocks may be what stands in the way
    p = std::aligned_alloc(kAlignment, size);
  }
  if (!p) CUTTLE_FAIL("out of host memory allocating ", nbytes, " bytes");
  return p;
}

void host_free(void* p, size_t nbytes) {
  if (!p) return;
  const size_t size = rounded(nbytes);
  if (size >= kMinCached) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.stats.cached_bytes + size <= cache_limit()) {
      c.free_blocks.emplace(size, p);
      c.stats.cached_bytes += size;
      return;
    }
  }
  std::free(p);
}

HostCacheStats host_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void host_cache_release() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, p] : c.free_blocks) std::free(p);
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace cuttle::engine
