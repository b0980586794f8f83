// Declares the build facts recorded in checkpoints and run.json: the commit (and whether the tree had
// uncommitted changes), the version, build type, CPU architecture flags and backends.
#pragma once
#include <string>

namespace cuttle::engine {

const char* build_commit();  // from the generated build_info_generated.cpp; "unknown" outside git
bool build_dirty();          // tracked files differed from the commit at build time

struct BuildFacts {
  std::string version, commit, build_type, cpu_arch, compiler;
  bool dirty = false, cuda = false;
};
BuildFacts build_facts();

}  // namespace cuttle::engine
