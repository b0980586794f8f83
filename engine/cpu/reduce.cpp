// CPU kernels of the reduction op family (engine/ops/reduce.h). Each output element is reduced by
// one thread in a fixed order (pairwise-free, left to right in double for f32), so results are
// deterministic whatever the thread count.
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/cpu/cpu_only.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/reduce.h"
#endif
#include "engine/ops/reduce.h"

#include "engine/op_trace.h"
#include "engine/parallel.h"

namespace cuttle::engine {

namespace {

// x permuted so the kept axes come first and the reduced axes last, made contiguous: a [outer, inner]
// matrix whose rows are reduced.
struct RowView {
  Tensor rows;
  int64_t outer = 1, inner = 1;
  Shape out_shape;
};

RowView as_rows(const Tensor& x, const Axes& axes, bool keepdim, const char* op) {
  std::vector<int> red = normalize_axes(axes, x.dim(), op);
  std::vector<bool> is_red(x.dim(), false);
  for (int a : red) is_red[a] = true;
  std::vector<int64_t> order;
  RowView v;
  for (int i = 0; i < x.dim(); ++i)
    if (!is_red[i]) {
      order.push_back(i);
      v.outer *= x.size(i);
      v.out_shape.push_back(x.size(i));
    } else if (keepdim) {
      v.out_shape.push_back(1);
    }
  if (keepdim) {  // keep positions of kept axes
    v.out_shape.clear();
    for (int i = 0; i < x.dim(); ++i) v.out_shape.push_back(is_red[i] ? 1 : x.size(i));
  }
  for (int a : red) {
    order.push_back(a);
    v.inner *= x.size(a);
  }
  v.rows = x.dim() == 0 ? x.reshape({1}) : x.permute(order).contiguous();
  return v;
}

#ifdef CUTTLE_WITH_CUDA
// The GPU path of sum/mean/amax/amin: the same row layout, reduced by cuda::reduce_rows.
Tensor reduce_on_gpu(cuda::RowReduce kind, const Tensor& x, const Axes& axes, bool keepdim, const char* op) {
  RowView v = as_rows(x, axes, keepdim, op);
  return cuda::reduce_rows(kind, v.rows, v.outer, v.inner).reshape(v.out_shape);
}
#define CUTTLE_REDUCE_ON_GPU(kind, op) \
  OpScope op_scope(op);                \
  if (x.device().is_cuda()) return reduce_on_gpu(cuda::RowReduce::kind, x, axes, keepdim, op);
#else
#define CUTTLE_REDUCE_ON_GPU(kind, op) OpScope op_scope(op);
#endif

template <typename Acc, typename T, typename Fn>
Tensor reduce_rows(const Tensor& x, const Axes& axes, bool keepdim, const char* op, DType out_dtype,
                   const Fn& row_fn) {
  cpu::require_cpu(op, x);
  RowView v = as_rows(x, axes, keepdim, op);
  Tensor out = Tensor::empty(v.out_shape, out_dtype);
  const T* p = v.rows.template data<T>();
  Acc* o = out.template data<Acc>();
  const int64_t inner = v.inner;
  parallel_for(0, v.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) o[r] = row_fn(p + r * inner, inner);
               });
  return out;
}

// Accumulation type: double for floating inputs (stable sums of f32), int64 for integers.
template <typename T> using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

}  // namespace

Shape reduced_shape(const Shape& x, const Axes& axes, bool keepdim) {
  std::vector<int> red = normalize_axes(axes, (int64_t)x.size(), "reduced_shape");
  std::vector<bool> is_red(x.size(), false);
  for (int a : red) is_red[a] = true;
  Shape out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!is_red[i]) out.push_back(x[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Tensor sum(const Tensor& x, const Axes& axes, bool keepdim) {
  CUTTLE_REDUCE_ON_GPU(sum, "sum")
  return dispatch_numeric(x.dtype(), "sum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccOf<T>;
    const DType od = std::is_floating_point_v<T> ? x.dtype() : DType::i64;
    if constexpr (std::is_floating_point_v<T>) {
      return reduce_rows<T, T>(x, axes, keepdim, "sum", od, [](const T* r, int64_t n) {
        A s = 0;
        for (int64_t i = 0; i < n; ++i) s += r[i];
        return static_cast<T>(s);
      });
    } else {
      return reduce_rows<int64_t, T>(x, axes, keepdim, "sum", od, [](const T* r, int64_t n) {
        int64_t s = 0;
        for (int64_t i = 0; i < n; ++i) s += r[i];
        return s;
      });
    }
  });
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdim) {
  CUTTLE_REDUCE_ON_GPU(mean, "mean")
  return dispatch_float(x.dtype(), "mean", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return reduce_rows<T, T>(x, axes, keepdim, "mean", x.dtype(), [](const T* r, int64_t n) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += r[i];
      return static_cast<T>(n ? s / n : std::numeric_limits<double>::quiet_NaN());
    });
  });
}

Tensor amax(const Tensor& x, const Axes& axes, bool keepdim) {
  CUTTLE_REDUCE_ON_GPU(max, "amax")
  return dispatch_numeric(x.dtype(), "amax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    CUTTLE_CHECK(x.numel() > 0, "amax: empty tensor ", x.str());
    return reduce_rows<T, T>(x, axes, keepdim, "amax", x.dtype(), [](const T* r, int64_t n) {
      T m = r[0];
      for (int64_t i = 1; i < n; ++i)
        if (r[i] > m || r[i] != r[i]) m = r[i];  // NaN propagates
      return m;
    });
  });
}

Tensor amin(const Tensor& x, const Axes& axes, bool keepdim) {
  CUTTLE_REDUCE_ON_GPU(min, "amin")
  return dispatch_numeric(x.dtype(), "amin", [&](auto tag) {
    using T = typename decltype(tag)::type;
    CUTTLE_CHECK(x.numel() > 0, "amin: empty tensor ", x.str());
    return reduce_rows<T, T>(x, axes, keepdim, "amin", x.dtype(), [](const T* r, int64_t n) {
      T m = r[0];
      for (int64_t i = 1; i < n; ++i)
        if (r[i] < m || r[i] != r[i]) m = r[i];
      return m;
    });
  });
}

Tensor var(const Tensor& x, const Axes& axes, int64_t correction, bool keepdim) {
  OpScope op_scope("var");
#ifdef CUTTLE_WITH_CUDA
  if (x.defined() && x.device().is_cuda()) {
    RowView v = as_rows(x, axes, keepdim, "var");
    return cuda::var_rows(v.rows, v.outer, v.inner, correction).reshape(v.out_shape);
  }
#endif
  return dispatch_float(x.dtype(), "var", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return reduce_rows<T, T>(x, axes, keepdim, "var", x.dtype(), [correction](const T* r, int64_t n) {
      double m = 0;
      for (int64_t i = 0; i < n; ++i) m += r[i];
      m /= std::max<int64_t>(n, 1);
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += (r[i] - m) * (r[i] - m);
      // PyTorch divides by max(0, n - correction): inf (or NaN for 0/0) when nothing is left.
      return static_cast<T>(s / (double)std::max<int64_t>(0, n - correction));
    });
  });
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  const int a = normalize_axis(axis, x.dim(), "argmax");
  CUTTLE_CHECK(x.size(a) > 0, "argmax: axis ", a, " of ", x.str(), " is empty");
  OpScope op_scope("argmax");
#ifdef CUTTLE_WITH_CUDA
  if (x.device().is_cuda()) {
    RowView v = as_rows(x, {a}, keepdim, "argmax");
    return cuda::argmax_rows(v.rows, v.outer, v.inner).reshape(v.out_shape);
  }
#endif
  return dispatch_numeric(x.dtype(), "argmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return reduce_rows<int64_t, T>(x, {a}, keepdim, "argmax", DType::i64, [](const T* r, int64_t n) {
      int64_t best = 0;
      for (int64_t i = 1; i < n && r[best] == r[best]; ++i)  // a NaN is the maximum, as in PyTorch
        if (r[i] > r[best] || r[i] != r[i]) best = i;
      return best;
    });
  });
}

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  CUTTLE_CHECK(broadcast_shapes(shape, x.shape(), "sum_to_shape") == x.shape(), "sum_to_shape: ",
               shape_str(shape), " does not broadcast to ", x.str());
  const size_t lead = x.shape().size() - shape.size();
  Axes axes;
  for (size_t i = 0; i < x.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back((int64_t)i);
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, false).reshape(shape);
}

}  // namespace cuttle::engine
