// CUDA kernels of the fused training updates (engine/cuda/optim.h): AdamW, SGD, sum of squares,
// scaling and EMA over lists of tensors, a few multi-tensor launches per call. Lists are split by
// dtype (one kernel instantiation per launch); per-element formulas come from engine/optim_math.h.
#include <functional>

#include "engine/cuda/multi_tensor.cuh"
#include "engine/cuda/optim.h"
#include "engine/dispatch.h"
#include "engine/optim_math.h"

namespace cuttle::engine::cuda {

namespace {

struct AdamWExtra {
  double decay_factor, step_size, bc2_sqrt;
};
struct SGDExtra {
  double lr, weight_decay;
  int first;
};
using AdamWBatch = MtBatch<4, AdamWExtra>;
using SGDBatch = MtBatch<3, SGDExtra>;
using OnePtrBatch = MtBatch<1, MtNoExtra>;
using TwoPtrBatch = MtBatch<2, MtNoExtra>;
static_assert(sizeof(AdamWBatch) < 4000 && sizeof(SGDBatch) < 4000, "multi-tensor argument over 4 KiB");

template <typename T>
__global__ void adamw_kernel(const AdamWBatch b, double b1, double b2, double eps) {
  const MtPlace p = mt_place(b);
  T* w = static_cast<T*>(b.ptr[p.t][0]);
  const T* g = static_cast<const T*>(b.ptr[p.t][1]);
  T* m = static_cast<T*>(b.ptr[p.t][2]);
  T* v = static_cast<T*>(b.ptr[p.t][3]);
  const AdamWExtra e = b.extra[p.t];
  CUTTLE_MT_LOOP(i, p, b.numel[p.t]) {
    T wi = w[i], mi = m[i], vi = v[i];
    optim_math::adamw<T>(wi, mi, vi, g[i], e.decay_factor, e.step_size, e.bc2_sqrt, b1, b2, eps);
    w[i] = wi;
    m[i] = mi;
    v[i] = vi;
  }
}

template <typename T>
__global__ void sgd_kernel(const SGDBatch b, double momentum, double dampening, bool nesterov) {
  const MtPlace p = mt_place(b);
  T* w = static_cast<T*>(b.ptr[p.t][0]);
  const T* g = static_cast<const T*>(b.ptr[p.t][1]);
  T* buf = static_cast<T*>(b.ptr[p.t][2]);
  const SGDExtra e = b.extra[p.t];
  CUTTLE_MT_LOOP(i, p, b.numel[p.t]) {
    T wi = w[i];
    if (buf) {
      T bi = buf[i];
      optim_math::sgd<T>(wi, &bi, g[i], e.lr, e.weight_decay, momentum, dampening, nesterov, e.first != 0);
      buf[i] = bi;
    } else {
      optim_math::sgd<T>(wi, nullptr, g[i], e.lr, e.weight_decay, momentum, dampening, nesterov, e.first != 0);
    }
    w[i] = wi;
  }
}

// Each block writes the sum of squares of its share (in double, fixed order) to partial[base + block].
template <typename T>
__global__ void sumsq_kernel(const OnePtrBatch b, double* partial, int64_t base) {
  __shared__ double red[kMtThreads];
  const MtPlace p = mt_place(b);
  const T* x = static_cast<const T*>(b.ptr[p.t][0]);
  double acc = 0;
  CUTTLE_MT_LOOP(i, p, b.numel[p.t]) {
    const double v = (double)x[i];
    acc += v * v;
  }
  red[threadIdx.x] = acc;
  __syncthreads();
  for (int s = kMtThreads / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[base + blockIdx.x] = red[0];
}

// One block folds n partials in a fixed order into out[0].
__global__ void sum_partials_kernel(const double* partial, int64_t n, double* out) {
  __shared__ double red[kMtThreads];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += partial[i];
  red[threadIdx.x] = acc;
  __syncthreads();
  for (int s = kMtThreads / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = red[0];
}

template <typename T>
__global__ void scale_kernel(const OnePtrBatch b, T s) {
  const MtPlace p = mt_place(b);
  T* x = static_cast<T*>(b.ptr[p.t][0]);
  CUTTLE_MT_LOOP(i, p, b.numel[p.t]) x[i] = (T)(x[i] * s);
}

template <typename T>
__global__ void ema_kernel(const TwoPtrBatch b, T decay, T one_minus_decay) {
  const MtPlace p = mt_place(b);
  T* avg = static_cast<T*>(b.ptr[p.t][0]);
  const T* now = static_cast<const T*>(b.ptr[p.t][1]);
  CUTTLE_MT_LOOP(i, p, b.numel[p.t]) avg[i] = optim_math::ema<T>(avg[i], now[i], decay, one_minus_decay);
}

// Indices of items whose dtype is `dt`, and their sizes.
template <typename Item, typename DtypeOf>
void select_dtype(const std::vector<Item>& items, DType dt, const DtypeOf& dtype_of, std::vector<size_t>& idx,
                  std::vector<int64_t>& numel, const std::function<int64_t(const Item&)>& size_of) {
  idx.clear();
  numel.clear();
  for (size_t k = 0; k < items.size(); ++k)
    if (dtype_of(items[k]) == dt) {
      idx.push_back(k);
      numel.push_back(size_of(items[k]));
    }
}

// Runs body(TypeTag<T>, indices, sizes) for the f32 items, then the f64 ones.
template <typename Item, typename DtypeOf, typename Body>
void per_float_dtype(const std::vector<Item>& items, const DtypeOf& dtype_of,
                     const std::function<int64_t(const Item&)>& size_of, const Body& body) {
  std::vector<size_t> idx;
  std::vector<int64_t> numel;
  for (DType dt : {DType::f32, DType::f64}) {
    select_dtype(items, dt, dtype_of, idx, numel, size_of);
    if (idx.empty()) continue;
    dispatch_float(dt, "multi-tensor update", [&](auto tag) { body(tag, idx, numel); });
  }
}

int device_of(const Tensor& t) { return t.device().index; }

}  // namespace

void adamw_update(std::vector<AdamWSlot>& slots, double beta1, double beta2, double eps) {
  if (slots.empty()) return;
  const int dev = device_of(slots.front().w);
  DeviceGuard guard(dev);
  cudaStream_t s = stream(dev);
  per_float_dtype<AdamWSlot>(
      slots, [](const AdamWSlot& x) { return x.w.dtype(); }, [](const AdamWSlot& x) { return x.w.numel(); },
      [&](auto tag, const std::vector<size_t>& idx, const std::vector<int64_t>& numel) {
        using T = typename decltype(tag)::type;
        mt_run<AdamWBatch>(
            numel,
            [&](AdamWBatch& b, int c, size_t k) {
              AdamWSlot& sl = slots[idx[k]];
              b.ptr[c][0] = sl.w.raw_data();
              b.ptr[c][1] = sl.grad.raw_data();
              b.ptr[c][2] = sl.exp_avg.raw_data();
              b.ptr[c][3] = sl.exp_avg_sq.raw_data();
              b.extra[c] = {sl.decay_factor, sl.step_size, sl.bc2_sqrt};
            },
            [&](const AdamWBatch& b, int blocks) {
              adamw_kernel<T><<<blocks, kMtThreads, 0, s>>>(b, beta1, beta2, eps);
              CUTTLE_CUDA_CHECK_LAUNCH("adamw_update");
            });
      });
}

void sgd_update(std::vector<SGDSlot>& slots, double momentum, double dampening, bool nesterov) {
  if (slots.empty()) return;
  const int dev = device_of(slots.front().w);
  DeviceGuard guard(dev);
  cudaStream_t s = stream(dev);
  per_float_dtype<SGDSlot>(
      slots, [](const SGDSlot& x) { return x.w.dtype(); }, [](const SGDSlot& x) { return x.w.numel(); },
      [&](auto tag, const std::vector<size_t>& idx, const std::vector<int64_t>& numel) {
        using T = typename decltype(tag)::type;
        mt_run<SGDBatch>(
            numel,
            [&](SGDBatch& b, int c, size_t k) {
              SGDSlot& sl = slots[idx[k]];
              b.ptr[c][0] = sl.w.raw_data();
              b.ptr[c][1] = sl.grad.raw_data();
              b.ptr[c][2] = sl.momentum_buf.defined() ? sl.momentum_buf.raw_data() : nullptr;
              b.extra[c] = {sl.lr, sl.weight_decay, sl.first ? 1 : 0};
            },
            [&](const SGDBatch& b, int blocks) {
              sgd_kernel<T><<<blocks, kMtThreads, 0, s>>>(b, momentum, dampening, nesterov);
              CUTTLE_CUDA_CHECK_LAUNCH("sgd_update");
            });
      });
}

Tensor sum_of_squares(const std::vector<Tensor>& tensors) {
  const Device device = tensors.front().device();
  DeviceGuard guard(device.index);
  cudaStream_t s = stream(device.index);
  std::vector<Tensor> xs;
  int64_t partials = 0;
  for (const Tensor& t : tensors) {
    xs.push_back(t.contiguous());
    partials += t.numel() > 0 ? mt_blocks_for(t.numel()) : 0;
  }
  Tensor out = Tensor::empty({}, DType::f64, device);
  // Every slot is written by its block; an all-empty list gets one zero slot and the same final pass.
  Tensor partial = partials > 0 ? Tensor::empty({partials}, DType::f64, device) : Tensor::zeros({1}, DType::f64, device);
  double* pp = partial.data<double>();
  int64_t base = 0;
  per_float_dtype<Tensor>(
      xs, [](const Tensor& x) { return x.dtype(); }, [](const Tensor& x) { return x.numel(); },
      [&](auto tag, const std::vector<size_t>& idx, const std::vector<int64_t>& numel) {
        using T = typename decltype(tag)::type;
        mt_run<OnePtrBatch>(
            numel, [&](OnePtrBatch& b, int c, size_t k) { b.ptr[c][0] = xs[idx[k]].raw_data(); },
            [&](const OnePtrBatch& b, int blocks) {
              sumsq_kernel<T><<<blocks, kMtThreads, 0, s>>>(b, pp, base);
              CUTTLE_CUDA_CHECK_LAUNCH("sum_of_squares");
              base += blocks;
            });
      });
  CUTTLE_CHECK(base == partials, "sum_of_squares: packed ", base, " blocks, expected ", partials);
  sum_partials_kernel<<<1, kMtThreads, 0, s>>>(pp, partial.numel(), out.data<double>());
  CUTTLE_CUDA_CHECK_LAUNCH("sum_of_squares (final)");
  return out;
}

void scale_(std::vector<Tensor>& tensors, double factor) {
  if (tensors.empty()) return;
  const int dev = device_of(tensors.front());
  DeviceGuard guard(dev);
  cudaStream_t s = stream(dev);
  per_float_dtype<Tensor>(
      tensors, [](const Tensor& x) { return x.dtype(); }, [](const Tensor& x) { return x.numel(); },
      [&](auto tag, const std::vector<size_t>& idx, const std::vector<int64_t>& numel) {
        using T = typename decltype(tag)::type;
        mt_run<OnePtrBatch>(
            numel, [&](OnePtrBatch& b, int c, size_t k) { b.ptr[c][0] = tensors[idx[k]].raw_data(); },
            [&](const OnePtrBatch& b, int blocks) {
              scale_kernel<T><<<blocks, kMtThreads, 0, s>>>(b, (T)factor);
              CUTTLE_CUDA_CHECK_LAUNCH("scale_");
            });
      });
}

void ema_update_(std::vector<Tensor>& avg, const std::vector<Tensor>& now, double decay) {
  if (avg.empty()) return;
  const int dev = device_of(avg.front());
  DeviceGuard guard(dev);
  cudaStream_t s = stream(dev);
  per_float_dtype<Tensor>(
      avg, [](const Tensor& x) { return x.dtype(); }, [](const Tensor& x) { return x.numel(); },
      [&](auto tag, const std::vector<size_t>& idx, const std::vector<int64_t>& numel) {
        using T = typename decltype(tag)::type;
        mt_run<TwoPtrBatch>(
            numel,
            [&](TwoPtrBatch& b, int c, size_t k) {
              b.ptr[c][0] = avg[idx[k]].raw_data();
              b.ptr[c][1] = now[idx[k]].raw_data();
            },
            [&](const TwoPtrBatch& b, int blocks) {
              ema_kernel<T><<<blocks, kMtThreads, 0, s>>>(b, (T)decay, (T)(1.0 - decay));
              CUTTLE_CUDA_CHECK_LAUNCH("ema_update_");
            });
      });
}

}  // namespace cuttle::engine::cuda
