// Defines cuttle::Error and the CUTTLE_CHECK macro: library code throws with context, never exits.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace cuttle {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void append_all(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append_all(os, rest...);
}
template <typename... Args>
[[noreturn]] void throw_error(const char* file, int line, const Args&... args) {
  std::ostringstream os;
  append_all(os, args...);
  os << " [" << file << ":" << line << "]";
  throw Error(os.str());
}
}  // namespace detail

}  // namespace cuttle

// CUTTLE_CHECK(cond, "op: message ", value, ...) throws cuttle::Error naming file:line.
#define CUTTLE_CHECK(cond, ...)                                          \
  do {                                                                   \
    if (!(cond)) ::cuttle::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define CUTTLE_FAIL(...) ::cuttle::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__)
