#include "models/config_overrides.h"

#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace cuttle::models {

namespace fs = std::filesystem;

std::string find_config(const std::string& name_or_path, const std::vector<std::string>& config_dirs) {
  if (fs::is_regular_file(name_or_path)) return name_or_path;
  std::string looked = name_or_path;
  for (const std::string& dir : config_dirs)
    for (const std::string& file : {name_or_path + ".json", name_or_path}) {
      const fs::path p = fs::path(dir) / file;
      if (fs::is_regular_file(p)) return p.string();
      looked += ", " + p.string();
    }
  CUTTLE_FAIL("config '", name_or_path, "' not found (looked for ", looked, ")");
}

void apply_config_override(nlohmann::json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  CUTTLE_CHECK(eq != std::string::npos && eq > 0, "config override '", assignment, "': expected field=value, e.g. train.lr=3e-4");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    value = text;  // a bare word such as small_cnn
  }
  CUTTLE_CHECK(config.is_object(), "config override '", assignment, "': the config is not a JSON object");
  nlohmann::json* node = &config;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    CUTTLE_CHECK(!part.empty(), "config override '", assignment, "': empty field name");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    if (!node->contains(part)) (*node)[part] = nlohmann::json::object();
    node = &(*node)[part];
    CUTTLE_CHECK(node->is_object(), "config override '", assignment, "': '", part, "' is not a section");
    start = dot + 1;
  }
}

CamoXpertConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  CUTTLE_CHECK(in, "cannot open config '", path, "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    CUTTLE_FAIL("config '", path, "' is not valid JSON: ", e.what());
  }
  CUTTLE_CHECK(j.is_object(), "config '", path, "' must be a JSON object, got ", j.type_name());
  for (const std::string& o : overrides) {
    try {
      apply_config_override(j, o);
    } catch (const Error& e) {
      throw Error("config '" + path + "': " + e.what());
    }
  }
  const std::string source = overrides.empty() ? path : path + " (with overrides)";
  CamoXpertConfig c = parse_camoxpert_config(j, source);
  c.validate_training(source);  // a config file is a recipe; parse checked the model's fields
  return c;
}

}  // namespace cuttle::models
