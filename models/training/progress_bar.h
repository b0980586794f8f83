// Defines ProgressBar: one line per epoch on a terminal, redrawn in place with the step count, the
// caller's fields (loss, lr, images/s) and the ETA; plain lines at a fixed interval when the output is
// not a terminal (logs, CI), so files never fill with carriage returns.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace cuttle::models {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, FILE* out = stdout);
  // Progress is `done` of `total`; `fields` is shown after the bar ("loss 0.412  lr 1.0e-03 ...").
  void update(int64_t done, const std::string& fields);
  // Ends the line (terminal) or prints the final state (plain).
  void finish(const std::string& fields);
  static std::string format_duration(double seconds);  // "1:05:09", "4:07", "0:09"

 private:
  void draw(int64_t done, const std::string& fields, bool final_line);
  std::string label_;
  int64_t total_;
  FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// A (done, total) progress callback, as the apps hand to the library's long loops, drawing a ProgressBar
// labelled `label` on `out` (made on the first call, which brings the total) and finishing its line once
// done reaches the total. Calls must not overlap (the callers serialise them).
std::function<void(int64_t, int64_t)> progress_callback(std::string label, std::string unit = "images",
                                                        FILE* out = stderr);

}  // namespace cuttle::models
