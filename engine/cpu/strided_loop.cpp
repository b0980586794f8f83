#include "engine/cpu/strided_loop.h"

namespace cuttle::engine::cpu {

Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to) {
  Shape st(to.size(), 0);
  const size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    st[lead + i] = from[i] == 1 ? 0 : from_strides[i];
  return st;
}

}  // namespace cuttle::engine::cpu
