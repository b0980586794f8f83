// Defines SpatialReductionAttention, the self-attention of PVTv2 blocks (timm's pvt_v2 `Attention`):
// queries from every token, keys and values from a spatially reduced copy of the tokens.
#pragma once
#include <memory>

#include "engine/random.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/norm.h"

namespace cuttle::layers {

// Tokens x [B, N = H*W, C] (row-major pixels) -> [B, N, C], with d = C / heads, scale 1/sqrt(d):
//   q  = q(x) split as [B, N, heads, d] -> [B, heads, N, d]
//   r  = norm(sr(x as [B, C, H, W]) as tokens [B, M, C])  when sr_ratio > 1 (M = HW / sr^2), else x
//   kv = kv(r) split as [B, M, 2, heads, d] -> k, v [B, heads, M, d] (k first)
//   out = proj(softmax(scale q k^T) v, heads merged back to [B, N, C])
// State names (timm's): q.{weight,bias}, kv.{weight,bias}, sr.{weight,bias} and norm.{weight,bias}
// (only when sr_ratio > 1), proj.{weight,bias}. qkv_bias as in pvt_v2 b0-b5; no dropout (timm's
// defaults are 0); no linear-SR variant. H and W must be multiples of sr_ratio.
class SpatialReductionAttention : public Module {
 public:
  SpatialReductionAttention(int64_t dim, int64_t heads, int64_t sr_ratio, engine::Generator& gen,
                            bool qkv_bias = true);
  std::string type_name() const override { return "SpatialReductionAttention"; }
  Var forward(const Var& x, int64_t H, int64_t W);

  int64_t dim() const { return dim_; }
  int64_t heads() const { return heads_; }
  int64_t head_dim() const { return dim_ / heads_; }
  int64_t sr_ratio() const { return sr_ratio_; }

  std::shared_ptr<Linear> q, kv, proj;
  std::shared_ptr<Conv2d> sr;      // null when sr_ratio == 1
  std::shared_ptr<LayerNorm> norm;  // null when sr_ratio == 1

 private:
  int64_t dim_, heads_, sr_ratio_;
};

}  // namespace cuttle::layers
