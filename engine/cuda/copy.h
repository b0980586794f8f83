// Declares the CUDA data-movement primitives behind Tensor: copies between any two devices (with
// dtype conversion and broadcasting of the source), fill and zeroing.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// dst <- src where at least one of them is on a GPU; src broadcasts to dst's shape. Host-side
// copies are complete when this returns (the host buffer may be freed); device-side ones are ordered
// on the device's stream.
void copy(Tensor& dst, const Tensor& src);
void fill(Tensor& t, double value);

}  // namespace cuttle::engine::cuda
