#include "layers/module.h"

#include <functional>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "engine/error.h"

namespace cuttle::layers {

namespace {

// "a, b, c and 7 more" for the first `limit` names.
std::string list_names(const std::vector<std::string>& names, size_t limit = 8) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < limit; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > limit) s += " and " + std::to_string(names.size() - limit) + " more";
  return s;
}

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

// ---- registration ----
void Module::check_new_name(const std::string& name) const {
  CUTTLE_CHECK(!name.empty(), type_name(), ": an entry needs a non-empty name");
  CUTTLE_CHECK(name.find('.') == std::string::npos, type_name(), ": name '", name,
               "' contains '.', which separates the levels of a state name");
  for (const auto& p : params_) CUTTLE_CHECK(p.first != name, type_name(), ": '", name, "' is already a parameter");
  for (const auto& b : buffers_) CUTTLE_CHECK(b.first != name, type_name(), ": '", name, "' is already a buffer");
  for (const auto& c : children_) CUTTLE_CHECK(c.first != name, type_name(), ": '", name, "' is already a child module");
}

Var Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name);
  CUTTLE_CHECK(value.defined(), type_name(), ": parameter '", name, "' is undefined");
  CUTTLE_CHECK(engine::is_floating(value.dtype()), type_name(), ": parameter '", name, "' must be floating, got ",
               value.str());
  Var v(std::move(value), requires_grad);
  params_.emplace_back(name, v);
  return v;
}

void Module::register_buffer(const std::string& name, Tensor value, bool host) {
  check_new_name(name);
  CUTTLE_CHECK(value.defined(), type_name(), ": buffer '", name, "' is undefined");
  CUTTLE_CHECK(!host || value.device().is_cpu(), type_name(), ": host buffer '", name, "' is on ", value.device().str());
  buffers_.emplace_back(name, std::move(value));
  host_buffer_.push_back(host);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name);
  CUTTLE_CHECK(child != nullptr, type_name(), ": child module '", name, "' is null");
  CUTTLE_CHECK(child.get() != this, type_name(), ": a module cannot be its own child ('", name, "')");
  children_.emplace_back(name, std::move(child));
}

Var& Module::param(const std::string& name) {
  for (auto& p : params_)
    if (p.first == name) return p.second;
  CUTTLE_FAIL(type_name(), ": no parameter named '", name, "'");
}
Tensor& Module::buffer(const std::string& name) {
  for (auto& b : buffers_)
    if (b.first == name) return b.second;
  CUTTLE_FAIL(type_name(), ": no buffer named '", name, "'");
}
const Tensor& Module::buffer(const std::string& name) const { return const_cast<Module*>(this)->buffer(name); }
std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (const auto& c : children_)
    if (c.first == name) return c.second;
  CUTTLE_FAIL(type_name(), ": no child module named '", name, "'");
}

// ---- recursive views ----
std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
    out.emplace_back(prefix, &m);
    for (const auto& c : m.children_) walk(*c.second, join_name(prefix, c.first));
  };
  walk(*this, "");
  return out;
}

std::vector<std::pair<std::string, Var>> Module::named_parameters(bool trainable_only) const {
  // A parameter shared by two modules is listed once, under its first name (as PyTorch).
  std::vector<std::pair<std::string, Var>> out;
  std::set<const autograd::VarImpl*> seen;
  for (const auto& [prefix, m] : named_modules())
    for (const auto& [name, v] : m->params_)
      if ((!trainable_only || v.requires_grad()) && seen.insert(v.impl().get()).second)
        out.emplace_back(join_name(prefix, name), v);
  return out;
}

std::vector<Var> Module::parameters(bool trainable_only) const {
  std::vector<Var> out;
  for (auto& np : named_parameters(trainable_only)) out.push_back(np.second);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [prefix, m] : named_modules())
    for (const auto& [name, t] : m->buffers_) out.emplace_back(join_name(prefix, name), t);
  return out;
}

engine::NamedTensors Module::state_dict() const {
  engine::NamedTensors out;
  for (const auto& [prefix, m] : named_modules()) {
    for (const auto& [name, v] : m->params_) out.emplace_back(join_name(prefix, name), v.data());
    for (const auto& [name, t] : m->buffers_) out.emplace_back(join_name(prefix, name), t);
  }
  return out;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const auto& np : named_parameters(trainable_only)) n += np.second.numel();
  return n;
}

// ---- state I/O ----
LoadReport Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict,
                                   const std::string& source) {
  // Destinations by name: parameter data and buffers, held by reference so the copy is in place.
  std::vector<std::pair<std::string, Tensor*>> dests;
  std::function<void(Module&, const std::string&)> walk = [&](Module& m, const std::string& prefix) {
    for (auto& [name, v] : m.params_) dests.emplace_back(join_name(prefix, name), &v.mutable_data());
    for (auto& [name, t] : m.buffers_) dests.emplace_back(join_name(prefix, name), &t);
    for (auto& c : m.children_) walk(*c.second, join_name(prefix, c.first));
  };
  walk(*this, "");

  LoadReport report;
  std::vector<std::string> misshaped;
  std::set<std::string> known;
  for (const auto& [name, dst] : dests) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      report.missing.push_back(name);
    } else if (it->second.shape() != dst->shape()) {
      misshaped.push_back(name + " (module " + engine::shape_str(dst->shape()) + ", " + source + " " +
                          engine::shape_str(it->second.shape()) + ")");
    }
  }
  for (const auto& kv : state)
    if (!known.count(kv.first)) report.unexpected.push_back(kv.first);

  bool fail = !misshaped.empty() || (strict && (!report.missing.empty() || !report.unexpected.empty()));
  if (fail) {
    std::ostringstream os;
    os << "loading " << type_name() << " from " << source << " failed:";
    if (!report.missing.empty() && strict)
      os << " " << report.missing.size() << " missing [" << list_names(report.missing) << "];";
    if (!report.unexpected.empty() && strict)
      os << " " << report.unexpected.size() << " unexpected [" << list_names(report.unexpected) << "];";
    if (!misshaped.empty()) os << " " << misshaped.size() << " mis-shaped [" << list_names(misshaped) << "];";
    CUTTLE_FAIL(os.str());
  }
  autograd::NoGradGuard no_grad;
  for (const auto& [name, dst] : dests) {
    auto it = state.find(name);
    if (it != state.end()) dst->copy_(it->second);  // converts dtype and device in place
  }
  return report;
}

void Module::save_state(const std::string& path, const std::map<std::string, std::string>& metadata,
                        const engine::SafetensorsSaveOptions& opts) const {
  engine::save_safetensors(path, state_dict(), metadata, opts);
}

LoadReport Module::load_state(const std::string& path, bool strict) {
  engine::SafetensorsContents c = engine::load_safetensors(path);
  return load_state_dict(c.tensors, strict, "'" + path + "'");
}

// ---- modes ----
void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::set_requires_grad(bool on) {
  for (auto& p : params_) p.second.set_requires_grad(on);
  for (auto& c : children_) c.second->set_requires_grad(on);
}

void Module::zero_grad() {
  for (auto& p : params_) p.second.zero_grad();
  for (auto& c : children_) c.second->zero_grad();
}

// ---- moves ----
void Module::to(engine::Device device) {
  for (auto& p : params_) {
    if (p.second.device() == device) continue;
    p.second.zero_grad();
    p.second.mutable_data() = p.second.data().to(device);
  }
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (!host_buffer_[i] && buffers_[i].second.device() != device) buffers_[i].second = buffers_[i].second.to(device);
  for (auto& c : children_) c.second->to(device);
}

void Module::to(DType dtype) {
  CUTTLE_CHECK(engine::is_floating(dtype), type_name(), ".to: target dtype ", engine::dtype_name(dtype),
               " is not floating");
  for (auto& p : params_) {
    if (p.second.dtype() == dtype) continue;
    p.second.zero_grad();
    p.second.mutable_data() = p.second.data().to(dtype);
  }
  for (auto& b : buffers_)
    if (engine::is_floating(b.second.dtype()) && b.second.dtype() != dtype) b.second = b.second.to(dtype);
  for (auto& c : children_) c.second->to(dtype);
}

// ---- summary ----
void Module::summary_into(std::string& out, const std::string& name, int depth) const {
  out += std::string(2 * depth, ' ') + (name.empty() ? "" : name + ": ") + type_name() + " (" +
         std::to_string(num_parameters()) + " params)\n";
  for (const auto& c : children_) c.second->summary_into(out, c.first, depth + 1);
}

std::string Module::summary() const {
  std::string out;
  summary_into(out, "", 0);
  return out;
}

}  // namespace cuttle::layers
