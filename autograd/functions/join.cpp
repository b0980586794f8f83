#include "autograd/functions/join.h"

namespace cuttle::autograd {

namespace eng = cuttle::engine;

namespace {

std::vector<Tensor> datas(const std::vector<Var>& xs) {
  std::vector<Tensor> t;
  for (const Var& v : xs) t.push_back(v.data());
  return t;
}

// concat and stack: the output gradient cut back into the inputs' pieces along `axis`.
Var join(const char* name, const std::vector<Var>& xs, int64_t axis, Tensor out, bool new_axis) {
  std::vector<int64_t> sizes;
  const int a = eng::normalize_axis(axis, out.dim(), name);
  for (const Var& v : xs) sizes.push_back(new_axis ? 1 : v.size(a));
  return record(name, out, xs, [sizes, a, new_axis](const auto& g, const auto& needs) {
    std::vector<Tensor> parts = eng::split(g[0], sizes, a);
    std::vector<Tensor> grads(parts.size());
    for (size_t i = 0; i < parts.size(); ++i)
      if (needs[i]) grads[i] = new_axis ? parts[i].squeeze(a) : parts[i];
    return grads;
  });
}

// split and chunk: the pieces' gradients (zeros for unused pieces) joined back.
std::vector<Var> pieces(const char* name, const Var& x, std::vector<Tensor> outs, int64_t axis) {
  const int a = eng::normalize_axis(axis, x.dim(), name);
  return record(name, std::move(outs), {x}, [a](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::concat(g, a)};
  });
}

}  // namespace

Var concat(const std::vector<Var>& xs, int64_t axis) {
  return join("concat", xs, axis, eng::concat(datas(xs), axis), false);
}

Var stack(const std::vector<Var>& xs, int64_t axis) {
  return join("stack", xs, axis, eng::stack(datas(xs), axis), true);
}

std::vector<Var> split(const Var& x, const std::vector<int64_t>& sizes, int64_t axis) {
  return pieces("split", x, eng::split(x.data(), sizes, axis), axis);
}

std::vector<Var> chunk(const Var& x, int64_t n, int64_t axis) {
  return pieces("chunk", x, eng::chunk(x.data(), n, axis), axis);
}

Var pad(const Var& x, const std::vector<int64_t>& pads, engine::PadMode mode, double value) {
  return record("pad", eng::pad(x.data(), pads, mode, value), {x}, [pads, mode, s = x.shape()](const auto& g, const auto&) {
    return std::vector<Tensor>{eng::pad_backward(g[0], s, pads, mode)};
  });
}

}  // namespace cuttle::autograd
