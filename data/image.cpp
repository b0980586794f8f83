#include "data/image.h"

namespace cuttle::data {

using engine::DType;
using engine::Tensor;

Tensor image_to_tensor(const Image& img) {
  Tensor t = Tensor::empty({img.channels, img.height, img.width}, DType::u8);
  uint8_t* out = t.data<uint8_t>();
  const int64_t plane = img.height * img.width;
  for (int64_t c = 0; c < img.channels; ++c)
    for (int64_t i = 0; i < plane; ++i) out[c * plane + i] = img.pixels[(size_t)(i * img.channels + c)];
  return t;
}

Image tensor_to_image(const Tensor& t_in) {
  CUTTLE_CHECK(t_in.dtype() == DType::u8 && (t_in.dim() == 2 || t_in.dim() == 3),
               "tensor_to_image: expected a u8 [C,H,W] or [H,W] tensor, got ", t_in.str());
  Tensor t = (t_in.dim() == 2 ? t_in.unsqueeze(0) : t_in).contiguous();
  Image img(t.size(1), t.size(2), t.size(0));
  const uint8_t* in = t.data<uint8_t>();
  const int64_t plane = img.height * img.width;
  for (int64_t c = 0; c < img.channels; ++c)
    for (int64_t i = 0; i < plane; ++i) img.pixels[(size_t)(i * img.channels + c)] = in[c * plane + i];
  return img;
}

Tensor grey_to_tensor(const GreyImageF& img) {
  return Tensor::from_vector(img.pixels, {img.height, img.width});
}

GreyImageF tensor_to_grey(const Tensor& t) {
  CUTTLE_CHECK(t.dim() == 2, "tensor_to_grey: expected an [H,W] tensor, got ", t.str());
  GreyImageF img(t.size(0), t.size(1));
  img.pixels = t.to_vector<float>();
  return img;
}

GreyImageF to_float01(const Image& img) {
  CUTTLE_CHECK(img.channels == 1, "to_float01: expected a one-channel image, got ", img.channels, " channels");
  GreyImageF out(img.height, img.width);
  for (size_t i = 0; i < img.pixels.size(); ++i) out.pixels[i] = (float)img.pixels[i] / 255.f;
  return out;
}

}  // namespace cuttle::data
