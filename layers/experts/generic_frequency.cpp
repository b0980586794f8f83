#include "layers/experts/generic_frequency.h"

#include "autograd/functions/conv.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/pool.h"
#include "layers/experts/common.h"

namespace cuttle::layers {

using namespace experts_detail;

namespace {
std::shared_ptr<ModuleList> pointwise_branches(int64_t C, engine::Generator& gen) {
  const std::vector<int64_t> q = quarter_split(C);
  auto branches = std::make_shared<ModuleList>();
  for (int j = 0; j < 4; ++j) {
    auto b = std::make_shared<Sequential>();
    b->push_back(same_conv(C, q[j], 1, gen));
    push_norm_act(*b, q[j], NormAct::ln_gelu);
    branches->push_back(b);
  }
  return branches;
}

// The 3x3 kernel K repeated for each of the C channels: a depthwise weight [C, 1, 3, 3].
Tensor depthwise_filter(const double* K, int64_t C) {
  std::vector<float> v(size_t(C) * 9);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(K[i % 9]);  // small integers: exact in f32
  return Tensor::from_vector(v, {C, 1, 3, 3});
}
}  // namespace

Frequency::Frequency(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("Frequency", C, 4);
  branches = register_module("branches", pointwise_branches(C, gen));
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::ln_gelu));
}

Var Frequency::forward(const Var& x) {
  check_input("Frequency", x, C_);
  Var low = autograd::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*count_include_pad=*/true);
  Var high = x - low;
  Var mid = low - autograd::avg_pool2d(x, {5, 5}, {1, 1}, {2, 2}, /*count_include_pad=*/true);
  return fuse_branches(*branches, {low, mid, high, x}, *fusion) + x;
}

Edge::Edge(int64_t C, engine::Generator& gen) : C_(C) {
  check_channels("Edge", C, 4);
  register_buffer("sobel_x", depthwise_filter(kSobelX, C));
  register_buffer("sobel_y", depthwise_filter(kSobelY, C));
  register_buffer("laplacian", depthwise_filter(kLaplacian, C));
  branches = register_module("branches", pointwise_branches(C, gen));
  fusion = register_module("fusion", make_fusion(C, gen, NormAct::ln_gelu));
}

Var Edge::depthwise(const std::string& filter, const Var& x) const {
  engine::Conv2dParams p;
  p.pad_h = p.pad_w = 1;
  p.groups = C_;
  return autograd::conv2d(x, Var(buffer(filter)), Var(), p);  // a constant weight: no gradient
}

Var Edge::forward(const Var& x) {
  check_input("Edge", x, C_);
  Var sx = depthwise("sobel_x", x), sy = depthwise("sobel_y", x);
  Var sobel = autograd::sqrt(autograd::square(sx) + autograd::square(sy) + 1e-8);
  Var lap = autograd::abs(depthwise("laplacian", x));
  Var grad = autograd::sqrt(autograd::square(sobel) + autograd::square(lap) + 1e-8);
  return fuse_branches(*branches, {sobel, lap, grad, x}, *fusion) + x;
}

}  // namespace cuttle::layers
