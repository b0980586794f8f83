// Tests of the progress output the apps share: plain lines (not a terminal) without carriage returns,
// throttled between the first and the last, and a fresh bar for each pass of a progress callback.
#include "models/training/progress_bar.h"
#include "tests/test_util.h"

#include <cstdio>
#include <string>

using namespace cuttle;

namespace {
// Everything `write` printed to a FILE that is not a terminal.
template <class F>
std::string captured(F&& write) {
  FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  write(f);
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}
}  // namespace

TEST_SUITE("models") {

TEST_CASE("progress callbacks print plain lines off a terminal: the first and the last of each pass") {
  const std::string out = captured([](FILE* f) {
    auto progress = models::progress_callback("infer", "images", f);
    for (int64_t done = 1; done <= 40; ++done) progress(done, 40);
    for (int64_t done = 1; done <= 3; ++done) progress(done, 3);  // a second set
  });
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find("\033[") == std::string::npos);
  // Per pass: the first update (nothing drawn yet) and the final line; the rest fall within 15 s.
  CHECK(count_lines(out) == 4);
  CHECK(out.find("infer 1/40 (  2%)") == 0);
  CHECK(out.find("infer 40/40 (100%)") != std::string::npos);
  CHECK(out.find("infer 1/3 ( 33%)") != std::string::npos);
  CHECK(out.find("infer 3/3 (100%)") != std::string::npos);
  CHECK(out.find("images\n") != std::string::npos);
}

TEST_CASE("progress durations read as h:mm:ss or m:ss") {
  CHECK(models::ProgressBar::format_duration(9) == "0:09");
  CHECK(models::ProgressBar::format_duration(247) == "4:07");
  CHECK(models::ProgressBar::format_duration(3909) == "1:05:09");
  CHECK(models::ProgressBar::format_duration(-3) == "0:00");
}

}
