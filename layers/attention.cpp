#include "layers/attention.h"

#include <cmath>

#include "autograd/functions/attention.h"
#include "autograd/functions/join.h"
#include "autograd/functions/views.h"
#include "engine/error.h"

namespace cuttle::layers {

namespace ag = cuttle::autograd;

SpatialReductionAttention::SpatialReductionAttention(int64_t dim, int64_t heads, int64_t sr_ratio,
                                                     engine::Generator& gen, bool qkv_bias)
    : dim_(dim), heads_(heads), sr_ratio_(sr_ratio) {
  CUTTLE_CHECK(dim > 0 && heads > 0 && dim % heads == 0, "SpatialReductionAttention: dim ", dim,
               " must be a positive multiple of heads ", heads);
  CUTTLE_CHECK(sr_ratio >= 1, "SpatialReductionAttention: sr_ratio must be >= 1, got ", sr_ratio);
  // Registration order = timm's state_dict order: q, kv, proj, sr, norm.
  q = register_module("q", std::make_shared<Linear>(dim, dim, gen, qkv_bias));
  kv = register_module("kv", std::make_shared<Linear>(dim, 2 * dim, gen, qkv_bias));
  proj = register_module("proj", std::make_shared<Linear>(dim, dim, gen));
  if (sr_ratio > 1) {
    sr = register_module("sr", std::make_shared<Conv2d>(dim, dim, sr_ratio, gen,
                                                        Conv2dOptions().with_stride(sr_ratio)));
    norm = register_module("norm", std::make_shared<LayerNorm>(dim));
  }
}

Var SpatialReductionAttention::forward(const Var& x, int64_t H, int64_t W) {
  CUTTLE_CHECK(x.dim() == 3 && x.size(2) == dim_ && x.size(1) == H * W, "SpatialReductionAttention(dim ", dim_,
               "): input ", x.data().str(), " is not [B, H*W = ", H, "*", W, ", ", dim_, "]");
  CUTTLE_CHECK(H % sr_ratio_ == 0 && W % sr_ratio_ == 0, "SpatialReductionAttention: H x W = ", H, "x", W,
               " must be multiples of sr_ratio ", sr_ratio_);
  const int64_t B = x.size(0), N = H * W, d = head_dim();
  Var qh = ag::permute(ag::reshape(q->forward(x), {B, N, heads_, d}), {0, 2, 1, 3});
  Var r = x;
  if (sr) {
    Var img = ag::reshape(ag::permute(x, {0, 2, 1}), {B, dim_, H, W});
    Var red = sr->forward(img);  // [B, C, H/s, W/s]
    r = norm->forward(ag::permute(ag::reshape(red, {B, dim_, -1}), {0, 2, 1}));
  }
  // timm's kv split [B, M, 2, heads, d]: channel t*C + h*d + i, i.e. k = the first C channels.
  const int64_t M = r.size(1);
  std::vector<Var> kvs = ag::split(kv->forward(r), {dim_, dim_}, -1);
  auto heads_of = [&](const Var& t) { return ag::permute(ag::reshape(t, {B, M, heads_, d}), {0, 2, 1, 3}); };
  Var o = ag::scaled_dot_product_attention(qh, heads_of(kvs[0]), heads_of(kvs[1]), 1.0 / std::sqrt(double(d)));
  return proj->forward(ag::reshape(ag::permute(o, {0, 2, 1, 3}), {B, N, dim_}));
}

}  // namespace cuttle::layers
