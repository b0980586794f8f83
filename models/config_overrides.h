// Declares how programs obtain a config: by file path or by the name of a shipped config
// (models/configs/NAME.json), with "section.field=value" overrides applied to the JSON before it is
// parsed, so an override of a field that does not exist fails exactly like a typo in the file.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/camoxpert_config.h"

namespace cuttle::models {

// A path that exists, else <dir>/NAME.json (or NAME) for each of `config_dirs`. Throws listing where
// it looked.
std::string find_config(const std::string& name_or_path, const std::vector<std::string>& config_dirs);

// "train.lr=3e-4", "moe.experts=[\"CODEdge\",\"CODTexture\"]", "backbone.type=small_cnn": the value is
// read as JSON when it parses, else as a string.
void apply_config_override(nlohmann::json& config, const std::string& assignment);

CamoXpertConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace cuttle::models
