// Implements CamoXpertConfig's JSON parsing: a field-by-field reader that tracks the keys it has
// consumed, so any key left over in an object is reported as unknown (with its path and the file).
#include "models/camoxpert_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <type_traits>

#include "engine/error.h"
#include "layers/experts/registry.h"

namespace cuttle::models {

using json = nlohmann::json;

const std::vector<std::string>& default_cod_experts() {
  static const std::vector<std::string> experts{"CODTexture",          "CODFrequency", "CODEdge",
                                                "ContrastEnhancement", "CODAttention", "CODHybrid"};
  return experts;
}

namespace {

template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};

// Why `v` is no value of type T, or empty when it is one. Stricter than json::get, which truncates
// 8.5 to an integer 8 and wraps -5 into an unsigned seed.
template <typename T>
std::string type_problem(const json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean() ? "" : "expected true or false, got " + v.dump();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number()) return "expected an integer, got " + v.dump();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e18) return "expected an integer, got " + v.dump();
      if (std::is_unsigned_v<T> && d < 0) return "expected a non-negative integer, got " + v.dump();
    } else if (std::is_unsigned_v<T> && v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0) {
      return "expected a non-negative integer, got " + v.dump();
    }
    return "";
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number() ? "" : "expected a number, got " + v.dump();
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return "expected an array, got " + v.dump();
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string p = type_problem<typename T::value_type>(v[i]);
      if (!p.empty()) return "element " + std::to_string(i) + ": " + p;
    }
    return "";
  } else {
    return "";  // strings: json::get is strict itself
  }
}

// Reads the fields of one JSON object; finish() throws for keys nobody asked for.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path, const std::string& source)
      : j_(j), path_(std::move(path)), source_(source) {
    CUTTLE_CHECK(j.is_object(), source_, ": '", path_.empty() ? "<root>" : path_, "' must be a JSON object");
  }
  template <typename T>
  void get(const std::string& key, T& out) {
    seen_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) return;  // keep the default
    const std::string problem = type_problem<T>(*it);
    CUTTLE_CHECK(problem.empty(), source_, ": field '", full(key), "' has the wrong type (", problem, ")");
    try {
      out = it->template get<T>();
    } catch (const json::exception& e) {
      CUTTLE_FAIL(source_, ": field '", full(key), "' has the wrong type (", e.what(), ")");
    }
  }
  // A nested object, or nullptr when absent.
  const json* object(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string full(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      CUTTLE_CHECK(seen_.count(it.key()), source_, ": unknown field '", full(it.key()), "'");
  }

 private:
  const json& j_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

}  // namespace

void CamoXpertConfig::validate(const std::string& source) const {
  static const std::set<std::string> backbones{"small_cnn", "pvt_v2_b0", "pvt_v2_b1", "pvt_v2_b2"};
  CUTTLE_CHECK(backbones.count(backbone.type), source, ": backbone.type '", backbone.type,
               "' is not one of small_cnn, pvt_v2_b0, pvt_v2_b1, pvt_v2_b2");
  CUTTLE_CHECK(backbone.dims.empty() || backbone.dims.size() == 4, source, ": backbone.dims must have 4 entries, got ",
               backbone.dims.size());
  for (int64_t d : backbone.dims) CUTTLE_CHECK(d > 0, source, ": backbone.dims must be positive, got ", d);
  CUTTLE_CHECK(!moe.experts.empty(), source, ": moe.experts is empty");
  const auto& known = layers::expert_types();
  for (const auto& e : moe.experts)
    CUTTLE_CHECK(std::find(known.begin(), known.end(), e) != known.end(), source, ": moe.experts: unknown expert '", e, "'");
  CUTTLE_CHECK(moe.top_k >= 1 && moe.top_k <= (int64_t)moe.experts.size(), source, ": moe.top_k = ", moe.top_k,
               " must lie in [1, ", moe.experts.size(), "]");
  static const std::set<std::string> modes{"batched", "per_sample", "dense_masked", "dense_soft"};
  CUTTLE_CHECK(modes.count(moe.mode), source, ": moe.mode '", moe.mode,
               "' is not one of batched, per_sample, dense_masked, dense_soft");
  CUTTLE_CHECK(moe.sr_ratios.size() == 4, source, ": moe.sr_ratios must have 4 entries, got ", moe.sr_ratios.size());
  for (int64_t r : moe.sr_ratios) CUTTLE_CHECK(r >= 1, source, ": moe.sr_ratios must be >= 1, got ", r);
  CUTTLE_CHECK(head_width >= 4 && head_width % 4 == 0, source, ": head_width = ", head_width,
               " must be a positive multiple of 4");
  // At 64 the deepest feature map is 2x2, the least BatchNorm's batch statistics need at batch 1.
  CUTTLE_CHECK(image_size >= 64 && image_size % 32 == 0, source, ": image_size = ", image_size,
               " must be a multiple of 32, at least 64");
}

void CamoXpertConfig::validate_training(const std::string& source) const {
  CUTTLE_CHECK(train.lr > 0 && train.batch > 0 && (train.steps > 0 || train.epochs > 0), source,
               ": train needs lr > 0, batch > 0 and steps or epochs > 0");
  CUTTLE_CHECK(train.steps >= 0 && train.epochs >= 0, source, ": train.steps and train.epochs must be >= 0");
  CUTTLE_CHECK(train.min_lr >= 0 && train.min_lr <= train.lr, source, ": train.min_lr = ", train.min_lr,
               " must lie in [0, train.lr = ", train.lr, "] (with a smaller lr, lower it too: --set train.min_lr=...)");
  CUTTLE_CHECK(train.beta1 >= 0 && train.beta1 < 1 && train.beta2 >= 0 && train.beta2 < 1, source,
               ": train.beta1 and train.beta2 must lie in [0, 1), got ", train.beta1, " and ", train.beta2);
  CUTTLE_CHECK(train.warmup_steps >= 0 && train.warmup_epochs >= 0 && train.freeze_backbone_epochs >= 0, source,
               ": train.warmup_steps, warmup_epochs and freeze_backbone_epochs must be >= 0");
  CUTTLE_CHECK(train.val_size >= 1, source, ": train.val_size must be at least 1, got ", train.val_size);
  for (double w : {loss.final_map, loss.refine, loss.p0, loss.fg, loss.search, loss.deep, loss.uncertainty, loss.moe_aux})
    CUTTLE_CHECK(w >= 0, source, ": the loss weights must be >= 0, got ", w);
  CUTTLE_CHECK(moe.aux_coef_min >= 0 && moe.aux_coef_max >= 0, source, ": moe.aux_coef_min and aux_coef_max must be >= 0");
  CUTTLE_CHECK(train.router_lr_scale >= 0 && train.clip >= 0 && train.weight_decay >= 0, source,
               ": train.router_lr_scale, clip and weight_decay must be >= 0");
  CUTTLE_CHECK(train.ema_decay > 0 && train.ema_decay < 1, source, ": train.ema_decay must lie in (0, 1)");
  CUTTLE_CHECK(train.synthetic_size >= train.batch, source, ": train.synthetic_size must be at least train.batch");
  CUTTLE_CHECK(train.synthetic_cue.size() == 2 && train.synthetic_cue[0] >= 0 &&
                   train.synthetic_cue[0] <= train.synthetic_cue[1] && train.synthetic_cue[1] <= 1,
               source, ": train.synthetic_cue must be [min, max] with 0 <= min <= max <= 1");
  CUTTLE_CHECK(train.precise_bn_batches >= 0, source, ": train.precise_bn_batches must be >= 0");
  CUTTLE_CHECK(train.accumulate >= 1, source, ": train.accumulate must be at least 1");
  CUTTLE_CHECK(train.low_res_size == 0 || (train.low_res_size >= 64 && train.low_res_size % 32 == 0), source,
               ": train.low_res_size = ", train.low_res_size, " must be 0 (off) or a multiple of 32, at least 64");
  CUTTLE_CHECK(train.low_res_steps >= 0, source, ": train.low_res_steps must be >= 0");
}

CamoXpertConfig parse_camoxpert_config(const json& j, const std::string& source) {
  CamoXpertConfig c;
  ObjectReader root(j, "", source);
  root.get("name", c.name);
  root.get("head_width", c.head_width);
  root.get("image_size", c.image_size);
  if (const json* b = root.object("backbone")) {
    ObjectReader r(*b, "backbone", source);
    r.get("type", c.backbone.type);
    r.get("dims", c.backbone.dims);
    r.get("weights", c.backbone.weights);
    r.finish();
  }
  if (const json* m = root.object("moe")) {
    ObjectReader r(*m, "moe", source);
    r.get("experts", c.moe.experts);
    r.get("top_k", c.moe.top_k);
    r.get("mode", c.moe.mode);
    r.get("balance", c.moe.balance);
    r.get("bias_in_weights", c.moe.bias_in_weights);
    r.get("aux_loss", c.moe.aux_loss);
    r.get("aux_coef_min", c.moe.aux_coef_min);
    r.get("aux_coef_max", c.moe.aux_coef_max);
    r.get("aux_warmup_start_epoch", c.moe.aux_warmup_start_epoch);
    r.get("aux_warmup_end_epoch", c.moe.aux_warmup_end_epoch);
    r.get("sr_ratios", c.moe.sr_ratios);
    r.finish();
  }
  if (const json* l = root.object("loss")) {
    ObjectReader r(*l, "loss", source);
    r.get("final", c.loss.final_map);
    r.get("refine", c.loss.refine);
    r.get("p0", c.loss.p0);
    r.get("fg", c.loss.fg);
    r.get("search", c.loss.search);
    r.get("deep", c.loss.deep);
    r.get("uncertainty", c.loss.uncertainty);
    r.get("moe_aux", c.loss.moe_aux);
    r.finish();
  }
  if (const json* t = root.object("train")) {
    ObjectReader r(*t, "train", source);
    r.get("lr", c.train.lr);
    r.get("min_lr", c.train.min_lr);
    r.get("weight_decay", c.train.weight_decay);
    r.get("beta1", c.train.beta1);
    r.get("beta2", c.train.beta2);
    r.get("warmup_steps", c.train.warmup_steps);
    r.get("warmup_epochs", c.train.warmup_epochs);
    r.get("steps", c.train.steps);
    r.get("epochs", c.train.epochs);
    r.get("batch", c.train.batch);
    r.get("router_lr_scale", c.train.router_lr_scale);
    r.get("clip", c.train.clip);
    r.get("ema", c.train.ema);
    r.get("ema_decay", c.train.ema_decay);
    r.get("freeze_backbone_epochs", c.train.freeze_backbone_epochs);
    r.get("val_size", c.train.val_size);
    r.get("synthetic_size", c.train.synthetic_size);
    r.get("synthetic_cue", c.train.synthetic_cue);
    r.get("accumulate", c.train.accumulate);
    r.get("precise_bn_batches", c.train.precise_bn_batches);
    r.get("low_res_size", c.train.low_res_size);
    r.get("low_res_steps", c.train.low_res_steps);
    r.get("tf32", c.train.tf32);
    r.get("seed", c.train.seed);
    r.finish();
  }
  root.finish();
  c.validate(source);
  return c;
}

CamoXpertConfig load_camoxpert_config(const std::string& path) {
  std::ifstream in(path);
  CUTTLE_CHECK(in.good(), "load_camoxpert_config: cannot open '", path, "'");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    CUTTLE_FAIL("load_camoxpert_config: '", path, "' is not valid JSON: ", e.what());
  }
  return parse_camoxpert_config(j, path);
}

json to_json(const CamoXpertConfig& c) {
  const auto& m = c.moe;
  const auto& l = c.loss;
  const auto& t = c.train;
  return json{
      {"name", c.name},
      {"head_width", c.head_width},
      {"image_size", c.image_size},
      {"backbone", {{"type", c.backbone.type}, {"dims", c.backbone.dims}, {"weights", c.backbone.weights}}},
      {"moe",
       {{"experts", m.experts}, {"top_k", m.top_k}, {"mode", m.mode}, {"balance", m.balance},
        {"bias_in_weights", m.bias_in_weights}, {"aux_loss", m.aux_loss}, {"aux_coef_min", m.aux_coef_min},
        {"aux_coef_max", m.aux_coef_max}, {"aux_warmup_start_epoch", m.aux_warmup_start_epoch},
        {"aux_warmup_end_epoch", m.aux_warmup_end_epoch}, {"sr_ratios", m.sr_ratios}}},
      {"loss",
       {{"final", l.final_map}, {"refine", l.refine}, {"p0", l.p0}, {"fg", l.fg}, {"search", l.search},
        {"deep", l.deep}, {"uncertainty", l.uncertainty}, {"moe_aux", l.moe_aux}}},
      {"train",
       {{"lr", t.lr}, {"min_lr", t.min_lr}, {"weight_decay", t.weight_decay}, {"beta1", t.beta1},
        {"beta2", t.beta2}, {"warmup_steps", t.warmup_steps}, {"warmup_epochs", t.warmup_epochs},
        {"steps", t.steps}, {"epochs", t.epochs}, {"batch", t.batch}, {"router_lr_scale", t.router_lr_scale},
        {"clip", t.clip}, {"ema", t.ema}, {"ema_decay", t.ema_decay},
        {"freeze_backbone_epochs", t.freeze_backbone_epochs}, {"val_size", t.val_size},
        {"synthetic_size", t.synthetic_size}, {"synthetic_cue", t.synthetic_cue}, {"accumulate", t.accumulate},
        {"precise_bn_batches", t.precise_bn_batches}, {"low_res_size", t.low_res_size},
        {"low_res_steps", t.low_res_steps}, {"tf32", t.tf32}, {"seed", t.seed}}},
  };
}

}  // namespace cuttle::models
