// Defines the per-element update rules of the fused training ops (AdamW, SGD, EMA) once, for both
// backends: the CPU loops and the CUDA kernels call these same functions, so the two compute the same
// formulas (host/device qualified under nvcc). Optimizer arithmetic is in double, as PyTorch's
// reference rule is written; EMA arithmetic is in the tensor's type, as two separate roundings.
#pragma once
#include <math.h>

#if defined(__CUDACC__)
#define CUTTLE_OPTIM_HD __host__ __device__
#else
#define CUTTLE_OPTIM_HD
#endif

namespace cuttle::engine::optim_math {

// AdamW (PyTorch's rule): decoupled decay first, then bias-corrected moments. decay_factor =
// 1 - lr * wd, step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), computed on the host.
template <typename T>
CUTTLE_OPTIM_HD inline void adamw(T& w, T& m, T& v, T g, double decay_factor, double step_size, double bc2_sqrt,
                                  double b1, double b2, double eps) {
  const double gd = (double)g;
  double wi = (double)w * decay_factor;
  const double mi = b1 * (double)m + (1 - b1) * gd;
  const double vi = b2 * (double)v + (1 - b2) * gd * gd;
  m = (T)mi;
  v = (T)vi;
  wi -= step_size * mi / (::sqrt(vi) / bc2_sqrt + eps);
  w = (T)wi;
}

// SGD with L2 decay added to the gradient; `buf` null means no momentum. On the first step PyTorch
// starts the buffer at the gradient, undamped.
template <typename T>
CUTTLE_OPTIM_HD inline void sgd(T& w, T* buf, T g, double lr, double wd, double momentum, double dampening,
                                bool nesterov, bool first) {
  double d = (double)g + wd * (double)w;
  if (buf) {
    const double m = first ? d : momentum * (double)*buf + (1 - dampening) * d;
    *buf = (T)m;
    d = nesterov ? d + momentum * m : m;
  }
  w = (T)((double)w - lr * d);
}

// EMA: avg = avg * decay, then avg += (1 - decay) * now, each rounded to T (the CPU's mul_scalar_
// followed by add_).
template <typename T>
CUTTLE_OPTIM_HD inline T ema(T avg, T now, T decay, T one_minus_decay) {
  const T scaled = (T)(avg * decay);
  return (T)(scaled + one_minus_decay * now);
}

}  // namespace cuttle::engine::optim_math
