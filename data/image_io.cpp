#include "data/image_io.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/ops/elementwise.h"

namespace cuttle::data {

namespace {

namespace fs = std::filesystem;

enum class Format { png, jpeg };

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  CUTTLE_CHECK(fs::exists(st), "read_image: ", path, ": no such file");
  CUTTLE_CHECK(fs::is_regular_file(st), "read_image: ", path, ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  CUTTLE_CHECK(in.good(), "read_image: ", path, ": cannot open (", std::strerror(errno), ")");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CUTTLE_CHECK(!in.bad(), "read_image: ", path, ": read error");
  CUTTLE_CHECK(!bytes.empty(), "read_image: ", path, ": empty file");
  return bytes;
}

Format detect_format(const std::string& path, const std::vector<uint8_t>& b) {
  static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 8 && std::memcmp(b.data(), png_magic, 8) == 0) return Format::png;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::jpeg;
  CUTTLE_FAIL("read_image: ", path, ": unsupported or unrecognised format (PNG and JPEG are read)");
}

struct Decoded {
  int w = 0, h = 0, comp = 0;  // comp: channels in the returned buffer
  std::unique_ptr<void, StbFree> data;
};

// req = 0 keeps the file's channels (palette expanded to RGB/RGBA).
Decoded decode(const std::string& path, const std::vector<uint8_t>& b, int req, bool sixteen) {
  Decoded d;
  int file_comp = 0;
  void* p = sixteen ? (void*)stbi_load_16_from_memory(b.data(), (int)b.size(), &d.w, &d.h, &file_comp, req)
                    : (void*)stbi_load_from_memory(b.data(), (int)b.size(), &d.w, &d.h, &file_comp, req);
  CUTTLE_CHECK(p != nullptr, "read_image: ", path, ": corrupt or unsupported image (",
               stbi_failure_reason() ? stbi_failure_reason() : "unknown", ")");
  d.data.reset(p);
  d.comp = req ? req : file_comp;
  return d;
}

// RGB -> grey as OpenCV's PNG reader gets it from libpng's rgb_to_gray with weights 0.299/0.587: 15-bit
// fixed-point coefficients 9797, 19234 and 32768 - 9797 - 19234 = 3737; 8-bit data is truncated,
// 16-bit data is rounded (then reduced to 8 bits by dropping the low byte). Checked against
// cv2.imread(..., IMREAD_GRAYSCALE) of OpenCV 4.6 on random RGB images: identical.
constexpr uint32_t kGreyR = 9797, kGreyG = 19234, kGreyB = 3737;
inline uint8_t grey8(uint32_t r, uint32_t g, uint32_t b) { return (uint8_t)((kGreyR * r + kGreyG * g + kGreyB * b) >> 15); }
inline uint16_t grey16(uint64_t r, uint64_t g, uint64_t b) {
  return (uint16_t)((kGreyR * r + kGreyG * g + kGreyB * b + 16384) >> 15);
}

}  // namespace

Image read_image(const std::string& path, ColorMode mode) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  const Format fmt = detect_format(path, bytes);
  if (mode == ColorMode::rgb) {
    // stb replicates grey and drops alpha, as imread(IMREAD_COLOR) does; 16-bit keeps the high byte.
    Decoded d = decode(path, bytes, 3, false);
    Image img(d.h, d.w, 3);
    std::memcpy(img.pixels.data(), d.data.get(), img.pixels.size());
    return img;
  }
  if (fmt == Format::jpeg) {
    // For YCbCr JPEGs stb's one-channel output is the decoded Y plane, which is what libjpeg hands
    // OpenCV for a grey read.
    Decoded d = decode(path, bytes, 1, false);
    Image img(d.h, d.w, 1);
    std::memcpy(img.pixels.data(), d.data.get(), img.pixels.size());
    return img;
  }
  const bool sixteen = stbi_is_16_bit_from_memory(bytes.data(), (int)bytes.size()) != 0;
  Decoded d = decode(path, bytes, 0, sixteen);
  Image img(d.h, d.w, 1);
  const int64_t n = (int64_t)d.w * d.h;
  const int c = d.comp;
  if (sixteen) {
    const uint16_t* s = static_cast<const uint16_t*>(d.data.get());
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t* px = s + i * c;
      const uint16_t v = c >= 3 ? grey16(px[0], px[1], px[2]) : px[0];
      img.pixels[(size_t)i] = (uint8_t)(v >> 8);
    }
  } else {
    const uint8_t* s = static_cast<const uint8_t*>(d.data.get());
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* px = s + i * c;
      img.pixels[(size_t)i] = c >= 3 ? grey8(px[0], px[1], px[2]) : px[0];  // alpha is ignored
    }
  }
  return img;
}

engine::Tensor read_image_tensor(const std::string& path, ColorMode mode) {
  return image_to_tensor(read_image(path, mode));
}

engine::Tensor read_image_rgb01(const std::string& path) {
  return engine::binary_scalar(engine::BinaryOp::mul, read_image_tensor(path, ColorMode::rgb).to(engine::DType::f32),
                               1.0 / 255.0);
}

GreyImageF read_grey_float(const std::string& path) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  const Format fmt = detect_format(path, bytes);
  if (fmt == Format::png && stbi_is_16_bit_from_memory(bytes.data(), (int)bytes.size())) {
    Decoded d = decode(path, bytes, 0, true);
    GreyImageF img(d.h, d.w);
    const uint16_t* s = static_cast<const uint16_t*>(d.data.get());
    for (size_t i = 0; i < img.pixels.size(); ++i) {
      const uint16_t* px = s + i * (size_t)d.comp;
      const uint16_t v = d.comp >= 3 ? grey16(px[0], px[1], px[2]) : px[0];
      img.pixels[i] = (float)v / 65535.f;
    }
    return img;
  }
  return to_float01(read_image(path, ColorMode::grey));
}

namespace {
void check_writable(const char* op, const std::string& path, const Image& img) {
  CUTTLE_CHECK(img.channels >= 1 && img.channels <= 4, op, ": ", path, ": ", img.channels,
               " channels (1 to 4 are written)");
  CUTTLE_CHECK(img.height > 0 && img.width > 0, op, ": ", path, ": empty image ", img.height, "x", img.width);
  CUTTLE_CHECK((int64_t)img.pixels.size() == img.numel(), op, ": ", path, ": ", img.pixels.size(), " bytes for a ",
               img.height, "x", img.width, "x", img.channels, " image");
}
}  // namespace

void write_jpeg(const std::string& path, const Image& img, int quality) {
  check_writable("write_jpeg", path, img);
  CUTTLE_CHECK(quality >= 1 && quality <= 100, "write_jpeg: ", path, ": quality ", quality, " outside 1..100");
  const int ok = stbi_write_jpg(path.c_str(), (int)img.width, (int)img.height, (int)img.channels, img.pixels.data(),
                                quality);
  CUTTLE_CHECK(ok != 0, "write_jpeg: ", path, ": cannot write the file");
}

void write_png(const std::string& path, const Image& img) {
  check_writable("write_png", path, img);
  const int ok = stbi_write_png(path.c_str(), (int)img.width, (int)img.height, (int)img.channels,
                                img.pixels.data(), (int)(img.width * img.channels));
  CUTTLE_CHECK(ok != 0, "write_png: ", path, ": cannot write the file");
}

std::vector<uint8_t> encode_png(const Image& img) {
  CUTTLE_CHECK(img.channels >= 1 && img.channels <= 4 && img.height > 0 && img.width > 0 &&
                   img.numel() == (int64_t)img.pixels.size(),
               "encode_png: invalid image ", img.height, "x", img.width, "x", img.channels);
  std::vector<uint8_t> bytes;
  auto sink = [](void* ctx, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(ctx);
    out->insert(out->end(), (uint8_t*)data, (uint8_t*)data + size);
  };
  const int ok = stbi_write_png_to_func(sink, &bytes, (int)img.width, (int)img.height, (int)img.channels,
                                        img.pixels.data(), (int)(img.width * img.channels));
  CUTTLE_CHECK(ok != 0, "encode_png: stb could not encode the image");
  return bytes;
}

}  // namespace cuttle::data
