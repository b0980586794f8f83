// Defines grad mode: whether ops record the tape (per thread), GradModeGuard to set it for a scope, and
// NoGradGuard to switch it off.
#pragma once

namespace cuttle::autograd {

bool grad_enabled();
void set_grad_enabled(bool on);

class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(grad_enabled()) { set_grad_enabled(on); }
  ~GradModeGuard() { set_grad_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace cuttle::autograd
