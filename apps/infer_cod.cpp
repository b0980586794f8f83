// infer_cod: segments camouflaged objects with a trained CamoXpert. The input is an image, a folder of
// images or a dataset root (COD10K, CAMO, NC4K, SINet bundle, image/mask folders); for each image it
// writes an 8-bit probability PNG at the image's own size named <stem>.png (the field's convention),
// optionally thresholded masks and overlays, and with ground truth present the COD metrics.
// --routing-out records which experts every MoE chose per image (models/routing_record.h), the input
// bench_moe --routing-file replays.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "apps/branch_streams_option.h"
#include "apps/shipped_config.h"
#include "data/datasets/layout.h"
#include "data/eval_folder.h"
#include "data/image_io.h"
#include "data/metrics/image_metrics.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/parallel.h"
#include "engine/system_info.h"
#include "models/inference.h"
#include "models/model_factory.h"
#include "models/routing_record.h"
#include "models/training/progress_bar.h"

using namespace cuttle;
using engine::Tensor;
namespace fs = std::filesystem;

namespace {

// One group of inputs written to one output folder: a dataset's set (with masks) or plain images.
struct InputSet {
  std::string name;  // empty for a single image or a plain folder
  std::vector<std::string> images, masks;  // masks empty or parallel to images
};

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

std::vector<InputSet> collect_inputs(const std::string& path, const std::string& split) {
  CUTTLE_CHECK(fs::exists(path), "input '", path, "' does not exist");
  if (fs::is_regular_file(path)) {
    CUTTLE_CHECK(is_image_file(path), "input '", path, "' is not a PNG, JPEG or BMP image");
    return {{"", {path}, {}}};
  }
  // Images directly in the folder make it a plain folder of images, whatever its subfolders.
  InputSet plain;
  for (const auto& e : fs::directory_iterator(path))
    if (e.is_regular_file() && is_image_file(e.path())) plain.images.push_back(e.path().string());
  if (!plain.images.empty()) {
    std::sort(plain.images.begin(), plain.images.end());
    return {plain};
  }
  data::ScanOptions scan;
  scan.split = split;
  scan.masks_optional = true;  // unlabelled images are segmented too; metrics cover those with masks
  std::vector<data::ScannedSet> sets;
  try {
    sets = data::scan_layout(path, scan);
  } catch (const Error& e) {
    CUTTLE_FAIL("input folder '", path, "' holds no images directly (.png, .jpg, .jpeg, .bmp), and as a dataset root: ",
                e.what());
  }
  std::vector<InputSet> out;
  for (const data::ScannedSet& s : sets) {
    InputSet in{sets.size() > 1 ? s.name : "", {}, {}};
    for (const data::PairPath& p : s.pairs) {
      in.images.push_back(p.image);
      in.masks.push_back(p.mask);
    }
    for (const std::string& problem : s.problems) std::fprintf(stderr, "warning: %s: %s\n", s.name.c_str(), problem.c_str());
    if (!in.images.empty()) out.push_back(std::move(in));
  }
  CUTTLE_CHECK(!out.empty(), "input folder '", path, "': its ", data::layout_name(sets.front().layout),
               " layout holds no images for the '", split, "' split");
  return out;
}

// The newest run under runs/ that has a checkpoint.
std::string latest_run(const std::string& runs_dir) {
  std::string best;
  fs::file_time_type best_time;
  if (fs::is_directory(runs_dir))
    for (const auto& e : fs::directory_iterator(runs_dir)) {
      const fs::path last = e.path() / "checkpoint_last";
      if (!fs::is_directory(last)) continue;
      const auto t = fs::last_write_time(last);
      if (best.empty() || t > best_time) best = e.path().string(), best_time = t;
    }
  return best;
}

void make_output_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CUTTLE_CHECK(!ec && fs::is_directory(dir), "cannot create the output folder '", dir.string(), "': ",
               ec ? ec.message() : "a file of that name is in the way");
}

data::Image overlay(const Tensor& image, const data::Image& prob) {
  const int64_t h = image.size(1), w = image.size(2);
  data::Image out(h, w, 3);
  const float* p = image.data<float>();
  for (int64_t i = 0; i < h * w; ++i) {
    const double a = 0.55 * prob.pixels[(size_t)i] / 255.0;  // the object tinted red by its probability
    const double tint[3] = {1.0, 0.1, 0.1};
    for (int64_t c = 0; c < 3; ++c) {
      const double v = (1 - a) * p[c * h * w + i] + a * tint[c];
      out.pixels[(size_t)(i * 3 + c)] = (uint8_t)std::lround(255 * std::clamp(v, 0.0, 1.0));
    }
  }
  return out;
}


}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"infer_cod: camouflaged-object segmentation maps from a trained CamoXpert"};
  std::string checkpoint, input, output = "predictions", config, device_name = "auto", split = "test", routing_out;
  bool binary = false, with_overlay = false, tta = false;
  double threshold = 0.5;
  int64_t batch = 0;
  int threads = 0;
  app.add_option("--checkpoint", checkpoint, "run directory, checkpoint directory or .safetensors weights "
                                             "(default: the latest run under runs/)");
  app.add_option("--input", input, "an image, a folder of images or a dataset root")->required();
  app.add_option("--output", output, "output folder")->capture_default_str();
  app.add_option("--config", config, "config (file or shipped name) of a bare .safetensors checkpoint (run and checkpoint directories carry theirs)");
  app.add_option("--split", split, "split of a dataset root: test or train")->capture_default_str();
  app.add_flag("--binary", binary, "also write thresholded masks to OUTPUT/binary/")->capture_default_str();
  app.add_option("--threshold", threshold, "probability threshold of --binary")->capture_default_str();
  app.add_flag("--overlay", with_overlay, "also write the images with the object highlighted to OUTPUT/overlay/")
      ->capture_default_str();
  app.add_flag("--tta", tta, "test-time augmentation: mean of scales 0.75/1/1.25 and horizontal flips")
      ->capture_default_str();
  app.add_option("--batch", batch, "images per forward pass (0 = 16 on a GPU, 4 on the CPU)")->capture_default_str();
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto")->capture_default_str();
  app.add_option("--routing-out", routing_out, "also write the experts each MoE chose for every image to this "
                                               "safetensors file (bench_moe --routing-file; not with --tta)");
  app.add_option("--threads", threads, "CPU threads (0 = OpenMP default)")->capture_default_str();
  apps::add_branch_streams_option(app);
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) engine::set_num_threads(threads);

  try {
    if (checkpoint.empty()) {
      checkpoint = latest_run("runs");
      CUTTLE_CHECK(!checkpoint.empty(), "no --checkpoint given and no run under runs/; train one first with "
                                        "build/bin/train_cod (a few minutes on the CPU), or pass --checkpoint");
      std::printf("checkpoint: none given, using the latest run %s\n", checkpoint.c_str());
    }
    CUTTLE_CHECK(split == "test" || split == "train", "--split must be test or train, got '", split, "'");
    CUTTLE_CHECK(threshold > 0 && threshold < 1, "--threshold must lie in (0, 1)");
    CUTTLE_CHECK(routing_out.empty() || !tta, "--routing-out records one forward per image: drop --tta");
    const engine::Device device = engine::parse_device(device_name);
    models::TrainedModel t = models::load_trained_model(checkpoint, device, config.empty() ? config : apps::find_shipped_config(config));
    // The math its training validated with, so the metrics here equal the run's on the same images.
    engine::set_cuda_math(t.config.train.tf32, false);
    std::printf("model      %s from %s\ndevice     %s\n", t.config.name.c_str(), t.checkpoint.c_str(),
                engine::describe_device(device).c_str());
    models::InferenceOptions io;
    io.image_size = t.config.image_size;
    io.tta = tta;
    io.device = device;
    io.batch = batch > 0 ? batch : (device.is_cuda() ? 16 : 4);

    const std::vector<InputSet> sets = collect_inputs(input, split);
    models::RoutingRecord routing(t.model->num_moes(), t.model->moe(0).num_experts(),
                                  t.model->moe(0).options().top_k);
    std::vector<std::pair<std::string, data::metrics::DatasetMetrics>> rows;
    int64_t total = 0;
    double seconds = 0;
    for (const InputSet& set : sets) {
      const fs::path dir = set.name.empty() ? fs::path(output) : fs::path(output) / set.name;
      make_output_folder(dir);
      if (binary) make_output_folder(dir / "binary");
      if (with_overlay) make_output_folder(dir / "overlay");
      data::metrics::MetricsAccumulator acc;
      const int64_t n = (int64_t)set.images.size();
      const auto progress = models::progress_callback(set.name.empty() ? "infer" : set.name);
      for (int64_t first = 0; first < n; first += io.batch) {
        const int64_t count = std::min(io.batch, n - first);
        std::vector<Tensor> images((size_t)count);
        engine::parallel_for(0, count, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) images[(size_t)i] = data::read_image_rgb01(set.images[(size_t)(first + i)]);
        });
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<data::Image> maps = models::predict_maps(*t.model, images, io);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!routing_out.empty()) routing.append(*t.model);
        for (int64_t i = 0; i < count; ++i) {
          const std::string& path = set.images[(size_t)(first + i)];
          const std::string stem = fs::path(path).stem().string();
          const data::Image& map = maps[(size_t)i];
          data::write_png((dir / (stem + ".png")).string(), map);
          if (binary) {
            data::Image mask = map;
            for (uint8_t& v : mask.pixels) v = v > threshold * 255 ? 255 : 0;
            data::write_png((dir / "binary" / (stem + ".png")).string(), mask);
          }
          if (with_overlay) data::write_png((dir / "overlay" / (stem + ".png")).string(), overlay(images[(size_t)i], map));
          if (!set.masks.empty() && !set.masks[(size_t)(first + i)].empty()) {
            const data::Image gt = data::read_image(set.masks[(size_t)(first + i)], data::ColorMode::grey);
            CUTTLE_CHECK(gt.height == map.height && gt.width == map.width, "mask '", set.masks[(size_t)(first + i)], "' is ",
                         gt.width, "x", gt.height, " but its image '", path, "' is ", map.width, "x", map.height);
            acc.add(data::metrics::evaluate_image(map, gt));
          }
        }
        total += count;
        progress(first + count, n);
      }
      if (acc.count() > 0 && acc.count() < n)
        std::fprintf(stderr, "note: %s: metrics over the %lld of %lld images that have a mask\n",
                     set.name.empty() ? input.c_str() : set.name.c_str(), (long long)acc.count(), (long long)n);
      if (acc.count() > 0) rows.emplace_back(set.name.empty() ? fs::path(input).filename().string() : set.name, acc.result());
    }
    std::printf("wrote %lld prediction(s) to %s (%.1f images/s%s)\n", (long long)total, output.c_str(),
                total / std::max(seconds, 1e-9), tta ? ", with TTA" : "");
    if (!routing_out.empty()) {
      routing.metadata = {{"model", t.config.name}, {"checkpoint", t.checkpoint}, {"input", input},
                          {"source", "infer_cod --routing-out"}};
      routing.save(routing_out);
      std::printf("routing of %lld image(s) at %lld scales written to %s\n", (long long)routing.images(),
                  (long long)routing.scales(), routing_out.c_str());
    }
    if (!rows.empty()) {
      std::printf("\n%s", data::format_dataset_rows(rows).c_str());
      engine::write_file_atomic((fs::path(output) / "metrics.json").string(), data::dataset_rows_json(rows).dump(2) + "\n");
      std::printf("metrics written to %s\n", (fs::path(output) / "metrics.json").string().c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "infer_cod: error: %s\n", e.what());
    return 1;
  }
}
