// Resizing: bilinear (align_corners = false) and nearest, against hand-computed values and values
// cv2.resize (OpenCV 4.6) returns for the same inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "data/resize.h"

using namespace cuttle::data;

namespace {

Image grey_image(int64_t h, int64_t w, const std::vector<uint8_t>& v) {
  Image img(h, w, 1);
  img.pixels = v;
  return img;
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("bilinear 8-bit up-sampling 2x2 to 4x4 by hand") {
  // Source coordinates (d + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped to the edges): weights
  // in quarters, so every output is an exact integer.
  const Image out = resize_bilinear(grey_image(2, 2, {0, 160, 240, 80}), 4, 4);
  const std::vector<uint8_t> want = {0, 40, 120, 160, 60, 80, 120, 140, 180, 160, 120, 100, 240, 200, 120, 80};
  CHECK(out.pixels == want);
}

TEST_CASE("bilinear 8-bit down-sampling by 2 averages 2x2 blocks") {
  const Image src = grey_image(4, 4, {0, 4, 8, 12, 16, 20, 24, 28, 100, 104, 200, 204, 108, 112, 208, 212});
  const Image out = resize_bilinear(src, 2, 2);
  CHECK(out.pixels == std::vector<uint8_t>{10, 18, 106, 206});
}

TEST_CASE("bilinear 8-bit matches cv2.resize INTER_LINEAR bit for bit") {
  const Image src = grey_image(3, 5, {168, 229, 184, 171, 238, 171, 20, 206, 245, 153, 204, 5, 37, 53, 213});
  CHECK(resize_bilinear(src, 7, 4).pixels ==
        std::vector<uint8_t>{175, 212, 176, 230, 172, 195, 183, 220, 162, 142, 207, 192, 152, 90,
                             230, 165, 164, 59,  152, 176, 175, 27,  73,  189, 179, 17,  47,  193});
  CHECK(resize_bilinear(src, 2, 9).pixels ==
        std::vector<uint8_t>{169, 171, 176, 182, 190, 189, 192, 207, 217, 196, 133, 29, 40, 79, 91, 112, 165, 198});
  CHECK(resize_bilinear(src, 3, 5).pixels == src.pixels);  // same size: identity
}

TEST_CASE("bilinear works per channel") {
  Image rgb(2, 2, 3);
  const uint8_t vals[4] = {0, 160, 240, 80};
  for (int i = 0; i < 4; ++i)
    for (int c = 0; c < 3; ++c) rgb.pixels[(size_t)(i * 3 + c)] = c == 1 ? (uint8_t)(255 - vals[i]) : vals[i];
  const Image out = resize_bilinear(rgb, 4, 4);
  CHECK(out.at(1, 1, 0) == 80);
  CHECK(out.at(1, 1, 2) == 80);
  CHECK(out.at(1, 1, 1) == 255 - 80);
}

TEST_CASE("bilinear float by hand") {
  GreyImageF src(2, 2);
  src.pixels = {0.f, 1.f, 2.f, 4.f};
  const GreyImageF out = resize_bilinear(src, 3, 3);
  // Source coordinates (d + 0.5) * 2/3 - 0.5 = -1/6, 0.5, 7/6.
  const std::vector<float> want = {0.f, 0.5f, 1.f, 1.f, 1.75f, 2.5f, 2.f, 3.f, 4.f};
  REQUIRE(out.pixels.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(out.pixels[i] == doctest::Approx(want[i]).epsilon(1e-6));
}

TEST_CASE("nearest takes floor(d * in / out)") {
  const Image src = grey_image(3, 5, {168, 229, 184, 171, 238, 171, 20, 206, 245, 153, 204, 5, 37, 53, 213});
  // cv2.resize(src, (4, 7), interpolation=INTER_NEAREST)
  CHECK(resize_nearest(src, 7, 4).pixels ==
        std::vector<uint8_t>{168, 229, 184, 171, 168, 229, 184, 171, 168, 229, 184, 171, 171, 20,
                             206, 245, 171, 20,  206, 245, 204, 5,   37,  53,  204, 5,   37,  53});
  GreyImageF f(1, 2);
  f.pixels = {1.f, 2.f};
  CHECK(resize_nearest(f, 1, 5).pixels == std::vector<float>{1.f, 1.f, 1.f, 2.f, 2.f});
}

TEST_CASE("resize rejects empty sizes") {
  CHECK_THROWS_AS(resize_bilinear(grey_image(1, 1, {3}), 0, 4), cuttle::Error);
  CHECK_THROWS_AS(resize_nearest(Image(), 2, 2), cuttle::Error);
}

}  // TEST_SUITE
