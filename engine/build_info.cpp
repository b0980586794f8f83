#include "engine/build_info.h"

namespace cuttle::engine {

BuildFacts build_facts() {
  BuildFacts f;
  f.version = CUTTLE_VERSION;
  f.commit = build_commit();
  f.dirty = build_dirty();
  f.build_type = CUTTLE_BUILD_TYPE;
  f.cpu_arch = CUTTLE_CPU_ARCH_FLAGS[0] ? CUTTLE_CPU_ARCH_FLAGS : "baseline";
#if defined(__clang__)
  f.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  f.compiler = "gcc " __VERSION__;
#else
  f.compiler = "unknown";
#endif
#ifdef CUTTLE_WITH_CUDA
  f.cuda = true;
#endif
  return f;
}

}  // namespace cuttle::engine
