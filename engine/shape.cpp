#include "engine/shape.h"

#include <algorithm>
#include <sstream>

#include "engine/error.h"

namespace cuttle::engine {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = (int)s.size() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CUTTLE_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                 " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to) {
  Shape st(to.size(), 0);
  const size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) st[lead + i] = from[i] == 1 ? 0 : from_strides[i];
  return st;
}

int normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  CUTTLE_CHECK(a >= 0 && a < ndim, op, ": axis ", axis, " out of range for ", ndim, " dimensions");
  return (int)a;
}

std::vector<int> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* op) {
  std::vector<int> out;
  if (axes.empty()) {
    for (int i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  if (ndim == 0) {  // a 0-d tensor has no axes: 0 and -1 name the value itself, as in PyTorch
    for (int64_t a : axes) CUTTLE_CHECK(a == 0 || a == -1, op, ": axis ", a, " out of range for a 0-d tensor");
    return out;
  }
  for (int64_t a : axes) out.push_back(normalize_axis(a, ndim, op));
  std::sort(out.begin(), out.end());
  CUTTLE_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": repeated axis");
  return out;
}

}  // namespace cuttle::engine
