// concat, split, chunk and stack (engine/ops/join.h): views and strided copies, so they run on any
// device (a GPU's copies are the copy kernel's); a GPU joins contiguous inputs in one launch.
#include <numeric>

#include "engine/cpu/cpu_only.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/concat.h"
#endif
#include "engine/device_route.h"
#include "engine/ops/join.h"

namespace cuttle::engine {

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  CUTTLE_CHECK(!xs.empty(), "concat: no tensors to join");
  const Tensor& first = xs[0];
  CUTTLE_CHECK(first.defined() && first.dim() >= 1, "concat: tensors must be at least 1-D, got ",
               first.defined() ? first.str() : std::string("an undefined tensor"));
  const int a = normalize_axis(axis, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[a] = 0;
  for (const Tensor& t : xs) {
    CUTTLE_CHECK(t.defined(), "concat: an input tensor is undefined");
    require_same_device("concat", first.device(), t);
    cpu::require_same_dtype("concat", first, t);
    bool ok = t.dim() == first.dim();
    for (int d = 0; ok && d < first.dim(); ++d) ok = d == a || t.size(d) == first.size(d);
    CUTTLE_CHECK(ok, "concat: ", t.str(), " does not match ", first.str(), " except on axis ", a);
    out_shape[a] += t.size(a);
  }
  OpScope op_scope("concat");  // one op: on a GPU one launch (below), on the CPU its copies' business
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
#ifdef CUTTLE_WITH_CUDA
  if (out.device().is_cuda() && cuda::concat_fits(xs)) {
    cuda::concat_into(xs, a, out);
    return out;
  }
#endif
  int64_t at = 0;
  for (const Tensor& t : xs) {
    if (t.size(a) > 0) out.slice(a, at, at + t.size(a)).copy_(t);
    at += t.size(a);
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  CUTTLE_CHECK(x.defined() && x.dim() >= 1, "split: expected at least a 1-D tensor, got ", x.str());
  const int a = normalize_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    CUTTLE_CHECK(s >= 0, "split: negative size ", s);
    total += s;
  }
  CUTTLE_CHECK(total == x.size(a), "split: sizes sum to ", total, " but axis ", a, " of ", x.str(), " has size ",
               x.size(a));
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(x.slice(a, at, at + s));
    at += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t axis) {
  CUTTLE_CHECK(n >= 1, "chunk: the number of chunks must be positive, got ", n);
  CUTTLE_CHECK(x.defined() && x.dim() >= 1, "chunk: expected at least a 1-D tensor");
  const int64_t size = x.size(normalize_axis(axis, x.dim(), "chunk"));
  const int64_t step = std::max<int64_t>((size + n - 1) / n, 1);
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < size; at += step) sizes.push_back(std::min(step, size - at));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, axis);
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  CUTTLE_CHECK(!xs.empty(), "stack: no tensors to join");
  const int a = normalize_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (const Tensor& t : xs) {
    CUTTLE_CHECK(t.defined() && t.shape() == xs[0].shape(), "stack: ", t.defined() ? t.str() : "undefined",
                 " does not match ", xs[0].str());
    parts.push_back(t.unsqueeze(a));
  }
  return concat(parts, a);
}

}  // namespace cuttle::engine
