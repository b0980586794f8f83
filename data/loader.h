// Declares DataLoader: worker threads that read, augment, resize and normalise samples into batches,
// with a bounded prefetch queue. Batches come out in order and are identical for any worker count
// (order and augmentation depend only on the seed, the epoch and the sample index).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/sample.h"

namespace cuttle::data {

struct LoaderOptions {
  int64_t batch_size = 8;
  int64_t height = 128, width = 128;  // every image is resized to this
  bool shuffle = true;
  bool drop_last = true;              // training: equal batches; evaluation: false
  bool augment = false;
  AugmentConfig augment_config;
  bool normalize = true;              // ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)
  int workers = 2;
  int prefetch = 4;                   // batches ready ahead of the consumer, at most
  uint64_t seed = 0;
  engine::Device device = engine::Device::cpu();  // where next() delivers the batches
  bool pin_memory = true;             // GPU target: workers fill page-locked host buffers
};

struct Batch {
  engine::Tensor images;  // f32 [B, 3, H, W]
  engine::Tensor masks;   // f32 [B, 1, H, W], 0 or 1
  std::vector<int64_t> indices;
  std::vector<std::string> names;
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  // Starts producing the batches of `epoch` (its shuffle order and augmentations) from `first_batch`
  // on: a resumed run skips what it had done without building those batches.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch in order, or nothing at its end. Rethrows a worker's error.
  std::optional<Batch> next();

 private:
  Batch build(int64_t batch_index) const;
  void worker_loop();
  void stop();

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions opts_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Batch> ready_;
  int64_t next_to_build_ = 0, next_to_return_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

// A single batch of samples [first, first + count) of `dataset` without shuffling or augmentation
// (validation and tests).
Batch load_batch(const Dataset& dataset, int64_t first, int64_t count, const LoaderOptions& options);

// One image [3, h, w] in [0, 1] as the model sees it: resized to height x width as the loader does
// (bilinear) and normalised with the ImageNet statistics when asked. f32 [3, height, width].
engine::Tensor model_input(const engine::Tensor& image, int64_t height, int64_t width, bool normalize = true);

}  // namespace cuttle::data
