// Defines the two attention experts of the CamoXpert pool (docs/CAMOXPERT.md): CODAttention, softmax
// self-attention over the pixels with spatially reduced keys and values, and the generic "Attention"
// expert, elu+1 linear attention. Both map [B, C, H, W] -> [B, C, H, W] and add x at the end.
// make_attention_expert builds either by its table name for the expert registry (layers/experts/
// registry.cpp calls the ExpertOptions form).
#pragma once
#include <memory>
#include <string>

#include "engine/random.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/experts/expert_options.h"
#include "layers/module.h"
#include "layers/norm.h"

namespace cuttle::layers {

// n = norm(x); q = q(n) [C]; kv = kv(avgpool_r(n)) [2C] with kernel = stride = r (none when r == 1);
// k = kv channels [0, C), v = [C, 2C); heads = the largest divisor of C <= max(1, C/32), head j owns
// channels [j*d, (j+1)*d); out = x + proj(softmax(q k^T / sqrt(d)) v).
// State names: norm.{weight,bias,running_mean,running_var,num_batches_tracked} (BatchNorm2d),
// q.{weight,bias} (conv1x1 C->C), kv.{weight,bias} (conv1x1 C->2C), proj.{weight,bias} (conv1x1 C->C).
// H and W must be multiples of sr_ratio.
class CODAttentionExpert : public UnaryModule {
 public:
  CODAttentionExpert(int64_t channels, int64_t sr_ratio, engine::Generator& gen);
  std::string type_name() const override { return "CODAttention"; }
  Var forward(const Var& x) override;

  // The head-count rule above, for any C > 0.
  static int64_t heads_for(int64_t channels);
  int64_t heads() const { return heads_; }
  int64_t sr_ratio() const { return sr_ratio_; }

  std::shared_ptr<BatchNorm2d> norm;
  std::shared_ptr<Conv2d> q, kv, proj;

 private:
  int64_t channels_, heads_, sr_ratio_;
};

// qkv = qkv(x) (conv1x1 C->3C, no bias), q, k, v = its consecutive thirds; 8 heads of d = C/8,
// head j owns channels [j*d, (j+1)*d) of each third; per head and pixel phi(t) = elu(t)+1 normalised to
// sum 1 over the d channels; out = phi(q) (phi(k)^T v) over the H*W pixels;
// result = x + drop(proj(out)) with proj a conv1x1 C->C and drop a Dropout(p = 0.1 by default; the
// identity in eval). State names: qkv.weight, proj.{weight,bias}; `drop` holds no state. C % 8 == 0.
class LinearAttentionExpert : public UnaryModule {
 public:
  static constexpr int64_t kHeads = 8;

  // `gen` initialises the weights and seeds the expert's own dropout generator (one draw), so the
  // expert never points at a generator that may die before it; drop->set_generator() reroutes the
  // masks (e.g. to a generator a checkpoint saves).
  LinearAttentionExpert(int64_t channels, engine::Generator& gen, double dropout = 0.1);
  std::string type_name() const override { return "Attention"; }
  Var forward(const Var& x) override;

  std::shared_ptr<Conv2d> qkv, proj;
  std::shared_ptr<Dropout> drop;

 private:
  int64_t channels_;
  engine::Generator drop_gen_;
};

// type: "CODAttention" or "Attention"; C: channels of the scale. Throws cuttle::Error for any other
// type or an unsupported C. CODAttention reads opts.sr_ratio, Attention opts.dropout.
std::shared_ptr<UnaryModule> make_attention_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                                   const ExpertOptions& opts);
// The same with sr_ratio given alone (dropout 0.1).
std::shared_ptr<UnaryModule> make_attention_expert(const std::string& type, int64_t C, engine::Generator& gen,
                                                   int64_t sr_ratio);

}  // namespace cuttle::layers
