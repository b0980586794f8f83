// Implements CamoXpert (docs/CAMOXPERT.md, "Whole model", steps 1-7) with head width h: the spec's
// literals 64/32/16/65/66 are h, h/2, h/4, h+1, h+2. Sub-module names (the PyTorch twin must match):
//   search.branch.{0,1} ConvBNReLU 3x3 (C4->C4/2, C4/2->C4/2), search.branch.2 conv1x1 C4/2->1
//   search.ident.0 ConvBNReLU 3x3 C4->C4, search.ident.1 ConvBNReLU 1x1 C4->C4
//   decoder.{i}.{0,1} ConvBNReLU 3x3 (after the x2 upsample)
//   ra.bg.{0,1} ConvBNReLU 3x3 (h->h/2, h/2->h/4), ra.bg.2 conv1x1 h/4->1
//   ra.fuse.{0,1} ConvBNReLU 3x3 (h+1->h, h->h)
//   unc.shared ConvBNReLU 3x3 h->h; unc.{mean,scale}.0 ConvBNReLU 3x3 h->h/2, unc.{mean,scale}.1 conv1x1 h/2->1
//   refine.blocks.{i}.{0,1} ConvBNReLU 3x3 (h+2->h, h->h); refine.heads.{i} conv1x1 h->1
//   deep.{0,1,2} conv1x1 C3->1, C2->1, C1->1
// where every ConvBNReLU has children conv, bn.
#include "models/camoxpert.h"

#include "autograd/functions/elementwise.h"
#include "autograd/functions/interpolate.h"
#include "autograd/functions/join.h"
#include "autograd/functions/reduce.h"
#include "engine/error.h"
#include "layers/experts/registry.h"

namespace cuttle::models {

namespace ag = cuttle::autograd;
using layers::Conv2d;
using layers::Conv2dOptions;
using layers::Sequential;

namespace {

// A named grouping of sub-modules with no forward of its own (search, ra, unc, refine).
class Group : public layers::Module {
 public:
  std::string type_name() const override { return "Group"; }
};

std::shared_ptr<Conv2d> conv1x1(int64_t in, int64_t out, engine::Generator& gen) {
  return std::make_shared<Conv2d>(in, out, 1, gen, Conv2dOptions::same(1));
}

std::shared_ptr<layers::ConvBNReLU> cbr(int64_t in, int64_t out, int64_t k, engine::Generator& gen) {
  return std::make_shared<layers::ConvBNReLU>(in, out, k, gen, Conv2dOptions::same(k));
}

layers::MoEMode parse_mode(const std::string& m) {
  if (m == "batched") return layers::MoEMode::batched;
  if (m == "per_sample") return layers::MoEMode::per_sample;
  if (m == "dense_masked") return layers::MoEMode::dense_masked;
  if (m == "dense_soft") return layers::MoEMode::dense_soft;
  CUTTLE_FAIL("CamoXpert: unknown moe.mode '", m, "'");
}

Var upsample_to(const Var& x, int64_t h, int64_t w) {
  if (x.size(2) == h && x.size(3) == w) return x;
  return ag::resize_bilinear(x, h, w, false);
}

}  // namespace


CamoXpert::CamoXpert(const CamoXpertConfig& config, std::shared_ptr<Backbone> backbone, engine::Generator& gen)
    : config_(config), backbone_(std::move(backbone)) {
  config_.validate("CamoXpert config '" + config_.name + "'");
  CUTTLE_CHECK(backbone_, "CamoXpert: no backbone given");
  const std::array<int64_t, 4> C = backbone_->dims();
  if (!config_.backbone.dims.empty())
    for (int i = 0; i < 4; ++i)
      CUTTLE_CHECK(config_.backbone.dims[(size_t)i] == C[(size_t)i], "CamoXpert: config '", config_.name,
                   "' backbone.dims [", config_.backbone.dims[0], ",", config_.backbone.dims[1], ",",
                   config_.backbone.dims[2], ",", config_.backbone.dims[3], "] differ from the backbone's [", C[0],
                   ",", C[1], ",", C[2], ",", C[3], "]");
  const int64_t h = config_.head_width;
  register_module("backbone", backbone_);

  // 1. One SparseMoE per scale over the configured expert pool.
  layers::SparseMoEOptions mo;
  mo.top_k = config_.moe.top_k;
  mo.mode = parse_mode(config_.moe.mode);
  mo.balance = config_.moe.balance;
  mo.bias_in_weights = config_.moe.bias_in_weights;
  mo.aux_loss = config_.moe.aux_loss;
  mo.aux_coef_min = config_.moe.aux_coef_min;
  mo.aux_coef_max = config_.moe.aux_coef_max;
  mo.aux_warmup_start_epoch = config_.moe.aux_warmup_start_epoch;
  mo.aux_warmup_end_epoch = config_.moe.aux_warmup_end_epoch;
  auto moe_list = register_module("moe", std::make_shared<layers::ModuleList>());
  for (size_t s = 0; s < 4; ++s) {
    layers::ExpertOptions eo;
    eo.sr_ratio = config_.moe.sr_ratios[s];
    std::vector<std::shared_ptr<layers::UnaryModule>> experts;
    for (const auto& type : config_.moe.experts) experts.push_back(layers::make_expert(type, C[s], gen, eo));
    moes_.push_back(moe_list->push_back(std::make_shared<layers::SparseMoE>(C[s], experts, mo, gen)));
  }

  // 2. Search and identification on f4'.
  auto search = register_module("search", std::make_shared<Group>());
  const int64_t C4 = C[3], C4h = C[3] / 2;
  CUTTLE_CHECK(C4h >= 1, "CamoXpert: C4 = ", C4, " is too small for the search head");
  search_branch_ = search->register_module("branch", std::make_shared<Sequential>());
  search_branch_->push_back(cbr(C4, C4h, 3, gen));
  search_branch_->push_back(cbr(C4h, C4h, 3, gen));
  search_branch_->push_back(conv1x1(C4h, 1, gen));
  ident_ = search->register_module("ident", std::make_shared<Sequential>());
  ident_->push_back(cbr(C4, C4, 3, gen));
  ident_->push_back(cbr(C4, C4, 1, gen));

  // 3. Decoder: D(C4->C3), D(2C3->C2), D(2C2->C1), D(2C1->h).
  auto dec = register_module("decoder", std::make_shared<layers::ModuleList>());
  const std::array<std::pair<int64_t, int64_t>, 4> io{{{C[3], C[2]}, {2 * C[2], C[1]}, {2 * C[1], C[0]}, {2 * C[0], h}}};
  for (const auto& [in, out] : io) {
    auto d = std::make_shared<Sequential>();
    d->push_back(cbr(in, out, 3, gen));
    d->push_back(cbr(out, out, 3, gen));
    decoder_.push_back(dec->push_back(d));
  }

  // 4. Reverse attention.
  auto ra = register_module("ra", std::make_shared<Group>());
  ra_bg_ = ra->register_module("bg", std::make_shared<Sequential>());
  ra_bg_->push_back(cbr(h, h / 2, 3, gen));
  ra_bg_->push_back(cbr(h / 2, h / 4, 3, gen));
  ra_bg_->push_back(conv1x1(h / 4, 1, gen));
  ra_fuse_ = ra->register_module("fuse", std::make_shared<Sequential>());
  ra_fuse_->push_back(cbr(h + 1, h, 3, gen));
  ra_fuse_->push_back(cbr(h, h, 3, gen));

  // 5. Uncertainty head.
  auto unc = register_module("unc", std::make_shared<Group>());
  unc_shared_ = unc->register_module("shared", cbr(h, h, 3, gen));
  unc_mean_ = unc->register_module("mean", std::make_shared<Sequential>());
  unc_mean_->push_back(cbr(h, h / 2, 3, gen));
  unc_mean_->push_back(conv1x1(h / 2, 1, gen));
  unc_scale_ = unc->register_module("scale", std::make_shared<Sequential>());
  unc_scale_->push_back(cbr(h, h / 2, 3, gen));
  unc_scale_->push_back(conv1x1(h / 2, 1, gen));

  // 6. Boundary refinement, 2 passes.
  auto refine = register_module("refine", std::make_shared<Group>());
  auto blocks = refine->register_module("blocks", std::make_shared<layers::ModuleList>());
  auto heads = refine->register_module("heads", std::make_shared<layers::ModuleList>());
  for (int i = 0; i < 2; ++i) {
    auto b = std::make_shared<Sequential>();
    b->push_back(cbr(h + 2, h, 3, gen));
    b->push_back(cbr(h, h, 3, gen));
    refine_blocks_.push_back(blocks->push_back(b));
    refine_heads_.push_back(heads->push_back(conv1x1(h, 1, gen)));
  }

  // 7. Deep supervision on f3', f2', f1'.
  auto deep = register_module("deep", std::make_shared<layers::ModuleList>());
  for (int s : {2, 1, 0}) deep_.push_back(deep->push_back(conv1x1(C[(size_t)s], 1, gen)));
}

CamoXpertOutput CamoXpert::forward(const Var& x) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == 3, "CamoXpert: input must be [B,3,H,W], got ", engine::shape_str(x.shape()));
  const int64_t H = x.size(2), W = x.size(3);
  CUTTLE_CHECK(H % 32 == 0 && W % 32 == 0 && H > 0 && W > 0, "CamoXpert: H and W must be multiples of 32, got ", H,
               "x", W);
  CamoXpertOutput out;

  // 1. Backbone and the per-scale mixtures.
  std::vector<Var> f = backbone_->features(x);
  CUTTLE_CHECK(f.size() == 4, "CamoXpert: the backbone gave ", f.size(), " feature maps, expected 4");
  const std::array<int64_t, 4> C = backbone_->dims();
  for (size_t s = 0; s < 4; ++s) {
    const int64_t stride = int64_t(4) << s;
    CUTTLE_CHECK(f[s].dim() == 4 && f[s].size(1) == C[s] && f[s].size(2) == H / stride && f[s].size(3) == W / stride,
                 "CamoXpert: backbone map ", s, " has shape ", engine::shape_str(f[s].shape()), ", expected [B,", C[s], ",",
                 H / stride, ",", W / stride, "]");
    f[s] = (*moes_[s])(f[s]);
    if (moes_[s]->aux_loss().defined()) out.moe_aux.push_back(moes_[s]->aux_loss());
  }

  // 2. Search and identification.
  Var search = ag::sigmoid((*search_branch_)(f[3]));
  Var s = ag::mul((*ident_)(f[3]), search);

  // 3. Decoder: upsample x2, then two ConvBNReLU; skip connections from f3', f2', f1'.
  auto up2 = [](const Var& v) { return ag::resize_bilinear(v, v.size(2) * 2, v.size(3) * 2, false); };
  Var d = (*decoder_[0])(up2(s));
  for (size_t i = 1; i < 4; ++i) d = (*decoder_[i])(up2(ag::concat({d, f[3 - i]}, 1)));
  // d is x0 at H/2.

  // 4. Reverse attention.
  Var bg = ag::sigmoid((*ra_bg_)(d));
  Var fg = ag::rsub(1.0, bg);
  Var x0 = ag::mul((*ra_fuse_)(ag::concat({d, bg}, 1)), fg);
  x0 = upsample_to(x0, H, W);
  out.fg = upsample_to(fg, H, W);
  out.search = upsample_to(search, H, W);

  // 5. Uncertainty head.
  Var shared = (*unc_shared_)(x0);
  Var p0 = (*unc_mean_)(shared);
  out.u = ag::clamp(ag::softplus((*unc_scale_)(shared)), 1e-8, 10.0);

  // 6. Boundary refinement. un is normalised per image (FIX) and computed once.
  Var pred = ag::clamp(p0, -15.0, 15.0);
  out.p0 = pred;
  Var un = ag::div(out.u, ag::add(ag::amax(out.u, {2, 3}, true), 1e-8));
  for (size_t i = 0; i < 2; ++i) {
    Var z = (*refine_blocks_[i])(ag::concat({x0, pred, un}, 1));
    z = ag::mul(z, ag::add(un, 1.0));
    pred = ag::clamp((*refine_heads_[i])(z), -15.0, 15.0);
    if (i == 0) out.pred_1 = pred;
  }
  out.logits = pred;

  // 7. Deep supervision heads (clamped like every other logit map).
  for (size_t i = 0; i < 3; ++i) out.deep.push_back(ag::clamp((*deep_[i])(f[2 - i]), -15.0, 15.0));
  return out;
}

}  // namespace cuttle::models
