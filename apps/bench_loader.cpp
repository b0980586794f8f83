// bench_loader: images per second of the data pipeline (JPEG decode, augmentation, resize, batching)
// on 352x352 JPEGs, for several worker counts. Writes its own synthetic images unless --data is given.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "data/datasets/folder_dataset.h"
#include "data/loader.h"
#include "data/synthetic/export.h"

int main(int argc, char** argv) {
  using namespace cuttle;
  CLI::App app{"bench_loader: data pipeline throughput (images/s)"};
  std::string data_root;
  int64_t images = 256, size = 352, batch = 16;
  std::vector<int> workers{1, 2};
  app.add_option("--data", data_root, "a dataset root (default: write synthetic 352x352 JPEGs to a temp folder)");
  app.add_option("--images", images, "synthetic images to write")->capture_default_str();
  app.add_option("--size", size, "training image size")->capture_default_str();
  app.add_option("--batch-size", batch, "batch size")->capture_default_str();
  app.add_option("--workers", workers, "worker counts to measure")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  namespace fs = std::filesystem;
  const bool own = data_root.empty();
  try {
    if (own) {
      data_root = (fs::temp_directory_path() / "cuttle-bench-loader").string();
      data::ExportOptions o;
      o.train = images;
      o.test = 0;
      o.height = o.width = 352;
      data::export_synthetic(data_root, o);
    }
    auto ds = std::make_shared<data::FolderDataset>(std::vector<std::string>{data_root});
    std::printf("bench_loader: %lld images from %s, batch %lld, output %lldx%lld, augmentation on\n",
                (long long)ds->size(), data_root.c_str(), (long long)batch, (long long)size, (long long)size);
    for (int w : workers) {
      data::LoaderOptions lo;
      lo.batch_size = batch;
      lo.height = lo.width = size;
      lo.augment = true;
      lo.workers = w;
      data::DataLoader loader(ds, lo);
      double best = 0;
      for (int64_t epoch = 0; epoch < 3; ++epoch) {  // best of three epochs: the first warms the file cache
        loader.start_epoch(epoch);
        const auto t0 = std::chrono::steady_clock::now();
        int64_t n = 0;
        while (auto b = loader.next()) n += b->images.size(0);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, n / s);
      }
      std::printf("  workers %d: %.1f images/s\n", w, best);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_loader: %s\n", e.what());
    return 1;
  }
  if (own) fs::remove_all(data_root);
  return 0;
}
