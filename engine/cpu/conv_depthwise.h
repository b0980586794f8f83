// Declares the direct depthwise convolution kernels (groups == C, O = C * multiplier): im2col would
// copy every input pixel kh*kw times for a single multiply-add each, so these loop over taps instead.
#pragma once
#include "engine/cpu/conv_geometry.h"

namespace cuttle::engine::cpu {

// All pointers are to contiguous NCHW / OIHW buffers; `b` may be null. Outputs are overwritten.
template <typename T>
void depthwise_forward(const T* x, const T* w, const T* b, T* y, const ConvGeom& g);
template <typename T>
void depthwise_backward_input(const T* gy, const T* w, T* gx, const ConvGeom& g);
template <typename T>
void depthwise_backward_weight(const T* gy, const T* x, T* gw, const ConvGeom& g);

}  // namespace cuttle::engine::cpu
