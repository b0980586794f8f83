// Image I/O: PNG round trips, 16-bit / palette / grey+alpha PNGs built by hand, grey conversion as
// OpenCV does it, tensor conversion, and errors that name the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "data/image_io.h"
#include "tests/data/png_bytes.h"

using namespace cuttle;
using namespace cuttle::data;

namespace {

std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "cuttle_test_image_io";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const cuttle::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("write_png then read_image round trips grey and RGB") {
  Image grey(5, 7, 1);
  for (size_t i = 0; i < grey.pixels.size(); ++i) grey.pixels[i] = (uint8_t)(i * 37 % 256);
  const std::string gp = temp_path("grey.png");
  write_png(gp, grey);
  const Image g2 = read_image(gp, ColorMode::grey);
  CHECK(g2.height == 5);
  CHECK(g2.width == 7);
  CHECK(g2.channels == 1);
  CHECK(g2.pixels == grey.pixels);
  // Grey read as RGB replicates the channel.
  const Image g3 = read_image(gp, ColorMode::rgb);
  REQUIRE(g3.channels == 3);
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) CHECK(g3.at(y, x, c) == grey.at(y, x));

  Image rgb(4, 3, 3);
  for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = (uint8_t)(i * 91 % 256);
  const std::string cp = temp_path("rgb.png");
  write_png(cp, rgb);
  CHECK(read_image(cp, ColorMode::rgb).pixels == rgb.pixels);
}

TEST_CASE("colour read as grey uses OpenCV's PNG weights (libpng 9797/19234/3737 truncated)") {
  Image rgba(1, 4, 4);
  const uint8_t px[4][4] = {{255, 0, 0, 7}, {0, 255, 0, 200}, {0, 0, 255, 0}, {10, 100, 200, 255}};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 4; ++c) rgba.at(0, x, c) = px[x][c];
  const std::string p = temp_path("rgba.png");
  write_png(p, rgba);
  const Image g = read_image(p, ColorMode::grey);
  // Values cv2.imread(..., IMREAD_GRAYSCALE) returns for these pixels (alpha is ignored).
  CHECK(g.at(0, 0) == 76);
  CHECK(g.at(0, 1) == 149);
  CHECK(g.at(0, 2) == 29);
  CHECK(g.at(0, 3) == (10 * 9797 + 100 * 19234 + 200 * 3737) >> 15);
  const Image c = read_image(p, ColorMode::rgb);
  CHECK(c.channels == 3);
  CHECK(c.at(0, 3, 2) == 200);
}

TEST_CASE("16-bit palette and grey+alpha PNGs") {
  // 16-bit grey: OpenCV keeps the high byte; read_grey_float keeps full precision.
  const std::string p16 = temp_path("g16.png");
  test::write_bytes(p16, test::make_png(3, 1, 16, 0, {{0x12, 0x34, 0xFF, 0xFF, 0x80, 0xFF}}));
  const Image g16 = read_image(p16, ColorMode::grey);
  CHECK(g16.pixels == std::vector<uint8_t>{0x12, 0xFF, 0x80});
  const GreyImageF f16 = read_grey_float(p16);
  CHECK(f16.at(0, 0) == doctest::Approx(0x1234 / 65535.0).epsilon(1e-6));
  CHECK(f16.at(0, 2) == doctest::Approx(0x80FF / 65535.0).epsilon(1e-6));

  // 16-bit RGB to grey: rounded 15-bit weights on the 16-bit values, then the high byte.
  const std::string prgb16 = temp_path("rgb16.png");
  test::write_bytes(prgb16, test::make_png(1, 1, 16, 2, {{0x12, 0x34, 0xAB, 0xCD, 0x01, 0x02}}));
  const uint32_t v16 = (0x1234u * 9797 + 0xABCDu * 19234 + 0x0102u * 3737 + 16384) >> 15;
  CHECK(read_image(prgb16, ColorMode::grey).at(0, 0) == (uint8_t)(v16 >> 8));
  CHECK(read_image(prgb16, ColorMode::rgb).pixels == std::vector<uint8_t>{0x12, 0xAB, 0x01});

  // Palette: indices expand to the palette's colours.
  const std::string pp = temp_path("pal.png");
  test::write_bytes(pp, test::make_png(3, 2, 8, 3, {{0, 1, 2}, {2, 1, 0}}, {10, 20, 30, 255, 255, 255, 0, 128, 0}));
  const Image pc = read_image(pp, ColorMode::rgb);
  REQUIRE(pc.channels == 3);
  CHECK(pc.at(0, 0, 0) == 10);
  CHECK(pc.at(0, 0, 2) == 30);
  CHECK(pc.at(1, 0, 1) == 128);
  const Image pg = read_image(pp, ColorMode::grey);
  CHECK(pg.at(0, 1) == 255);
  CHECK(pg.at(1, 0) == (128 * 19234) >> 15);

  // Grey+alpha: the alpha is dropped.
  const std::string pga = temp_path("ga.png");
  test::write_bytes(pga, test::make_png(2, 1, 8, 4, {{40, 0, 200, 255}}));
  CHECK(read_image(pga, ColorMode::grey).pixels == std::vector<uint8_t>{40, 200});
}

TEST_CASE("image tensors are planar u8 CHW") {
  Image rgb(2, 3, 3);
  for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = (uint8_t)i;
  const engine::Tensor t = image_to_tensor(rgb);
  CHECK(t.shape() == engine::Shape{3, 2, 3});
  CHECK(t.dtype() == engine::DType::u8);
  const std::vector<uint8_t> v = t.to_vector<uint8_t>();
  CHECK(v[0] == rgb.at(0, 0, 0));
  CHECK(v[6] == rgb.at(0, 0, 1));  // channel 1 plane starts after 2*3 values
  CHECK(v[6 + 4] == rgb.at(1, 1, 1));
  CHECK(tensor_to_image(t).pixels == rgb.pixels);
  const std::string p = temp_path("t.png");
  write_png(p, rgb);
  CHECK(read_image_tensor(p, ColorMode::rgb).to_vector<uint8_t>() == v);
  GreyImageF f(2, 2);
  f.pixels = {0.f, .25f, .5f, 1.f};
  CHECK(tensor_to_grey(grey_to_tensor(f)).pixels == f.pixels);
}

TEST_CASE("read errors name the file and the problem") {
  const std::string missing = temp_path("does_not_exist.png");
  std::filesystem::remove(missing);
  std::string e = error_of([&] { read_image(missing, ColorMode::grey); });
  CHECK(e.find(missing) != std::string::npos);
  CHECK(e.find("no such file") != std::string::npos);

  // A PNG cut in the middle of its data.
  Image img(20, 20, 1, 7);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = (uint8_t)(i * 13);
  const std::string good = temp_path("good.png"), corrupt = temp_path("corrupt.png");
  write_png(good, img);
  std::vector<uint8_t> bytes;
  {
    std::ifstream f(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  bytes.resize(bytes.size() / 2);
  test::write_bytes(corrupt, bytes);
  e = error_of([&] { read_image(corrupt, ColorMode::grey); });
  CHECK(e.find(corrupt) != std::string::npos);
  CHECK(e.find("corrupt") != std::string::npos);

  const std::string text = temp_path("notes.png");
  test::write_bytes(text, {'h', 'e', 'l', 'l', 'o'});
  e = error_of([&] { read_image(text, ColorMode::rgb); });
  CHECK(e.find(text) != std::string::npos);
  CHECK(e.find("unsupported") != std::string::npos);

  const std::string empty = temp_path("empty.png");
  test::write_bytes(empty, {});
  e = error_of([&] { read_image(empty, ColorMode::grey); });
  CHECK(e.find("empty file") != std::string::npos);

  e = error_of([&] { read_image(std::filesystem::temp_directory_path().string(), ColorMode::grey); });
  CHECK(e.find("not a regular file") != std::string::npos);

  e = error_of([&] { write_png(temp_path("no_such_dir/x.png"), img); });
  CHECK(e.find("no_such_dir/x.png") != std::string::npos);
}

}  // TEST_SUITE
