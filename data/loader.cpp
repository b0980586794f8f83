#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "engine/ops/interpolate.h"
#include "engine/parallel.h"
#include "engine/random.h"

namespace cuttle::data {

namespace {

constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};

// Writes an already resized image [3, H, W] in [0, 1] into `out`, normalised when asked.
void write_image(const engine::Tensor& image, bool normalize, float* out) {
  const engine::Tensor img = image.contiguous();
  const int64_t plane = img.size(1) * img.size(2);
  const float* pi = img.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < plane; ++i)
      out[c * plane + i] = normalize ? (pi[c * plane + i] - kMean[c]) / kStd[c] : pi[c * plane + i];
}

// Reads, augments, resizes and writes sample `index` into row `row` of the batch tensors.
void place(const Dataset& ds, int64_t index, int64_t row, int64_t epoch, const LoaderOptions& o, Batch& b) {
  Sample s = ds.get(index);
  if (o.augment) s = augment(s, o.augment_config, o.seed, epoch, index);
  s = resize_sample(s, o.height, o.width);
  const engine::Tensor mask = s.mask.contiguous();
  const int64_t plane = o.height * o.width;
  const uint8_t* pm = mask.data<uint8_t>();
  write_image(s.image, o.normalize, b.images.data<float>() + row * 3 * plane);
  float* qm = b.masks.data<float>() + row * plane;
  for (int64_t i = 0; i < plane; ++i) qm[i] = pm[i] > 128 ? 1.0f : 0.0f;
  b.names[row] = s.name;
  b.indices[row] = index;
}

Batch empty_batch(int64_t n, const LoaderOptions& o) {
  const bool pin = o.pin_memory && o.device.is_cuda();
  auto make = [&](const engine::Shape& s) { return pin ? engine::Tensor::empty_pinned(s) : engine::Tensor::empty(s); };
  return {make({n, 3, o.height, o.width}), make({n, 1, o.height, o.width}), std::vector<int64_t>(n),
          std::vector<std::string>(n)};
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), opts_(options) {
  CUTTLE_CHECK(dataset_ && dataset_->size() > 0, "DataLoader: the dataset is empty");
  CUTTLE_CHECK(opts_.batch_size > 0 && opts_.height > 0 && opts_.width > 0 && opts_.workers > 0 && opts_.prefetch > 0,
               "DataLoader: batch size, image size, workers and prefetch must be positive");
  CUTTLE_CHECK(!opts_.drop_last || dataset_->size() >= opts_.batch_size, "DataLoader: ", dataset_->name(), " has ",
               dataset_->size(), " images, fewer than one batch of ", opts_.batch_size);
  if (opts_.device.is_cuda()) engine::Tensor::empty({1}, engine::DType::f32, opts_.device);  // fails early and clearly
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = dataset_->size(), b = opts_.batch_size;
  return opts_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  epoch_ = epoch;
  order_.resize(dataset_->size());
  if (opts_.shuffle) {
    engine::Generator g(engine::random_bits(opts_.seed, (uint64_t)epoch));
    order_ = engine::randperm(dataset_->size(), &g).to_vector<int64_t>();
  } else {
    std::iota(order_.begin(), order_.end(), 0);
  }
  ready_.clear();
  CUTTLE_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(), "DataLoader: batch ", first_batch,
               " of an epoch of ", batches_per_epoch());
  next_to_build_ = next_to_return_ = first_batch;
  stopping_ = false;
  error_ = nullptr;
  for (int i = 0; i < opts_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

Batch DataLoader::build(int64_t batch_index) const {
  const int64_t first = batch_index * opts_.batch_size;
  const int64_t n = std::min(opts_.batch_size, (int64_t)order_.size() - first);
  Batch b = empty_batch(n, opts_);
  for (int64_t r = 0; r < n; ++r) place(*dataset_, order_[first + r], r, epoch_, opts_, b);
  return b;
}

void DataLoader::worker_loop() {
  engine::set_num_threads(1);  // parallelism comes from the workers themselves
  const int64_t total = batches_per_epoch();
  for (;;) {
    int64_t mine;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || next_to_build_ >= total || next_to_build_ < next_to_return_ + opts_.prefetch; });
      if (stopping_ || next_to_build_ >= total) return;
      mine = next_to_build_++;
    }
    try {
      Batch b = build(mine);
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(mine, std::move(b));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
      stopping_ = true;
    }
    cv_.notify_all();
  }
}

std::optional<Batch> DataLoader::next() {
  CUTTLE_CHECK(!order_.empty(), "DataLoader: call start_epoch() before next()");
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_return_ >= batches_per_epoch()) return std::nullopt;
  cv_.wait(lock, [&] { return error_ || ready_.count(next_to_return_); });
  if (error_) std::rethrow_exception(error_);
  Batch b = std::move(ready_.at(next_to_return_));
  ready_.erase(next_to_return_++);
  lock.unlock();
  cv_.notify_all();
  if (opts_.device.is_cuda()) {  // the host-to-device copy happens here, on the consumer's thread
    b.images = b.images.to(opts_.device);
    b.masks = b.masks.to(opts_.device);
  }
  return b;
}

Batch load_batch(const Dataset& dataset, int64_t first, int64_t count, const LoaderOptions& options) {
  CUTTLE_CHECK(first >= 0 && count > 0 && first + count <= dataset.size(), "load_batch: range [", first, ", ",
               first + count, ") outside ", dataset.name(), " of ", dataset.size(), " images");
  LoaderOptions plain = options;
  plain.augment = false;
  Batch b = empty_batch(count, plain);
  engine::parallel_for(0, count, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) place(dataset, first + r, r, 0, plain, b);
  });
  return b;
}

engine::Tensor model_input(const engine::Tensor& image, int64_t height, int64_t width, bool normalize) {
  CUTTLE_CHECK(image.dim() == 3 && image.size(0) == 3 && image.dtype() == engine::DType::f32,
               "model_input: expected an f32 [3, H, W] image, got ", image.str());
  // The same resize as resize_sample's image path, so training and inference see the same pixels.
  const bool same = image.size(1) == height && image.size(2) == width;
  const engine::Tensor resized = same ? image : engine::resize_bilinear(image.unsqueeze(0), height, width).squeeze(0);
  engine::Tensor out = engine::Tensor::empty({3, height, width});
  write_image(resized, normalize, out.data<float>());
  return out;
}

}  // namespace cuttle::data
