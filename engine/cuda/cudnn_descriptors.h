// Defines ConvDescriptors: the cuDNN tensor, filter and convolution descriptors of one NCHW
// convolution (created and destroyed together), with the math type that follows the TF32 switch.
#pragma once
#include <climits>

#include "engine/cuda/cudnn_handle.h"
#include "engine/ops/conv.h"

namespace cuttle::engine::cuda {

inline int cudnn_int(int64_t v, const char* what) {
  CUTTLE_CHECK(v >= 0 && v <= INT_MAX, "cuDNN convolution: ", what, " ", v, " does not fit a 32-bit int");
  return (int)v;
}

inline cudnnDataType_t cudnn_dtype(DType dt) {
  switch (dt) {
    case DType::f32: return CUDNN_DATA_FLOAT;
    case DType::f64: return CUDNN_DATA_DOUBLE;
    default: CUTTLE_FAIL("cuDNN convolution: dtype ", dtype_name(dt), " is not supported (f32 or f64)");
  }
}

// Without TF32, f32 convolutions are restricted to FMA kernels (CUDNN_FMA_MATH); with it, the default
// math type lets cuDNN pick TF32 tensor-core kernels. f64 always uses the default.
inline cudnnMathType_t cudnn_math(DType dt, bool tf32) {
  return dt == DType::f32 && !tf32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

struct ConvDescriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  ConvDescriptors(const Shape& xs, const Shape& ws, const Shape& ys, const Conv2dParams& p, DType dt, bool tf32) {
    try {
      const cudnnDataType_t t = cudnn_dtype(dt);
      CUTTLE_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
      CUTTLE_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
      CUTTLE_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
      CUTTLE_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
      CUTTLE_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, t, cudnn_int(xs[0], "batch"),
                                                    cudnn_int(xs[1], "channels"), cudnn_int(xs[2], "height"),
                                                    cudnn_int(xs[3], "width")));
      CUTTLE_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, t, cudnn_int(ys[0], "batch"),
                                                    cudnn_int(ys[1], "channels"), cudnn_int(ys[2], "height"),
                                                    cudnn_int(ys[3], "width")));
      CUTTLE_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, t, CUDNN_TENSOR_NCHW, cudnn_int(ws[0], "out channels"),
                                                    cudnn_int(ws[1], "in channels"), cudnn_int(ws[2], "kernel"),
                                                    cudnn_int(ws[3], "kernel")));
      // f32 data accumulates in f32 (cuDNN's only choice for f32), f64 in f64.
      CUTTLE_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
          conv, cudnn_int(p.pad_h, "padding"), cudnn_int(p.pad_w, "padding"), cudnn_int(p.stride_h, "stride"),
          cudnn_int(p.stride_w, "stride"), cudnn_int(p.dil_h, "dilation"), cudnn_int(p.dil_w, "dilation"),
          CUDNN_CROSS_CORRELATION, t));
      CUTTLE_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, cudnn_int(p.groups, "groups")));
      CUTTLE_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, cudnn_math(dt, tf32)));
    } catch (...) {
      release();
      throw;
    }
  }
  ~ConvDescriptors() { release(); }
  ConvDescriptors(const ConvDescriptors&) = delete;
  ConvDescriptors& operator=(const ConvDescriptors&) = delete;

 private:
  void release() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    x = y = nullptr;
    w = nullptr;
    conv = nullptr;
  }
};

}  // namespace cuttle::engine::cuda
