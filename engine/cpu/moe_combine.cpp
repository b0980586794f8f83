// The mixture-of-experts combination (engine/ops/moe_combine.h): shape checks for both backends, then
// the CPU kernels, parallel over samples (forward) and over table entries (backward), each writing
// only its own elements.
#include <cstring>
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

// The table's layout: contiguous i64 [entries, 4] on `device`.
void check_table_layout(const char* op, const Tensor& table, Device device) {
  CUTTLE_CHECK(table.defined() && table.dim() == 2 && table.size(1) == 4 && table.dtype() == DType::i64 &&
                   table.is_contiguous() && table.device() == device,
               op, ": table ", table.defined() ? table.str() : "undefined", " must be contiguous i64 [B*k, 4] on ",
               device.str());
}

// 1..kMaxCombineInputs contiguous tensors `what` i of `dtype` on `device`, [n_i, rest...] with one
// `rest`, whose rows the table lists one entry each; returns the elements per row.
int64_t check_rows(const char* op, const char* what, const std::vector<Tensor>& ys, DType dtype, Device device,
                   const Tensor& table) {
  CUTTLE_CHECK(!ys.empty() && (int)ys.size() <= kMaxCombineInputs, op, ": ", ys.size(), " ", what, "s (1..",
               kMaxCombineInputs, " allowed)");
  Shape rest;
  int64_t rows = 0;
  for (size_t i = 0; i < ys.size(); ++i) {
    const Tensor& y = ys[i];
    CUTTLE_CHECK(y.defined() && y.dim() >= 1 && y.is_contiguous() && y.dtype() == dtype && y.device() == device, op,
                 ": ", what, " ", i, " (", y.defined() ? y.str() : "undefined", ") must be contiguous ",
                 dtype_name(dtype), " with a leading row axis on ", device.str());
    const Shape r(y.shape().begin() + 1, y.shape().end());
    CUTTLE_CHECK(i == 0 || r == rest, op, ": ", what, " ", i, " is ", y.str(), ", ", what, " 0 ", ys[0].str());
    rest = r;
    rows += y.size(0);
  }
  CUTTLE_CHECK(table.size(0) == rows, op, ": the table has ", table.size(0), " entries for ", rows, " expert rows");
  return shape_numel(rest);
}

// The combination's operands; returns the elements per row.
int64_t check_shapes(const char* op, const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table) {
  CUTTLE_CHECK(weights.defined() && weights.is_contiguous() && (weights.dtype() == DType::f32 || weights.dtype() == DType::f64),
               op, ": weights ", weights.defined() ? weights.str() : "undefined", " must be contiguous f32 or f64");
  check_table_layout(op, table, weights.device());
  return check_rows(op, "expert output", ys, weights.dtype(), weights.device(), table);
}

// out[b] = sum over b's k table entries, in order, of rows[i][p] (times w[j] unless w is null).
template <typename T>
void sum_rows(const std::vector<Tensor>& rows, const T* w, const Tensor& table, T* out, int64_t B, int64_t inner) {
  const int64_t k = table.size(0) / B;
  const int64_t* t = table.data<int64_t>();
  parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* ob = out + b * inner;
      for (int64_t x = 0; x < inner; ++x) ob[x] = T(0);
      for (int64_t e = b * k; e < (b + 1) * k; ++e) {
        const T* y = rows[(size_t)t[4 * e + 1]].data<T>() + t[4 * e + 2] * inner;
        if (w) {
          const T we = w[t[4 * e + 3]];
          for (int64_t x = 0; x < inner; ++x) ob[x] += y[x] * we;
        } else {
          for (int64_t x = 0; x < inner; ++x) ob[x] += y[x];
        }
      }
    }
  });
}

Shape out_shape(const std::vector<Tensor>& ys, int64_t B) {
  Shape s{B};
  s.insert(s.end(), ys[0].shape().begin() + 1, ys[0].shape().end());
  return s;
}

// The CPU checks the table's values: samples in order with k entries each, every row of every output
// (rows[i] of output i) once, every weight (num_weights; -1: none) at most once, all in range.
void check_table(const char* op, const std::vector<int64_t>& rows, int64_t num_weights, const Tensor& table, int64_t B) {
  const int64_t n = table.size(0);
  CUTTLE_CHECK(B > 0 && n % B == 0, op, ": ", n, " table entries do not split into ", B, " samples");
  const int64_t k = n / B;
  const int64_t* t = table.data<int64_t>();
  std::vector<std::vector<char>> seen(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) seen[i].assign((size_t)rows[i], 0);
  std::vector<char> weight_seen((size_t)std::max<int64_t>(num_weights, 0), 0);
  for (int64_t e = 0; e < n; ++e) {
    const int64_t b = t[4 * e], i = t[4 * e + 1], p = t[4 * e + 2], j = t[4 * e + 3];
    CUTTLE_CHECK(b == e / k, op, ": table entry ", e, " names sample ", b, ", expected ", e / k, " (k = ", k,
                 " entries per sample, in order)");
    CUTTLE_CHECK(i >= 0 && i < (int64_t)rows.size() && p >= 0 && p < rows[(size_t)i], op, ": table entry ", e,
                 " names row ", p, " of expert output ", i, ", which does not exist");
    CUTTLE_CHECK(!seen[(size_t)i][(size_t)p], op, ": row ", p, " of expert output ", i, " appears twice");
    seen[(size_t)i][(size_t)p] = 1;
    if (num_weights < 0) continue;
    CUTTLE_CHECK(j >= 0 && j < num_weights, op, ": table entry ", e, " names weight ", j, " of ", num_weights);
    CUTTLE_CHECK(!weight_seen[(size_t)j], op, ": weight ", j, " appears twice");
    weight_seen[(size_t)j] = 1;
  }
}

std::vector<int64_t> row_counts(const std::vector<Tensor>& ys) {
  std::vector<int64_t> rows;
  for (const Tensor& y : ys) rows.push_back(y.size(0));
  return rows;
}

}  // namespace

Tensor moe_combine(const std::vector<Tensor>& ys, const Tensor& weights, const Tensor& table, int64_t B) {
  const int64_t inner = check_shapes("moe_combine", ys, weights, table);
  CUTTLE_ROUTE_CUDA("moe_combine", cuda::moe_combine(ys, weights, table, B, inner), weights, table);
  cpu::require_cpu("moe_combine", weights, table);
  check_table("moe_combine", row_counts(ys), weights.numel(), table, B);
  Tensor out = Tensor::empty(out_shape(ys, B), weights.dtype());
  dispatch_float(weights.dtype(), "moe_combine", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sum_rows<T>(ys, weights.data<T>(), table, out.data<T>(), B, inner);
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
  check_table("moe_combine_backward", row_counts(ys), weights.numel(), table, B);
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

std::vector<Tensor> moe_dispatch(const Tensor& x, const Tensor& table, const std::vector<int64_t>& rows) {
  CUTTLE_CHECK(x.defined() && x.dim() >= 1, "moe_dispatch: x must be at least 1-D");
  CUTTLE_CHECK(!rows.empty() && (int)rows.size() <= kMaxCombineInputs, "moe_dispatch: ", rows.size(),
               " expert inputs (1..", kMaxCombineInputs, " allowed)");
  check_table_layout("moe_dispatch", table, x.device());
  int64_t total = 0;
  for (int64_t r : rows) {
    CUTTLE_CHECK(r >= 0, "moe_dispatch: negative row count ", r);
    total += r;
  }
  CUTTLE_CHECK(table.size(0) == total, "moe_dispatch: the table has ", table.size(0), " entries for ", total,
               " expert rows");
  const Tensor xc = x.contiguous();
  const int64_t B = x.size(0), inner = B > 0 ? xc.numel() / B : 0;
  std::vector<Tensor> out;
  for (int64_t r : rows) {
    Shape s = x.shape();
    s[0] = r;
    out.push_back(Tensor::empty(s, x.dtype(), x.device()));
  }
  CUTTLE_ROUTE_CUDA("moe_dispatch", cuda::moe_dispatch(xc, table, inner, std::move(out)), xc, table);
  cpu::require_cpu("moe_dispatch", xc, table);
  check_table("moe_dispatch", rows, -1, table, B);
  const int64_t* t = table.data<int64_t>();
  const size_t bytes = (size_t)inner * dtype_size(x.dtype());
  const char* src = static_cast<const char*>(xc.raw_data());
  parallel_for(0, table.size(0), 1, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e)
      std::memcpy(static_cast<char*>(out[(size_t)t[4 * e + 1]].raw_data()) + (size_t)t[4 * e + 2] * bytes,
                  src + (size_t)t[4 * e] * bytes, bytes);
  });
  return out;
}

Tensor moe_dispatch_backward(const std::vector<Tensor>& grads, const Tensor& table, int64_t B) {
  CUTTLE_CHECK(!grads.empty() && grads[0].defined() && (grads[0].dtype() == DType::f32 || grads[0].dtype() == DType::f64),
               "moe_dispatch_backward: the gradients must be f32 or f64");
  const Tensor& g0 = grads[0];
  check_table_layout("moe_dispatch_backward", table, g0.device());
  const int64_t inner = check_rows("moe_dispatch_backward", "gradient", grads, g0.dtype(), g0.device(), table);
  CUTTLE_ROUTE_CUDA("moe_dispatch_backward", cuda::moe_dispatch_backward(grads, table, B, inner), g0, table);
  cpu::require_cpu("moe_dispatch_backward", g0, table);
  check_table("moe_dispatch_backward", row_counts(grads), -1, table, B);
  Tensor out = Tensor::empty(out_shape(grads, B), g0.dtype());
  dispatch_float(g0.dtype(), "moe_dispatch_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sum_rows<T>(grads, nullptr, table, out.data<T>(), B, inner);
  });
  return out;
}

}  // namespace cuttle::engine

