// Tests of augmentation and the DataLoader: image and mask stay aligned, batches are identical for
// any worker count, epochs reshuffle, and a failing sample surfaces as an error naming it.
#include "data/loader.h"
#include "data/synthetic_dataset.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

namespace {
// Images whose red channel is exactly the mask (0 or 1), so alignment can be checked after any
// geometric transform.
class AlignedDataset : public data::Dataset {
 public:
  int64_t size() const override { return 12; }
  data::Sample get(int64_t index) const override {
    data::Sample s{Tensor::zeros({3, 20, 28}), Tensor::zeros({20, 28}, DType::u8), "aligned-" + std::to_string(index)};
    float* img = s.image.data<float>();
    uint8_t* m = s.mask.data<uint8_t>();
    for (int64_t y = 0; y < 20; ++y)
      for (int64_t x = 0; x < 28; ++x) {
        const bool on = (x + 2 * y + index) % 7 < 3 && x > y / 2;
        m[y * 28 + x] = on ? 255 : 0;
        img[y * 28 + x] = on ? 1.0f : 0.0f;
        img[20 * 28 + y * 28 + x] = (float)x / 28;
        img[2 * 20 * 28 + y * 28 + x] = (float)y / 20;
      }
    return s;
  }
  std::string name() const override { return "aligned"; }
};

class FailingDataset : public AlignedDataset {
 public:
  data::Sample get(int64_t index) const override {
    CUTTLE_CHECK(index != 7, "cannot read '/data/img7.jpg': corrupt JPEG");
    return AlignedDataset::get(index);
  }
};
}  // namespace

TEST_SUITE("data") {

TEST_CASE("geometric augmentations move image and mask together") {
  AlignedDataset ds;
  data::AugmentConfig cfg;
  cfg.p_hflip = cfg.p_vflip = cfg.p_rot90 = 0.5;
  cfg.p_jitter = 0;  // jitter would change the red channel
  int rotated = 0;
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t epoch = 0; epoch < 4; ++epoch) {
      data::Sample a = data::augment(ds.get(i), cfg, 5, epoch, i);
      CHECK(a.mask.size(0) == a.image.size(1));
      CHECK(a.mask.size(1) == a.image.size(2));
      rotated += a.image.size(1) > a.image.size(2);
      std::vector<float> red = a.image.contiguous().select(0, 0).contiguous().to_vector<float>();
      std::vector<int64_t> m = a.mask.to_vector<int64_t>();
      for (size_t k = 0; k < m.size(); ++k) CHECK(red[k] * 255 == (float)m[k]);
      // Same (seed, epoch, index): same result.
      data::Sample b = data::augment(ds.get(i), cfg, 5, epoch, i);
      CHECK(b.image.to_vector<float>() == a.image.to_vector<float>());
    }
  CHECK(rotated > 0);
}

TEST_CASE("resize keeps masks binary and images in range") {
  AlignedDataset ds;
  data::Sample s = data::resize_sample(ds.get(3), 33, 17);
  CHECK(s.image.shape() == Shape{3, 33, 17});
  for (int64_t v : s.mask.to_vector<int64_t>()) CHECK((v == 0 || v == 255));
}

TEST_CASE("loader batches are identical for any worker count and reshuffle per epoch") {
  auto ds = std::make_shared<data::SyntheticDataset>("train", 10, 24, 32, 3);
  auto run = [&](int workers, int64_t epoch) {
    data::LoaderOptions o;
    o.batch_size = 3;
    o.height = o.width = 16;
    o.augment = true;
    o.workers = workers;
    o.prefetch = 2;
    o.seed = 11;
    data::DataLoader loader(ds, o);
    loader.start_epoch(epoch);
    std::vector<float> all;
    std::vector<int64_t> order;
    int64_t batches = 0;
    while (auto b = loader.next()) {
      CHECK(b->images.shape() == Shape{3, 3, 16, 16});
      CHECK(b->masks.shape() == Shape{3, 1, 16, 16});
      std::vector<float> v = b->images.to_vector<float>();
      all.insert(all.end(), v.begin(), v.end());
      order.insert(order.end(), b->indices.begin(), b->indices.end());
      ++batches;
    }
    CHECK(batches == 3);  // drop_last: 10 images -> 3 batches of 3
    return std::make_pair(all, order);
  };
  auto one = run(1, 0), three = run(3, 0), next_epoch = run(2, 1);
  CHECK(one.first == three.first);
  CHECK(one.second == three.second);
  CHECK(one.second != next_epoch.second);
}

TEST_CASE("a sample that fails to load surfaces as an error naming it") {
  data::LoaderOptions o;
  o.batch_size = 4;
  o.height = o.width = 8;
  o.shuffle = false;
  data::DataLoader loader(std::make_shared<FailingDataset>(), o);
  loader.start_epoch(0);
  try {
    while (loader.next()) {
    }
    FAIL("expected an error");
  } catch (const cuttle::Error& e) {
    CHECK(std::string(e.what()).find("img7.jpg") != std::string::npos);
  }
  CHECK_THROWS_AS(data::DataLoader(std::make_shared<FailingDataset>(), [] {
                    data::LoaderOptions big;
                    big.batch_size = 100;
                    return big;
                  }()),
                  cuttle::Error);
}

TEST_CASE("load_batch normalises with the ImageNet statistics") {
  AlignedDataset ds;
  data::LoaderOptions o;
  o.height = 20;
  o.width = 28;
  data::Batch b = data::load_batch(ds, 0, 2, o);
  std::vector<float> img = b.images.to_vector<float>();
  const float red0 = img[0];
  CHECK(red0 == doctest::Approx((0.0f - 0.485f) / 0.229f));
  std::vector<float> m = b.masks.to_vector<float>();
  for (float v : m) CHECK((v == 0.0f || v == 1.0f));
}

}

TEST_SUITE("data") {

TEST_CASE("a loader for a GPU fails clearly where no GPU backend exists") {
#ifndef CUTTLE_WITH_CUDA
  data::LoaderOptions o;
  o.device = engine::Device::cuda(0);
  CHECK_THROWS_WITH_AS(data::DataLoader(std::make_shared<AlignedDataset>(), o), doctest::Contains("cuda:0"),
                       cuttle::Error);
  CHECK(!Tensor::empty_pinned({3}).storage()->pinned());  // falls back to ordinary memory
#endif
}

}
