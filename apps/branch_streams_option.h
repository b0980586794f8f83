// Defines add_branch_streams_option: the programs' --branch-streams (how many CUDA side streams the
// MoE's experts are spread over), applied when the parse callback runs so every program sets it alike.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "engine/streams.h"

namespace cuttle::apps {

inline void add_branch_streams_option(CLI::App& app) {
  app.add_option_function<int>(
         "--branch-streams", [](int n) { engine::set_branch_streams(n); },
         "CUDA: side streams the MoE's experts run on (0 = all on the main stream; default " +
             std::to_string(engine::kDefaultBranchStreams) + ")")
      ->check(CLI::Range(0, engine::kMaxStreamSlots));
}

}  // namespace cuttle::apps
