// Defines the convolution log, a development tool: while a ConvLog lives on a thread, every
// convolution that thread runs (forward, input gradient, weight gradient) is recorded with its shapes
// and parameters, so a benchmark can time each of a step's convolutions alone (bench_moe --conv-times)
// and show which shapes a mode spends its device time on.
#pragma once
#include <string>
#include <vector>

#include "engine/ops/conv.h"

namespace cuttle::engine {

enum class ConvPass { forward, backward_input, backward_weight };
const char* conv_pass_name(ConvPass pass);

struct ConvCall {
  ConvPass pass;
  Shape x, w;  // the input and weight shapes
  Conv2dParams p;
  bool bias = false;  // forward with a bias
  DType dtype = DType::f32;
  // "x[5,128,44,44] w[32,128,7,7] pad 3 dil 1 groups 1" (and " bias"): calls with equal keys are the same work.
  std::string key() const;
};

class ConvLog {
 public:
  ConvLog();   // starts recording on this thread (logs nest: the inner one records meanwhile)
  ~ConvLog();  // stops; the enclosing log, if any, records again
  ConvLog(const ConvLog&) = delete;
  ConvLog& operator=(const ConvLog&) = delete;
  const std::vector<ConvCall>& calls() const { return calls_; }

 private:
  friend void note_conv(const ConvCall& call);
// Whether a log lives on this thread (autograd's backward then runs every node on it).
bool conv_log_active();
  std::vector<ConvCall> calls_;
  ConvLog* outer_;
};

// Called by the convolution ops; a thread-local check when no log is active.
void note_conv(const ConvCall& call);
// Whether a log lives on this thread (autograd's backward then runs every node on it).
bool conv_log_active();

}  // namespace cuttle::engine
