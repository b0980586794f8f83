// Defines find_shipped_config: the programs' lookup of a config given by path or by the name of a
// shipped one, in ./models/configs and then in the source tree's (CUTTLE_SOURCE_DIR, set per program).
#pragma once
#include <string>

#include "models/config_overrides.h"

namespace cuttle::apps {

inline std::string find_shipped_config(const std::string& name_or_path) {
  return models::find_config(name_or_path, {"models/configs", std::string(CUTTLE_SOURCE_DIR) + "/models/configs"});
}

}  // namespace cuttle::apps
