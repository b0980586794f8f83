// The mixture-of-experts combination (engine/ops/moe_combine.h): shape checks for both backends, then
// the CPU kernels, parallel over samples (forward) and over table entries (backward), each writing
// only its own elements.
#include <vector>

#include "engine/cpu/cpu_only.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/moe_combine.h"
#endif
#include "engine/ops/moe_combine.h"
#include "engine/parallel.h"

namespace cuttle::engine {

namespace {

// Elements per row (the product of `rest`), after checking what both backends rely on.
int64_t check_shapes(const char* op, const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table) {
  CUTTLE_CHECK(!ys.empty() && (int)ys.size() <= kMaxCombineInputs, op, ": ", ys.size(), " expert outputs (1..",
               kMaxCombineInputs, " allowed)");
  CUTTLE_CHECK(weights.defined() && weights.is_contiguous() && (weights.dtype() == DType::f32 || weights.dtype() == DType::f64),
               op, ": weights ", weights.defined() ? weights.str() : "undefined", " must be contiguous f32 or f64");
  CUTTLE_CHECK(table.defined() && table.dim() == 2 && table.size(1) == 4 && table.dtype() == DType::i64 &&
                   table.is_contiguous() && table.device() == weights.device(),
               op, ": table ", table.defined() ? table.str() : "undefined", " must be contiguous i64 [B*k, 4] on ",
               weights.device().str());
  Shape rest;
  int64_t rows = 0;
  for (size_t i = 0; i < ys.size(); ++i) {
    const Tensor& y = ys[i];
    CUTTLE_CHECK(y.defined() && y.dim() >= 1 && y.is_contiguous() && y.dtype() == weights.dtype() &&
                     y.device() == weights.device(),
                 op, ": expert output ", i, " (", y.defined() ? y.str() : "undefined", ") must be contiguous ",
                 dtype_name(weights.dtype()), " with a leading row axis on ", weights.device().str());
    const Shape r(y.shape().begin() + 1, y.shape().end());
    CUTTLE_CHECK(i == 0 || r == rest, op, ": expert output ", i, " is ", y.str(), ", expert output 0 ", ys[0].str());
    rest = r;
    rows += y.size(0);
  }
  CUTTLE_CHECK(table.size(0) == rows, op, ": the table has ", table.size(0), " entries for ", rows, " expert rows");
  return shape_numel(rest);
}

Shape out_shape(const std::vector<Tensor>& ys, int64_t B) {
  Shape s{B};
  s.insert(s.end(), ys[0].shape().begin() + 1, ys[0].shape().end());
  return s;
}

// The CPU checks the table's values: samples in order with k entries each, every row once, in range.
void check_table(const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table, int64_t B) {
  const int64_t n = table.size(0);
  CUTTLE_CHECK(B > 0 && n % B == 0, "moe_combine: ", n, " table entries do not split into ", B, " samples");
  const int64_t k = n / B;
  const int64_t* t = table.data<int64_t>();
  std::vector<std::vector<char>> seen(ys.size());
  for (size_t i = 0; i < ys.size(); ++i) seen[i].assign((size_t)ys[i].size(0), 0);
  std::vector<char> weight_seen((size_t)weights.numel(), 0);
  for (int64_t e = 0; e < n; ++e) {
    const int64_t b = t[4 * e], i = t[4 * e + 1], p = t[4 * e + 2], j = t[4 * e + 3];
    CUTTLE_CHECK(b == e / k, "moe_combine: table entry ", e, " names sample ", b, ", expected ", e / k,
                 " (k = ", k, " entries per sample, in order)");
    CUTTLE_CHECK(i >= 0 && i < (int64_t)ys.size() && p >= 0 && p < ys[(size_t)i].size(0), "moe_combine: table entry ",
                 e, " names row ", p, " of expert output ", i, ", which does not exist");
    CUTTLE_CHECK(j >= 0 && j < weights.numel(), "moe_combine: table entry ", e, " names weight ", j, " of ",
                 weights.numel());
    CUTTLE_CHECK(!seen[(size_t)i][(size_t)p], "moe_combine: row ", p, " of expert output ", i, " appears twice");
    seen[(size_t)i][(size_t)p] = 1;
    CUTTLE_CHECK(!weight_seen[(size_t)j], "moe_combine: weight ", j, " appears twice");
    weight_seen[(size_t)j] = 1;
  }
}

}  // namespace

Tensor moe_combine(const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table, int64_t B) {
  const int64_t inner = check_shapes("moe_combine", ys, weights, table);
  CUTTLE_ROUTE_CUDA("moe_combine", cuda::moe_combine(ys, weights, table, B, inner), weights, table);
  cpu::require_cpu("moe_combine", weights, table);
  check_table(ys, weights, table, B);
  Tensor out = Tensor::empty(out_shape(ys, B), weights.dtype());
  const int64_t k = table.size(0) / B;
  const int64_t* t = table.data<int64_t>();
  dispatch_float(weights.dtype(), "moe_combine", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* w = weights.data<T>();
    T* o = out.data<T>();
    parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        T* ob = o + b * inner;
        for (int64_t x = 0; x < inner; ++x) ob[x] = T(0);
        for (int64_t e = b * k; e < (b + 1) * k; ++e) {
          const T* y = ys[(size_t)t[4 * e + 1]].data<T>() + t[4 * e + 2] * inner;
          const T we = w[t[4 * e + 3]];
          for (int64_t x = 0; x < inner; ++x) ob[x] += y[x] * we;
        }
      }
    });
  });
  return out;
}

MoECombineGrads moe_combine_backward(const Tensor& grad_out, const std::vector<Tensor>& ys, const Tensor& weights,
                                     const Tensor& table, bool need_ys, bool need_weights) {
  const int64_t inner = check_shapes("moe_combine_backward", ys, weights, table);
  CUTTLE_CHECK(grad_out.defined() && grad_out.dim() >= 1 && grad_out.dtype() == weights.dtype() &&
                   grad_out.numel() == grad_out.size(0) * inner,
               "moe_combine_backward: output gradient ", grad_out.defined() ? grad_out.str() : "undefined",
               " does not match the expert outputs' rows");
  const int64_t B = grad_out.size(0);
  const Tensor g = grad_out.contiguous();
  CUTTLE_ROUTE_CUDA("moe_combine_backward", cuda::moe_combine_backward(g, ys, weights, table, inner, need_ys, need_weights),
                    g, weights, table);
  cpu::require_cpu("moe_combine_backward", g, weights, table);
  check_table(ys, weights, table, B);
  MoECombineGrads out;
  if (need_ys)
    for (const Tensor& y : ys) out.ys.push_back(Tensor::empty(y.shape(), y.dtype()));
  if (need_weights) out.weights = Tensor::zeros(weights.shape(), weights.dtype());
  const int64_t n = table.size(0);
  const int64_t* t = table.data<int64_t>();
  dispatch_float(weights.dtype(), "moe_combine_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* w = weights.data<T>();
    const T* go = g.data<T>();
    parallel_for(0, n, 1, [&](int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; ++e) {
        const int64_t b = t[4 * e], i = t[4 * e + 1], p = t[4 * e + 2], j = t[4 * e + 3];
        const T* gb = go + b * inner;
        if (need_ys) {
          T* gy = out.ys[(size_t)i].template data<T>() + p * inner;
          for (int64_t x = 0; x < inner; ++x) gy[x] = gb[x] * w[j];
        }
        if (need_weights) {
          const T* y = ys[(size_t)i].data<T>() + p * inner;
          double acc = 0;
          for (int64_t x = 0; x < inner; ++x) acc += (double)gb[x] * (double)y[x];
          out.weights.template data<T>()[j] = static_cast<T>(acc);
        }
      }
    });
  });
  return out;
}

}  // namespace cuttle::engine
