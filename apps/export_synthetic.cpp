// export_synthetic: writes the built-in synthetic camouflage data to disk in the COD10K-v3 layout, so
// other tools (or another framework) can train and evaluate on exactly the same images.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "data/synthetic/export.h"
#include "engine/parallel.h"
#include "models/training/progress_bar.h"

int main(int argc, char** argv) {
  using namespace cuttle;
  CLI::App app{"export_synthetic: write synthetic camouflage scenes as <out>/{Train,Test}/{Image,GT_Object}"};
  data::ExportOptions o;
  std::string out;
  int threads = 0;
  app.add_option("--out", out, "output root folder")->required();
  app.add_option("--train", o.train, "training images")->capture_default_str();
  app.add_option("--test", o.test, "test images")->capture_default_str();
  app.add_option("--height", o.height, "image height")->capture_default_str()->check(CLI::Range(8, 8192));
  app.add_option("--width", o.width, "image width")->capture_default_str()->check(CLI::Range(8, 8192));
  app.add_option("--seed", o.seed, "dataset seed")->capture_default_str();
  app.add_option("--cue-min", o.config.cue_min, "object/background texture difference, 0 (hardest) to 1: "
                 "each scene draws its own from [cue-min, cue-max]")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--cue-max", o.config.cue_max, "upper end of the per-scene cue")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--quality", o.jpeg_quality, "JPEG quality")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--threads", threads, "CPU threads (0 = all)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) engine::set_num_threads(threads);
  try {
    const int64_t files = data::export_synthetic(out, o, models::progress_callback("export_synthetic"));
    std::fprintf(stderr, "export_synthetic: wrote %lld files under %s\n", (long long)files, out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nexport_synthetic: %s\n", e.what());
    return 1;
  }
  return 0;
}
