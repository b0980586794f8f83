#include "layers/experts/attention_experts.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions/attention.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/join.h"
#include "autograd/functions/pool.h"
#include "autograd/functions/views.h"
#include "engine/error.h"

namespace cuttle::layers {

namespace ag = cuttle::autograd;

namespace {

// [B, heads*d, H, W] (head j = channels [j*d, (j+1)*d)) -> [B, heads, H*W, d]: a view when possible.
Var split_heads(const Var& t, int64_t heads) {
  const int64_t B = t.size(0), C = t.size(1);
  return ag::permute(ag::reshape(t, {B, heads, C / heads, -1}), {0, 1, 3, 2});
}

// [B, heads, H*W, d] -> [B, heads*d, H, W], the inverse of split_heads.
Var merge_heads(const Var& o, int64_t H, int64_t W) {
  const int64_t B = o.size(0), C = o.size(1) * o.size(3);
  return ag::reshape(ag::permute(o, {0, 1, 3, 2}), {B, C, H, W});
}

void check_image(const char* who, const Var& x, int64_t C) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == C, who, "(C=", C, "): input ", x.data().str(), " is not [B, ", C,
               ", H, W]");
}

}  // namespace

// ---- CODAttention ----------------------------------------------------------------------------

int64_t CODAttentionExpert::heads_for(int64_t channels) {
  CUTTLE_CHECK(channels > 0, "CODAttention: channels must be positive, got ", channels);
  // Divisors are integers, so comparing with floor(C/32) is the same as with C/32.
  for (int64_t h = std::max<int64_t>(1, channels / 32); h > 1; --h)
    if (channels % h == 0) return h;
  return 1;
}

CODAttentionExpert::CODAttentionExpert(int64_t channels, int64_t sr_ratio, engine::Generator& gen)
    : channels_(channels), heads_(heads_for(channels)), sr_ratio_(sr_ratio) {
  CUTTLE_CHECK(sr_ratio >= 1, "CODAttention: sr_ratio must be >= 1, got ", sr_ratio);
  norm = register_module("norm", std::make_shared<BatchNorm2d>(channels));
  q = register_module("q", std::make_shared<Conv2d>(channels, channels, 1, gen));
  kv = register_module("kv", std::make_shared<Conv2d>(channels, 2 * channels, 1, gen));
  proj = register_module("proj", std::make_shared<Conv2d>(channels, channels, 1, gen));
}

Var CODAttentionExpert::forward(const Var& x) {
  check_image("CODAttention", x, channels_);
  const int64_t H = x.size(2), W = x.size(3), r = sr_ratio_;
  CUTTLE_CHECK(H % r == 0 && W % r == 0, "CODAttention(C=", channels_, "): H x W = ", H, "x", W,
               " must be multiples of sr_ratio ", r);
  Var n = norm->forward(x);
  Var reduced = r > 1 ? ag::avg_pool2d(n, {r, r}, {r, r}) : n;
  std::vector<Var> kvs = ag::split(kv->forward(reduced), {channels_, channels_}, 1);
  const double scale = 1.0 / std::sqrt(double(channels_ / heads_));
  Var o = ag::scaled_dot_product_attention(split_heads(q->forward(n), heads_), split_heads(kvs[0], heads_),
                                           split_heads(kvs[1], heads_), scale);
  return x + proj->forward(merge_heads(o, H, W));
}

// ---- generic linear Attention ----------------------------------------------------------------

LinearAttentionExpert::LinearAttentionExpert(int64_t channels, engine::Generator& gen, double dropout)
    : channels_(channels) {
  CUTTLE_CHECK(channels > 0 && channels % kHeads == 0, "Attention expert: channels ", channels,
               " must be a positive multiple of ", kHeads, " (heads)");
  qkv = register_module("qkv", std::make_shared<Conv2d>(channels, 3 * channels, 1, gen,
                                                        Conv2dOptions().with_bias(false)));
  proj = register_module("proj", std::make_shared<Conv2d>(channels, channels, 1, gen));
  drop_gen_ = engine::Generator(engine::random_bits(gen.seed(), gen.advance(1)));
  drop = register_module("drop", std::make_shared<Dropout>(dropout, &drop_gen_));
}

Var LinearAttentionExpert::forward(const Var& x) {
  check_image("Attention expert", x, channels_);
  const int64_t C = channels_;
  std::vector<Var> t = ag::split(qkv->forward(x), {C, C, C}, 1);
  Var o = ag::linear_attention(split_heads(t[0], kHeads), split_heads(t[1], kHeads), split_heads(t[2], kHeads));
  return x + drop->forward(proj->forward(merge_heads(o, x.size(2), x.size(3))));
}

// ---- factory ---------------------------------------------------------------------------------

std::shared_ptr<UnaryModule> make_attention_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                                   const ExpertOptions& opts) {
  if (type == "CODAttention") return std::make_shared<CODAttentionExpert>(C, opts.sr_ratio, gen);
  if (type == "Attention") return std::make_shared<LinearAttentionExpert>(C, gen, opts.dropout);
  CUTTLE_FAIL("make_attention_expert: unknown type '", type, "' (expected CODAttention or Attention)");
}

std::shared_ptr<UnaryModule> make_attention_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                                   int64_t sr_ratio) {
  ExpertOptions opts;
  opts.sr_ratio = sr_ratio;
  return make_attention_expert(type, C, gen, opts);
}

}  // namespace cuttle::layers
