// The fused training updates (engine/ops/optim.h): validation, the split of a list by device, and the
// CPU loops (multi-threaded per tensor; the formulas live in engine/optim_math.h, shared with CUDA).
#include <map>
#include <utility>

#include "engine/cpu/cpu_only.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/optim.h"
#include "engine/op_trace.h"
#include "engine/ops/reduce.h"
#include "engine/optim_math.h"
#include "engine/parallel.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/optim.h"
#endif

namespace cuttle::engine {

namespace {

// Orders devices CPU first, then GPUs by index.
int device_key(Device d) { return d.is_cpu() ? -1 : d.index; }

// Splits items by the device of key(item), keeping their order within each device.
template <typename Item, typename Key>
std::map<int, std::vector<Item>> by_device(std::vector<Item>& items, const Key& key) {
  std::map<int, std::vector<Item>> out;
  for (Item& it : items) out[device_key(key(it))].push_back(it);
  return out;
}

// The tensors of one update: defined, floating, contiguous, same shape/dtype/device as the weight.
void check_operand(const char* op, const Tensor& w, const Tensor& t, const char* what, bool need_contiguous) {
  CUTTLE_CHECK(t.defined(), op, ": ", what, " is undefined");
  CUTTLE_CHECK(t.shape() == w.shape() && t.dtype() == w.dtype() && t.device() == w.device(), op, ": ", what, " ",
               t.str(), " does not match ", w.str());
  CUTTLE_CHECK(!need_contiguous || t.is_contiguous(), op, ": ", what, " ", t.str(), " must be contiguous");
}

void check_weight(const char* op, const Tensor& w) {
  CUTTLE_CHECK(w.defined() && is_floating(w.dtype()) && w.is_contiguous(), op, ": parameter ",
               w.defined() ? w.str() : std::string("(undefined)"), " must be a contiguous floating tensor");
}

template <typename T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

void adamw_cpu(std::vector<AdamWSlot>& slots, double b1, double b2, double eps) {
  for (AdamWSlot& s : slots)
    dispatch_float(s.w.dtype(), "adamw_update", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T *w = ptr<T>(s.w), *m = ptr<T>(s.exp_avg), *v = ptr<T>(s.exp_avg_sq);
      const T* g = ptr<T>(s.grad);
      parallel_for(0, s.w.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          optim_math::adamw<T>(w[i], m[i], v[i], g[i], s.decay_factor, s.step_size, s.bc2_sqrt, b1, b2, eps);
      });
    });
}

void sgd_cpu(std::vector<SGDSlot>& slots, double momentum, double dampening, bool nesterov) {
  for (SGDSlot& s : slots)
    dispatch_float(s.w.dtype(), "sgd_update", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* w = ptr<T>(s.w);
      T* buf = s.momentum_buf.defined() ? ptr<T>(s.momentum_buf) : nullptr;
      const T* g = ptr<T>(s.grad);
      parallel_for(0, s.w.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          optim_math::sgd<T>(w[i], buf ? buf + i : nullptr, g[i], s.lr, s.weight_decay, momentum, dampening, nesterov,
                             s.first);
      });
    });
}

void ema_cpu(std::vector<std::pair<Tensor, Tensor>>& pairs, double decay) {
  for (auto& [avg, now] : pairs)
    dispatch_float(avg.dtype(), "ema_update_", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* a = ptr<T>(avg);
      const Tensor nc = now.contiguous();
      const T* n = ptr<T>(nc);
      const T d = (T)decay, od = (T)(1.0 - decay);
      parallel_for(0, avg.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) a[i] = optim_math::ema<T>(a[i], n[i], d, od);
      });
    });
}

}  // namespace

void adamw_update(std::vector<AdamWSlot>& slots, double beta1, double beta2, double eps) {
  OpScope op_scope("adamw_update");  // multi-tensor: a few launches on a GPU, whatever the count
  for (const AdamWSlot& s : slots) {
    check_weight("adamw_update", s.w);
    check_operand("adamw_update", s.w, s.grad, "gradient", true);
    check_operand("adamw_update", s.w, s.exp_avg, "exp_avg", true);
    check_operand("adamw_update", s.w, s.exp_avg_sq, "exp_avg_sq", true);
  }
  for (auto& [dev, part] : by_device(slots, [](const AdamWSlot& s) { return s.w.device(); })) {
    if (dev < 0) {
      adamw_cpu(part, beta1, beta2, eps);
      continue;
    }
#ifdef CUTTLE_WITH_CUDA
    cuda::adamw_update(part, beta1, beta2, eps);
#else
    cpu::require_cpu("adamw_update", part.front().w);
#endif
  }
}

void sgd_update(std::vector<SGDSlot>& slots, double momentum, double dampening, bool nesterov) {
  OpScope op_scope("sgd_update");  // multi-tensor: a few launches on a GPU, whatever the count
  for (const SGDSlot& s : slots) {
    check_weight("sgd_update", s.w);
    check_operand("sgd_update", s.w, s.grad, "gradient", true);
    if (s.momentum_buf.defined()) check_operand("sgd_update", s.w, s.momentum_buf, "momentum buffer", true);
  }
  for (auto& [dev, part] : by_device(slots, [](const SGDSlot& s) { return s.w.device(); })) {
    if (dev < 0) {
      sgd_cpu(part, momentum, dampening, nesterov);
      continue;
    }
#ifdef CUTTLE_WITH_CUDA
    cuda::sgd_update(part, momentum, dampening, nesterov);
#else
    cpu::require_cpu("sgd_update", part.front().w);
#endif
  }
}

Tensor sum_of_squares(const std::vector<Tensor>& tensors) {
  OpScope op_scope("sum_of_squares");  // multi-tensor: a few launches on a GPU, whatever the count
  if (tensors.empty()) return Tensor::scalar(0.0, DType::f64);
  const Device dev = tensors.front().device();
  for (const Tensor& t : tensors) {
    CUTTLE_CHECK(t.defined() && is_floating(t.dtype()), "sum_of_squares: tensors must be defined and floating");
    CUTTLE_CHECK(t.device() == dev, "sum_of_squares: tensors on different devices (", dev.str(), " and ",
                 t.device().str(), ")");
  }
#ifdef CUTTLE_WITH_CUDA
  if (dev.is_cuda()) return cuda::sum_of_squares(tensors);
#endif
  cpu::require_cpu("sum_of_squares", tensors.front());
  // Per tensor in double, then summed in list order.
  double sq = 0;
  for (const Tensor& t : tensors) {
    const Tensor d = t.to(DType::f64);
    sq += sum(mul(d, d)).item();
  }
  return Tensor::scalar(sq, DType::f64);
}

void scale_(std::vector<Tensor>& tensors, double s) {
  OpScope op_scope("scale_");  // multi-tensor: a few launches on a GPU, whatever the count
  for (const Tensor& t : tensors) check_weight("scale_", t);
  for (auto& [dev, part] : by_device(tensors, [](const Tensor& t) { return t.device(); })) {
    if (dev < 0) {
      for (Tensor& t : part) mul_scalar_(t, s);
      continue;
    }
#ifdef CUTTLE_WITH_CUDA
    cuda::scale_(part, s);
#else
    cpu::require_cpu("scale_", part.front());
#endif
  }
}

void ema_update_(std::vector<Tensor>& avg, const std::vector<Tensor>& now, double decay) {
  OpScope op_scope("ema_update_");  // multi-tensor: a few launches on a GPU, whatever the count
  CUTTLE_CHECK(avg.size() == now.size(), "ema_update_: ", avg.size(), " averages but ", now.size(), " current tensors");
  std::vector<std::pair<Tensor, Tensor>> pairs;
  for (size_t i = 0; i < avg.size(); ++i) {
    check_weight("ema_update_", avg[i]);
    check_operand("ema_update_", avg[i], now[i], "current tensor", false);
    pairs.emplace_back(avg[i], now[i]);
  }
  for (auto& [dev, part] : by_device(pairs, [](const std::pair<Tensor, Tensor>& p) { return p.first.device(); })) {
    if (dev < 0) {
      ema_cpu(part, decay);
      continue;
    }
#ifdef CUTTLE_WITH_CUDA
    std::vector<Tensor> a, n;
    for (auto& [x, y] : part) {
      a.push_back(x);
      n.push_back(y.contiguous());
    }
    cuda::ema_update_(a, n, decay);
#else
    cpu::require_cpu("ema_update_", part.front().first);
#endif
  }
}

}  // namespace cuttle::engine
