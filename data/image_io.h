// Declares image file I/O: reading PNG (8/16-bit; grey, grey+alpha, RGB, RGBA, palette) and JPEG as
// grey or RGB the way OpenCV's imread does, and writing 8-bit PNGs. Built on stb (data/stb_impl.cpp).
#pragma once
#include <string>
#include <vector>

#include "data/image.h"
#include "engine/tensor.h"

namespace cuttle::data {

enum class ColorMode {
  grey,  // one channel; colour is converted as OpenCV's IMREAD_GRAYSCALE does (see image_io.cpp)
  rgb,   // three channels in R, G, B order; grey is replicated, alpha dropped (not composited)
};

// Reads a PNG or JPEG file. Throws cuttle::Error naming the file and the problem: missing, not a
// regular file, unreadable, empty, unsupported format, or corrupt (stb's reason).
Image read_image(const std::string& path, ColorMode mode);
// The same as a u8 [C,H,W] tensor (C = 1 or 3).
engine::Tensor read_image_tensor(const std::string& path, ColorMode mode);
// An RGB image as f32 [3,H,W] in [0,1] (v/255): what datasets give the loader and infer_cod the model.
engine::Tensor read_image_rgb01(const std::string& path);
// One channel in [0,1]: 8-bit files as v/255, 16-bit PNGs at full precision as v/65535.
GreyImageF read_grey_float(const std::string& path);

// Writes an 8-bit PNG with 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels. Throws naming the
// file when it cannot be written.
void write_png(const std::string& path, const Image& img);
// The PNG file bytes of an 8-bit image (for embedding, e.g. in an HTML report).
std::vector<uint8_t> encode_png(const Image& img);
// Writes a baseline JPEG (1 or 3 channels) at `quality` (1..100).
void write_jpeg(const std::string& path, const Image& img, int quality = 95);

}  // namespace cuttle::data
