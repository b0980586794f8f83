// Convolution through cuDNN (engine/cuda/cudnn_conv.h): descriptors per call, the algorithm from the
// cache in cudnn_algo.cpp, candidates tried in order until one gets its workspace and runs. Depthwise,
// narrow 3x3 and 1x1 forwards and 1x1 input gradients go to cuttle's own kernels or cuBLAS instead
// (engine/cuda/own_conv.h), convolutions over small maps with a long reduction to im2col + cuBLAS in
// every direction (engine/cuda/gemm_conv.h), and stride-1 forwards and input gradients may run as the
// other operation on the flipped weight (engine/cuda/conv_form.h).
#include "engine/cuda/cudnn_conv.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include "engine/cuda/conv_bias.h"
#include "engine/cuda/conv_flip.h"
#include "engine/cuda/conv_form.h"
#include "engine/cuda/cublas.h"
#include "engine/cuda/cudnn_algo.h"
#include "engine/cuda/cudnn_graph_conv.h"
#include "engine/cuda/gemm_conv.h"
#include "engine/cuda/own_conv.h"
#include "engine/cuda/runtime.h"
#include "engine/op_trace.h"

namespace cuttle::engine::cuda {

namespace {

const void* one_of(DType dt) {
  static const float f = 1.0f;
  static const double d = 1.0;
  return dt == DType::f64 ? static_cast<const void*>(&d) : static_cast<const void*>(&f);
}
const void* zero_of(DType dt) {
  static const float f = 0.0f;
  static const double d = 0.0;
  return dt == DType::f64 ? static_cast<const void*>(&d) : static_cast<const void*>(&f);
}

bool falls_through(cudnnStatus_t st) {
  const int category = (int)st / 1000 * 1000;
  return category == CUDNN_STATUS_BAD_PARAM || category == CUDNN_STATUS_NOT_SUPPORTED ||
         st == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
}

using RunFn = std::function<cudnnStatus_t(const ConvDescriptors&, int algo, void* ws, size_t bytes)>;
using FindFn = std::function<std::vector<ConvPerf>(const ConvDescriptors&, void* ws, size_t bytes)>;

template <typename PerfT, typename Call>
std::vector<ConvPerf> run_find(int max, const Call& call) {
  std::vector<PerfT> r(std::max(max, 1));
  int got = 0;
  CUTTLE_CUDNN_CHECK(call(max, &got, r.data()));
  std::vector<ConvPerf> out;
  for (int i = 0; i < got; ++i) out.push_back({(int)r[i].algo, r[i].status, r[i].determinism, r[i].mathType});
  return out;
}

// One convolution of the given direction on shapes (xs, ws, ys): the cached candidates in order; a
// candidate whose workspace cannot be allocated (the caching allocator throws on out-of-memory) or
// that cuDNN refuses is passed over for the next.
void run_conv(const char* op, ConvKind kind, const Shape& xs, const Shape& ws, const Shape& ys, const Conv2dParams& p,
              DType dt, int device, const FindFn& find, const RunFn& run) {
  std::optional<HostSection> setup_section(std::in_place, "cudnn legacy: descriptors and candidates");
  cudnnHandle_t h = cudnn_handle(device);
  const ConvDescriptors d(xs, ws, ys, p, dt, allow_tf32());
  const ConvKey key = make_conv_key(kind, device, dt, xs, ws, p);
  const std::vector<ConvCandidate> cands =
      conv_candidates(kind, h, d, key, dt, [&](void* w, size_t b) { return find(d, w, b); });
  setup_section.reset();
  std::string tried;
  for (const ConvCandidate& c : cands) {
    Tensor workspace;
    if (c.workspace > 0) {
      try {
        workspace = Tensor::empty({(int64_t)c.workspace}, DType::u8, Device::cuda(device));
      } catch (const Error&) {
        note_conv_fallback();
        tried += " algo " + std::to_string(c.algo) + ": no memory for its " + std::to_string(c.workspace) +
                 "-byte workspace;";
        continue;
      }
    }
    CUTTLE_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, c.math));
    std::optional<HostSection> run_section(std::in_place, "cudnn legacy: run");
    const cudnnStatus_t st = run(d, c.algo, workspace.defined() ? workspace.raw_data() : nullptr, c.workspace);
    if (st == CUDNN_STATUS_SUCCESS) return;
    if (!falls_through(st)) CUTTLE_FAIL(op, ": cuDNN algorithm ", c.algo, " failed: ", cudnnGetErrorString(st));
    drop_conv_candidate(key, c);
    note_conv_fallback();
    tried += " algo " + std::to_string(c.algo) + ": " + cudnnGetErrorString(st) + ";";
  }
  CUTTLE_FAIL(op, ": no cuDNN algorithm could run input ", shape_str(xs), " weight ", shape_str(ws), " (stride ",
              p.stride_h, ",", p.stride_w, " padding ", p.pad_h, ",", p.pad_w, " dilation ", p.dil_h, ",", p.dil_w,
              " groups ", p.groups, "; workspace cap ", cudnn_workspace_limit(), " bytes);", tried);
}

// Batch chunks whose tensors cuDNN can address with 32-bit element counts.
int64_t batch_chunk(const Shape& xs, const Shape& ys) {
  const int64_t per = std::max<int64_t>(1, std::max(shape_numel(xs) / std::max<int64_t>(xs[0], 1),
                                                    shape_numel(ys) / std::max<int64_t>(ys[0], 1)));
  return std::max<int64_t>(1, std::min<int64_t>(xs[0], INT_MAX / per));
}

Shape with_batch(Shape s, int64_t n) {
  s[0] = n;
  return s;
}

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  CUTTLE_CHECK(a.defined() && b.defined(), op, ": an input tensor is undefined");
  CUTTLE_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.str(), " vs ", b.str());
  CUTTLE_CHECK(a.dtype() == DType::f32 || a.dtype() == DType::f64, op, ": expected f32 or f64, got ", a.str());
}

void check_grad_out(const char* op, const Tensor& g, const Shape& want) {
  CUTTLE_CHECK(g.shape() == want, op, ": grad_out ", shape_str(g.shape()), " does not match the convolution's output ",
               shape_str(want));
}

// The forward through cuDNN (graph API, else the legacy path), in batch chunks cuDNN can address.
void cudnn_forward(const Tensor& xc, const Tensor& wc, Tensor& y, const Conv2dParams& p) {
  const char* op = "conv2d";
  const int device = xc.device().index;
  const DType dt = xc.dtype();
  const Shape& ws = wc.shape();
  const int64_t chunk = batch_chunk(xc.shape(), y.shape());
  for (int64_t n0 = 0; n0 < xc.size(0); n0 += chunk) {
    const int64_t n = std::min(chunk, xc.size(0) - n0);
    const Tensor xs = xc.slice(0, n0, n0 + n);
    Tensor yv = y.slice(0, n0, n0 + n);
    const void* px = xs.raw_data();
    const void* pw = wc.raw_data();
    void* py = yv.raw_data();
    if (cudnn_graph_api() && graph_conv(ConvKind::forward, device, dt, xs.shape(), ws, yv.shape(), p,
                                        const_cast<void*>(px), const_cast<void*>(pw), py, 0.0))
      continue;
    cudnnHandle_t h = cudnn_handle(device);
    run_conv(
        op, ConvKind::forward, xs.shape(), ws, yv.shape(), p, dt, device,
        [&](const ConvDescriptors& d, void* wsp, size_t bytes) {
          int max = 0;
          CUTTLE_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max));
          return run_find<cudnnConvolutionFwdAlgoPerf_t>(max, [&](int m, int* got, cudnnConvolutionFwdAlgoPerf_t* r) {
            return cudnnFindConvolutionForwardAlgorithmEx(h, d.x, px, d.w, pw, d.conv, d.y, py, m, got, r, wsp, bytes);
          });
        },
        [&](const ConvDescriptors& d, int algo, void* wsp, size_t bytes) {
          return cudnnConvolutionForward(h, one_of(dt), d.x, px, d.w, pw, d.conv, (cudnnConvolutionFwdAlgo_t)algo, wsp,
                                         bytes, zero_of(dt), d.y, py);
        });
  }
}

// The input gradient gx (allocated, contiguous) through cuDNN, in batch chunks.
void cudnn_backward_input(const Tensor& gc, const Tensor& wc, Tensor& gx, const Conv2dParams& p) {
  const char* op = "conv2d_backward_input";
  const int device = wc.device().index;
  const DType dt = wc.dtype();
  const Shape& x_shape = gx.shape();
  const int64_t chunk = batch_chunk(x_shape, gc.shape());
  for (int64_t n0 = 0; n0 < x_shape[0]; n0 += chunk) {
    const int64_t n = std::min(chunk, x_shape[0] - n0);
    const Tensor gs = gc.slice(0, n0, n0 + n);
    Tensor gxv = gx.slice(0, n0, n0 + n);
    const void* pg = gs.raw_data();
    const void* pw = wc.raw_data();
    void* pdx = gxv.raw_data();
    if (cudnn_graph_api() && graph_conv(ConvKind::backward_data, device, dt, gxv.shape(), wc.shape(), gs.shape(), p,
                                        pdx, const_cast<void*>(pw), const_cast<void*>(pg), 0.0))
      continue;
    cudnnHandle_t h = cudnn_handle(device);
    run_conv(
        op, ConvKind::backward_data, gxv.shape(), wc.shape(), gs.shape(), p, dt, device,
        [&](const ConvDescriptors& d, void* ws, size_t bytes) {
          int max = 0;
          CUTTLE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max));
          return run_find<cudnnConvolutionBwdDataAlgoPerf_t>(max, [&](int m, int* got, cudnnConvolutionBwdDataAlgoPerf_t* r) {
            return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, pw, d.y, pg, d.conv, d.x, pdx, m, got, r, ws, bytes);
          });
        },
        [&](const ConvDescriptors& d, int algo, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardData(h, one_of(dt), d.w, pw, d.y, pg, d.conv,
                                              (cudnnConvolutionBwdDataAlgo_t)algo, ws, bytes, zero_of(dt), d.x, pdx);
        });
  }
}

// Runs a forward (in = x, out = y) or an input gradient (in = the output gradient, out = gx) through
// cuDNN, directly or, where engine/cuda/conv_form.h picks it, as the other operation on the flipped
// weight at the complementary padding (engine/cuda/conv_flip.h). x_shape: the convolution's input.
void run_in_chosen_form(ConvKind kind, const Shape& x_shape, const Tensor& in, const Tensor& wc, Tensor& out,
                        const Conv2dParams& p) {
  const bool forward = kind == ConvKind::forward;
  auto direct = [&] { forward ? cudnn_forward(in, wc, out, p) : cudnn_backward_input(in, wc, out, p); };
  if (!flipped_form_applies(wc.shape(), p, wc.dtype())) return direct();
  const Conv2dParams q = flipped_form_params(wc.shape(), p);
  Tensor flipped;
  auto as_other = [&] {
    if (!flipped.defined()) flipped = flip_swap_conv_weight(wc);
    forward ? cudnn_backward_input(in, flipped, out, q) : cudnn_forward(in, flipped, out, q);
  };
  if (choose_flipped_form(kind, x_shape, wc.shape(), p, wc.dtype(), wc.device().index, direct, as_other))
    as_other();
  else
    direct();
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  const char* op = "conv2d";
  check_operands(op, x, w);
  const Shape ys = conv2d_output_shape(x.shape(), w.shape(), p);
  if (bias.defined()) {
    CUTTLE_CHECK(bias.dtype() == x.dtype(), op, ": dtype mismatch, ", x.str(), " vs ", bias.str());
    CUTTLE_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), op, ": bias ", shape_str(bias.shape()), " must be [",
                 w.size(0), "] for weight ", shape_str(w.shape()));
  }
  const int device = x.device().index;
  const DType dt = x.dtype();
  DeviceGuard guard(device);
  Tensor y = Tensor::empty(ys, dt, x.device());
  if (y.numel() == 0) return y;
  if (x.numel() == 0 || w.numel() == 0) {
    y.zero_();  // no input channels: the bias alone
  } else if (depthwise_kernel_applies(x.shape(), w.shape(), p)) {
    depthwise_conv2d_forward(x.contiguous(), w.contiguous(), y, p);
  } else if (small_conv_kernel_applies(x.shape(), w.shape(), p, dt)) {
    small_conv2d_forward(x.contiguous(), w.contiguous(), y, p);
  } else if (pointwise_gemm_applies(x.shape(), w.shape(), p)) {
    pointwise_conv2d_forward(x.contiguous(), w.contiguous(), y);
  } else if (gemm_conv_applies(x.shape(), w.shape(), p, dt)) {
    gemm_conv2d_forward(x.contiguous(), w.contiguous(), y, p);
  } else {
    run_in_chosen_form(ConvKind::forward, x.shape(), x.contiguous(), w.contiguous(), y, p);
  }
  if (bias.defined()) add_channel_bias_(y, bias.contiguous());
  return y;
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  const char* op = "conv2d_backward_input";
  check_operands(op, grad_out, w);
  const Shape ys = conv2d_output_shape(x_shape, w.shape(), p);
  check_grad_out(op, grad_out, ys);
  const int device = w.device().index;
  const DType dt = w.dtype();
  DeviceGuard guard(device);
  Tensor gx = Tensor::empty(x_shape, dt, w.device());
  if (gx.numel() == 0) return gx;
  if (grad_out.numel() == 0 || w.numel() == 0) {
    gx.zero_();
    return gx;
  }
  const Tensor gc = grad_out.contiguous(), wc = w.contiguous();
  if (pointwise_gemm_backward_input_applies(x_shape, w.shape(), p)) {
    pointwise_conv2d_backward_input(gc, wc, gx);
    return gx;
  }
  if (gemm_conv_applies(x_shape, w.shape(), p, dt)) {
    gemm_conv2d_backward_input(gc, wc, gx, p);
    return gx;
  }
  run_in_chosen_form(ConvKind::backward_data, x_shape, gc, wc, gx, p);
  return gx;
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, const Conv2dParams& p) {
  const char* op = "conv2d_backward_weight";
  check_operands(op, grad_out, x);
  const Shape ys = conv2d_output_shape(x.shape(), w_shape, p);
  check_grad_out(op, grad_out, ys);
  const int device = x.device().index;
  const DType dt = x.dtype();
  DeviceGuard guard(device);
  Tensor gw = Tensor::empty(w_shape, dt, x.device());
  if (gw.numel() == 0) return gw;
  if (x.numel() == 0 || grad_out.numel() == 0) {
    gw.zero_();  // an empty batch contributes nothing
    return gw;
  }
  const Tensor gc = grad_out.contiguous(), xc = x.contiguous();
  if (gemm_conv_applies(x.shape(), w_shape, p, dt)) {
    gemm_conv2d_backward_weight(gc, xc, gw, p);
    return gw;
  }
  const int64_t chunk = batch_chunk(x.shape(), ys);
  for (int64_t n0 = 0; n0 < x.size(0); n0 += chunk) {
    const int64_t n = std::min(chunk, x.size(0) - n0);
    const Tensor gs = gc.slice(0, n0, n0 + n), xs = xc.slice(0, n0, n0 + n);
    const void* pg = gs.raw_data();
    const void* px = xs.raw_data();
    void* pdw = gw.raw_data();
    // Later chunks accumulate into the first one's result.
    const void* beta = n0 == 0 ? zero_of(dt) : one_of(dt);
    if (cudnn_graph_api() && graph_conv(ConvKind::backward_filter, device, dt, xs.shape(), w_shape, gs.shape(), p,
                                        const_cast<void*>(px), pdw, const_cast<void*>(pg), n0 == 0 ? 0.0 : 1.0))
      continue;
    cudnnHandle_t h = cudnn_handle(device);
    run_conv(
        op, ConvKind::backward_filter, xs.shape(), w_shape, gs.shape(), p, dt, device,
        [&](const ConvDescriptors& d, void* ws, size_t bytes) {
          // cudnnFind writes the filter gradient: give it a scratch one so accumulation is not disturbed.
          Tensor scratch = Tensor::empty(w_shape, dt, x.device());
          int max = 0;
          CUTTLE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max));
          return run_find<cudnnConvolutionBwdFilterAlgoPerf_t>(max, [&](int m, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
            return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, px, d.y, pg, d.conv, d.w, scratch.raw_data(), m,
                                                                 got, r, ws, bytes);
          });
        },
        [&](const ConvDescriptors& d, int algo, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardFilter(h, one_of(dt), d.x, px, d.y, pg, d.conv,
                                                (cudnnConvolutionBwdFilterAlgo_t)algo, ws, bytes, beta, d.w, pdw);
        });
  }
  return gw;
}

}  // namespace cuttle::engine::cuda
