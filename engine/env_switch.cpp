#include "engine/env_switch.h"

#include <cstdlib>
#include <cstring>

namespace cuttle::engine {

bool env_switch_on(const char* name) {
  const char* v = std::getenv(name);
  return !(v && std::strcmp(v, "0") == 0);
}

}  // namespace cuttle::engine
