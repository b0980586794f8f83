#include "models/training/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <memory>

namespace cuttle::models {

namespace {
constexpr int kBarWidth = 24;
constexpr double kTtyInterval = 0.1;    // seconds between redraws on a terminal
constexpr double kPlainInterval = 15.0; // seconds between lines otherwise
}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, FILE* out)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 1)), out_(out), tty_(isatty(fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_ - std::chrono::hours(1)) {}

std::string ProgressBar::format_duration(double seconds) {
  const int64_t s = (int64_t)std::max(0.0, seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

void ProgressBar::update(int64_t done, const std::string& fields) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? kTtyInterval : kPlainInterval) && done < total_) return;
  last_draw_ = now;
  draw(done, fields, false);
}

void ProgressBar::finish(const std::string& fields) { draw(total_, fields, true); }

void ProgressBar::draw(int64_t done, const std::string& fields, bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = std::min(1.0, (double)done / (double)total_);
  const double eta = done > 0 ? elapsed * (1 - frac) / frac : 0;
  const std::string timing = final_line ? format_duration(elapsed) : format_duration(elapsed) + "<" + format_duration(eta);
  if (tty_) {
    std::string bar((size_t)kBarWidth, ' ');
    const int filled = (int)(frac * kBarWidth);
    for (int i = 0; i < filled; ++i) bar[(size_t)i] = '=';
    if (filled < kBarWidth && !final_line) bar[(size_t)filled] = '>';
    std::fprintf(out_, "\r\033[K%s [%s] %lld/%lld %s  %s", label_.c_str(), bar.c_str(), (long long)done,
                 (long long)total_, timing.c_str(), fields.c_str());
    if (final_line) std::fputc('\n', out_);
  } else {
    std::fprintf(out_, "%s %lld/%lld (%3.0f%%) %s  %s\n", label_.c_str(), (long long)done, (long long)total_,
                 100 * frac, timing.c_str(), fields.c_str());
  }
  std::fflush(out_);
}

std::function<void(int64_t, int64_t)> progress_callback(std::string label, std::string unit, FILE* out) {
  auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
  return [bar, label = std::move(label), unit = std::move(unit), out](int64_t done, int64_t total) {
    if (!*bar) *bar = std::make_unique<ProgressBar>(label, total, out);
    if (done >= total) {
      (*bar)->finish(unit);
      bar->reset();  // a later pass over another set starts a new bar
    } else {
      (*bar)->update(done, unit);
    }
  };
}

}  // namespace cuttle::models
