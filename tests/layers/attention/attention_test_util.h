// Defines helpers for the attention module tests: a UnaryModule view of SpatialReductionAttention at a
// fixed H x W (so module gradchecks apply), and random non-trivial parameters and BN statistics.
#pragma once
#include <memory>

#include "engine/ops/elementwise.h"
#include "layers/attention.h"
#include "layers/experts/attention_experts.h"
#include "tests/test_util.h"

namespace cuttle::test {

class SraAtSize : public layers::UnaryModule {
 public:
  SraAtSize(std::shared_ptr<layers::SpatialReductionAttention> a, int64_t H, int64_t W) : a_(a), H_(H), W_(W) {
    register_module("attn", a);
  }
  autograd::Var forward(const autograd::Var& x) override { return a_->forward(x, H_, W_); }

 private:
  std::shared_ptr<layers::SpatialReductionAttention> a_;
  int64_t H_, W_;
};

// Every parameter ~ N(0, 0.5^2) (norm scales around 1) and BN running statistics away from 0 / 1,
// so no identity or zero hides a layout mistake.
inline void randomize(layers::Module& m, uint64_t seed) {
  for (auto& [name, p] : m.named_parameters()) {
    const bool norm_scale = name.find("norm.weight") != std::string::npos;
    Tensor r = randn(p.shape(), seed++, p.dtype());
    p.mutable_data().copy_(norm_scale ? engine::add(engine::binary_scalar(engine::BinaryOp::mul, r, 0.2),
                                                    Tensor::ones(p.shape(), p.dtype()))
                                      : engine::binary_scalar(engine::BinaryOp::mul, r, 0.5));
  }
  for (auto& [name, b] : m.named_buffers()) {
    if (name.find("running_mean") != std::string::npos) b.copy_(randn(b.shape(), seed++, b.dtype()));
    if (name.find("running_var") != std::string::npos) b.copy_(rand_uniform(b.shape(), 0.5, 2.0, seed++, b.dtype()));
  }
}

inline std::vector<double> vec(const autograd::Var& v) { return v.data().to_vector<double>(); }

}  // namespace cuttle::test
