// eval_cod: evaluates a folder of 8-bit prediction maps against a folder of ground-truth masks
// (matched by file stem) with the COD metrics of docs/METRICS.md, prints the standard table and
// optionally writes the values as JSON under PySODMetrics' key names.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "data/eval_folder.h"
#include "engine/io/atomic_file.h"
#include "engine/parallel.h"
#include "models/training/progress_bar.h"

using namespace cuttle;

int main(int argc, char** argv) {
  CLI::App app{"eval_cod: COD metrics (S, E, weighted F, MAE, F, IoU, Dice) of a prediction folder"};
  std::string pred_dir, gt_dir, json_path;
  bool strict_size = false, per_image = false, curves = false, quiet = false;
  int threads = 0;
  app.add_option("--pred", pred_dir, "folder of 8-bit prediction maps (PNG/JPEG)")->required();
  app.add_option("--gt", gt_dir, "folder of ground-truth masks (foreground: value > 128)")->required();
  app.add_option("--json", json_path, "write the metrics to this JSON file")->capture_default_str();
  app.add_flag("--strict-size", strict_size,
               "a prediction of another size than its mask is an error (default: resize it bilinearly)")
      ->capture_default_str();
  app.add_flag("--per-image", per_image, "also write every image's values to the JSON file")->capture_default_str();
  app.add_flag("--curves", curves, "also write the dataset's 256-point curves to the JSON file")->capture_default_str();
  app.add_flag("--quiet", quiet, "no progress line")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = OpenMP default)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) engine::set_num_threads(threads);

  try {
    data::FolderEvalOptions opts;
    opts.resize_to_mask = !strict_size;
    if (!quiet)
      opts.progress = models::progress_callback("eval_cod");
    const data::FolderEvalResult r = data::evaluate_folders(pred_dir, gt_dir, opts);
    std::printf("eval_cod: %s vs %s (%lld resized to the mask size)\n", pred_dir.c_str(), gt_dir.c_str(),
                (long long)r.resized);
    std::printf("%s", data::format_metrics_table(r.dataset).c_str());
    if (!json_path.empty()) {
      nlohmann::json j = data::metrics::to_json(r.dataset, curves);
      j["num_images"] = r.dataset.images;
      j["pred_dir"] = pred_dir;
      j["gt_dir"] = gt_dir;
      if (per_image) {
        nlohmann::json imgs = nlohmann::json::object();
        for (size_t i = 0; i < r.names.size(); ++i) {
          const auto& m = r.per_image[i];
          imgs[r.names[i]] = {{"Smeasure", m.sm}, {"wFmeasure", m.wfm},  {"MAE", m.mae},
                              {"adpEm", m.adp_em}, {"adpFm", m.adp_fm},  {"adpIoU", m.adp_iou},
                              {"adpDice", m.adp_dice}, {"binIoU", m.bin_iou}, {"binDice", m.bin_dice}};
        }
        j["per_image"] = imgs;
      }
      engine::write_file_atomic(json_path, j.dump(2) + "\n");
      std::printf("wrote %s\n", json_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eval_cod: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
