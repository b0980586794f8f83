// The host block cache: large freed blocks come back for the same size, stay 64-byte aligned, and
// release() empties the cache.
#include <cstdint>
#include <cstring>

#include "engine/host_allocator.h"
#include "tests/test_util.h"

using namespace cuttle;

TEST_SUITE("engine") {

TEST_CASE("host allocator reuses large blocks and keeps alignment") {
  engine::host_cache_release();
  const size_t n = (1 << 20) + 12;  // not a multiple of the granule
  void* a = engine::host_alloc(n);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  std::memset(a, 1, n);  // the whole request is usable
  engine::host_free(a, n);
  CHECK(engine::host_cache_stats().cached_bytes >= n);
  const int64_t hits = engine::host_cache_stats().hits;
  void* b = engine::host_alloc(n);
  CHECK(b == a);
  CHECK(engine::host_cache_stats().hits == hits + 1);
  engine::host_free(b, n);
  void* small = engine::host_alloc(100);  // small blocks go straight to malloc
  CHECK(reinterpret_cast<uintptr_t>(small) % 64 == 0);
  engine::host_free(small, 100);
  engine::host_cache_release();
  CHECK(engine::host_cache_stats().cached_bytes == 0);
}

}
