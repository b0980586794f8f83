// CPU kernels of the linear-algebra op family (engine/ops/linalg.h): tiled Eigen GEMM.
#include <algorithm>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/strided_loop.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cublas.h"
#endif
#include "engine/ops/linalg.h"
#include "engine/parallel.h"

namespace cuttle::engine {

namespace {

// How a [..., R, C] operand is read: its matrix layout, and for each output batch index the element
// offset of its matrix (broadcast batch axes repeat an offset).
struct Operand {
  Tensor t;  // the tensor read (the input, or a contiguous copy when no layout fits)
  bool col_major = false;
  int64_t ld = 1;
  std::vector<int64_t> batch_offsets;
};

// Picks a unit-stride layout for the last two axes, copying only when there is none.
Operand make_operand(const Tensor& x, const Shape& out_batch) {
  Operand op;
  auto fits = [&](const Tensor& t) {
    const int64_t R = t.size(-2), C = t.size(-1), sr = t.strides()[t.dim() - 2], sc = t.strides()[t.dim() - 1];
    if ((C == 1 || sc == 1) && (R == 1 || sr >= C)) {
      op.col_major = false;
      op.ld = R == 1 ? std::max<int64_t>(C, 1) : sr;
      return true;
    }
    if ((R == 1 || sr == 1) && (C == 1 || sc >= R)) {
      op.col_major = true;
      op.ld = C == 1 ? std::max<int64_t>(R, 1) : sc;
      return true;
    }
    return false;
  };
  op.t = x;
  if (!fits(x)) {
    op.t = x.contiguous();
    fits(op.t);
  }
  const int nb = (int)op.t.dim() - 2;
  Shape bshape(op.t.shape().begin(), op.t.shape().begin() + nb);
  Shape bstrides(op.t.strides().begin(), op.t.strides().begin() + nb);
  const Shape st = cpu::broadcast_strides(bshape, bstrides, out_batch);
  const int64_t n = shape_numel(out_batch);
  op.batch_offsets.resize(n);
  std::vector<int64_t> idx(out_batch.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    op.batch_offsets[i] = off;
    for (int d = (int)out_batch.size() - 1; d >= 0; --d) {  // odometer
      off += st[d];
      if (++idx[d] < out_batch[d]) break;
      off -= st[d] * out_batch[d];
      idx[d] = 0;
    }
  }
  return op;
}

// out[b] += A[b] B[b] for every batch index b; out is contiguous [out_batch..., M, N].
template <typename T>
void batched_gemm(Tensor& out, const Operand& A, const Operand& B, int64_t M, int64_t N, int64_t K) {
  int64_t nb = (int64_t)A.batch_offsets.size();
  int64_t rows = M;
  // One shared right operand and left matrices stacked row after row: fold the batch into the rows.
  const bool b_shared = std::all_of(B.batch_offsets.begin(), B.batch_offsets.end(), [](int64_t o) { return o == 0; });
  bool a_stacked = !A.col_major && nb > 1;
  for (int64_t i = 0; a_stacked && i < nb; ++i) a_stacked = A.batch_offsets[i] == i * M * A.ld;
  if (b_shared && a_stacked) {
    rows = nb * M;
    nb = 1;
  }
  const T* pa = A.t.data<T>();
  const T* pb = B.t.data<T>();
  cpu::gemm_batched<T>(
      nb, rows, N, K, [&](int64_t b) { return cpu::MatRef<T>{pa + A.batch_offsets[b], A.ld, A.col_major}; },
      [&](int64_t b) { return cpu::MatRef<T>{pb + B.batch_offsets[b], B.ld, B.col_major}; }, out.data<T>(), M * N, N,
      /*accumulate=*/true);
}

#ifdef CUTTLE_WITH_CUDA
// linear as a composition of ops that route themselves (the GPU path): x w^T + b.
Tensor linear_on_device(const Tensor& x, const Tensor& w, const Tensor& bias) {
  Shape out_shape = x.shape();
  out_shape.back() = w.size(0);
  Tensor y = matmul(x.reshape({-1, w.size(1)}), w, false, true).reshape(out_shape);
  return bias.defined() ? add(y, bias) : y;
}
#endif

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  cpu::require_same_dtype("matmul", a, b);
  CUTTLE_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: operands must be at least 2-D, got ", a.str(), " and ",
               b.str(), "; unsqueeze a vector to a [1, K] row or a [K, 1] column");
  const Tensor A = trans_a ? a.transpose(-1, -2) : a;
  const Tensor B = trans_b ? b.transpose(-1, -2) : b;
  const int64_t M = A.size(-2), K = A.size(-1), N = B.size(-1);
  CUTTLE_CHECK(B.size(-2) == K, "matmul: inner sizes differ: ", a.str(), (trans_a ? " (transposed)" : ""), " x ",
               b.str(), (trans_b ? " (transposed)" : ""));
  const Shape a_batch(A.shape().begin(), A.shape().end() - 2), b_batch(B.shape().begin(), B.shape().end() - 2);
  Shape out_shape = broadcast_shapes(a_batch, b_batch, "matmul");
  const Shape out_batch = out_shape;
  CUTTLE_ROUTE_CUDA("matmul", cuda::gemm_batched(A, B, out_batch), a, b);
  cpu::require_cpu("matmul", a, b);
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::zeros(out_shape, a.dtype());
  if (out.numel() == 0 || K == 0) return out;
  const Operand oa = make_operand(A, out_batch), ob = make_operand(B, out_batch);
  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    batched_gemm<T>(out, oa, ob, M, N, K);
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  cpu::require_same_dtype("linear", x, w);
  CUTTLE_CHECK(x.dim() >= 1 && w.dim() == 2 && x.size(-1) == w.size(1), "linear: input ", x.str(),
               " does not match weight ", w.str(), " (expected [..., in] and [out, in])");
  CUTTLE_ROUTE_CUDA("linear", linear_on_device(x, w, bias), x, w, bias);
  cpu::require_cpu("linear", x, w);
  const int64_t in = w.size(1), out_f = w.size(0);
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor out;
  if (bias.defined()) {
    cpu::require_cpu("linear", bias);
    cpu::require_same_dtype("linear", x, bias);
    CUTTLE_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear: bias ", bias.str(), " does not match weight ",
                 w.str());
    out = Tensor::empty(out_shape, x.dtype());
    out.copy_(bias);  // broadcast over the rows
  } else {
    out = Tensor::zeros(out_shape, x.dtype());
  }
  if (out.numel() == 0 || in == 0) return out;
  const Tensor x2 = x.reshape({-1, in});
  const int64_t rows = x2.size(0);
  Tensor out2 = out.view({rows, out_f});
  const Operand oa = make_operand(x2, {}), ob = make_operand(w.transpose(0, 1), {});
  dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    batched_gemm<T>(out2, oa, ob, rows, out_f, in);
  });
  return out;
}

}  // namespace cuttle::engine
