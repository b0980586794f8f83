#include "engine/conv_log.h"

namespace cuttle::engine {

namespace {
thread_local ConvLog* t_log = nullptr;
}

const char* conv_pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::forward: return "forward";
    case ConvPass::backward_input: return "backward_input";
    case ConvPass::backward_weight: return "backward_weight";
  }
  return "?";
}

std::string ConvCall::key() const {
  std::string s = "x" + shape_str(x) + " w" + shape_str(w);
  auto pair = [](int64_t a, int64_t b) { return a == b ? std::to_string(a) : std::to_string(a) + "," + std::to_string(b); };
  if (p.stride_h != 1 || p.stride_w != 1) s += " stride " + pair(p.stride_h, p.stride_w);
  s += " pad " + pair(p.pad_h, p.pad_w);
  if (p.dil_h != 1 || p.dil_w != 1) s += " dil " + pair(p.dil_h, p.dil_w);
  if (p.groups != 1) s += " groups " + std::to_string(p.groups);
  if (bias) s += " bias";
  if (dtype != DType::f32) s += std::string(" ") + dtype_name(dtype);
  return s;
}

ConvLog::ConvLog() : outer_(t_log) { t_log = this; }
ConvLog::~ConvLog() { t_log = outer_; }

void note_conv(const ConvCall& call) {
  if (t_log) t_log->calls_.push_back(call);
}

bool conv_log_active() { return t_log != nullptr; }

}  // namespace cuttle::engine
