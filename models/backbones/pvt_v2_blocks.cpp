#include "models/backbones/pvt_v2_blocks.h"

#include "autograd/functions/elementwise.h"
#include "autograd/functions/views.h"
#include "engine/error.h"

namespace cuttle::models {

namespace ag = cuttle::autograd;
using layers::Conv2d;
using layers::Conv2dOptions;
using layers::LayerNorm;
using layers::Linear;

namespace {
// [B, C, H, W] -> [B, H*W, C] and back.
Var to_tokens(const Var& img) { return ag::transpose(ag::flatten(img, 2), 1, 2); }
Var to_image(const Var& tok, int64_t H, int64_t W) {
  return ag::reshape(ag::transpose(tok, 1, 2), {tok.size(0), tok.size(2), H, W});
}
}  // namespace

OverlapPatchEmbed::OverlapPatchEmbed(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                     engine::Generator& gen) {
  CUTTLE_CHECK(kernel > stride, "OverlapPatchEmbed: kernel ", kernel, " must exceed stride ", stride);
  proj = register_module("proj", std::make_shared<Conv2d>(
                                     in, out, kernel, gen, Conv2dOptions().with_stride(stride).with_padding(kernel / 2)));
  norm = register_module("norm", std::make_shared<LayerNorm>(out, 1e-5));
}

std::tuple<Var, int64_t, int64_t> OverlapPatchEmbed::forward(const Var& x) {
  Var y = proj->forward(x);
  return {norm->forward(to_tokens(y)), y.size(2), y.size(3)};
}

MixFFN::MixFFN(int64_t dim, int64_t hidden, engine::Generator& gen) : hidden_(hidden) {
  // Registration order = timm's state_dict order: fc1, dwconv, fc2.
  fc1 = register_module("fc1", std::make_shared<Linear>(dim, hidden, gen));
  dwconv = register_module("dwconv", std::make_shared<Conv2d>(
                                         hidden, hidden, 3, gen, Conv2dOptions().with_padding(1).with_groups(hidden)));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, dim, gen));
}

Var MixFFN::forward(const Var& x, int64_t H, int64_t W) {
  // GELU fused with the depthwise conv's bias on the image (one pass each way instead of two).
  Var h = dwconv->forward_activated(to_image(fc1->forward(x), H, W), engine::UnaryOp::gelu);
  return fc2->forward(to_tokens(h));
}

PvtBlock::PvtBlock(int64_t dim, int64_t heads, int64_t sr_ratio, double mlp_ratio, double eps, bool qkv_bias,
                   engine::Generator& gen) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim, eps));
  attn = register_module("attn", std::make_shared<layers::SpatialReductionAttention>(dim, heads, sr_ratio, gen, qkv_bias));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim, eps));
  // timm: hidden_features = int(dim * mlp_ratio), i.e. truncation.
  mlp = register_module("mlp", std::make_shared<MixFFN>(dim, static_cast<int64_t>(dim * mlp_ratio), gen));
}

Var PvtBlock::forward(const Var& x, int64_t H, int64_t W) {
  Var y = x + attn->forward(norm1->forward(x), H, W);
  return y + mlp->forward(norm2->forward(y), H, W);
}

PvtStage::PvtStage(int64_t dim_in, int64_t dim, int64_t depth, bool down, int64_t heads, int64_t sr_ratio,
                   double mlp_ratio, double eps, bool qkv_bias, engine::Generator& gen)
    : dim_(dim) {
  CUTTLE_CHECK(depth >= 1, "PvtStage: depth must be >= 1, got ", depth);
  CUTTLE_CHECK(down || dim_in == dim, "PvtStage: without downsample dim_in ", dim_in, " must equal dim ", dim);
  if (down) downsample = register_module("downsample", std::make_shared<OverlapPatchEmbed>(dim_in, dim, 3, 2, gen));
  blocks = register_module("blocks", std::make_shared<layers::ModuleList>());
  for (int64_t j = 0; j < depth; ++j)
    blocks->push_back(std::make_shared<PvtBlock>(dim, heads, sr_ratio, mlp_ratio, eps, qkv_bias, gen));
  norm = register_module("norm", std::make_shared<LayerNorm>(dim, eps));
}

Var PvtStage::forward(const Var& x, int64_t H, int64_t W) {
  Var t = x;
  if (downsample) std::tie(t, H, W) = downsample->forward(x);
  CUTTLE_CHECK(t.dim() == 3 && t.size(1) == H * W && t.size(2) == dim_, "PvtStage(dim ", dim_, "): tokens ",
               t.data().str(), " are not [B, ", H, "*", W, ", ", dim_, "]");
  for (size_t j = 0; j < blocks->size(); ++j) t = blocks->at<PvtBlock>(j)->forward(t, H, W);
  return to_image(norm->forward(t), H, W);
}

}  // namespace cuttle::models
