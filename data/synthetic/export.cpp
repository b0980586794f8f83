#include "data/synthetic/export.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/parallel.h"

namespace cuttle::data {

namespace fs = std::filesystem;

int64_t export_synthetic(const std::string& root, const ExportOptions& opts,
                         const std::function<void(int64_t, int64_t)>& progress) {
  CUTTLE_CHECK(opts.train >= 0 && opts.test >= 0 && opts.train + opts.test > 0, "export_synthetic: nothing to write");
  const int64_t total = opts.train + opts.test;
  int64_t done = 0;
  for (const char* split : {"train", "test"}) {
    const int64_t n = split[1] == 'r' ? opts.train : opts.test;
    if (n == 0) continue;
    const fs::path dir = fs::path(root) / (split[1] == 'r' ? "Train" : "Test");
    std::error_code ec;
    fs::create_directories(dir / "Image", ec);
    fs::create_directories(dir / "GT_Object", ec);
    CUTTLE_CHECK(!ec, "export_synthetic: cannot create ", dir.string(), ": ", ec.message());
    // Chunks keep the progress callback on this thread while the scenes render in parallel.
    for (int64_t first = 0; first < n; first += 64) {
      const int64_t last = std::min(n, first + 64);
      engine::parallel_for(first, last, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const SyntheticSample s = generate_synthetic(synthetic_seed(opts.seed, split, i), opts.height, opts.width, opts.config);
          char stem[64];
          std::snprintf(stem, sizeof stem, "synthetic-%s-%06lld", split, (long long)i);
          Image img(opts.height, opts.width, 3);
          const float* p = s.image.data<float>();
          const int64_t plane = opts.height * opts.width;
          for (int64_t k = 0; k < plane; ++k)
            for (int c = 0; c < 3; ++c) img.pixels[(size_t)(k * 3 + c)] = (uint8_t)std::lround(p[c * plane + k] * 255.0f);
          write_jpeg((dir / "Image" / (std::string(stem) + ".jpg")).string(), img, opts.jpeg_quality);
          write_png((dir / "GT_Object" / (std::string(stem) + ".png")).string(), tensor_to_image(s.mask));
        }
      });
      done += last - first;
      if (progress) progress(done, total);
    }
  }
  return 2 * total;
}

}  // namespace cuttle::data
