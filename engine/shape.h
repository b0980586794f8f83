// Defines Shape (dimension sizes) and the helpers for strides, broadcasting and axis handling.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cuttle::engine {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
std::string shape_str(const Shape& s);
// The broadcast of two shapes (numpy rules); throws naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Strides of a tensor with shape `from` (strides `from_strides`) broadcast to `to`: 0 on broadcast axes.
Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to);
// Wraps a possibly negative axis into [0, ndim); throws naming `op` when out of range.
int normalize_axis(int64_t axis, int64_t ndim, const char* op);
// Normalises a list of axes (empty = all axes), sorted and unique.
std::vector<int> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* op);

}  // namespace cuttle::engine
