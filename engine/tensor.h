// Defines Tensor: a view (shape, strides, offset, dtype) onto a ref-counted Storage, with the view
// operations (reshape, permute, slice, expand ...), factories and explicit copies.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace cuttle::engine {

class Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() is false

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  // A CPU tensor in page-locked memory (ordinary memory where no GPU is usable): fast host-to-GPU copies.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::f32);
  static Tensor arange(int64_t n, DType dtype = DType::i64);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);

  // ---- metadata ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return (int64_t)shape_.size(); }
  int64_t size(int64_t axis) const;
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  std::string str() const;  // "f32[2,3] cpu"

  // ---- element access (CPU) ----
  template <typename T> T* data();
  template <typename T> const T* data() const;
  void* raw_data() const;
  template <typename T> T item() const;  // the single element, converted to T
  double item() const { return item<double>(); }
  template <typename T> std::vector<T> to_vector() const;  // contiguous copy, converted to T

  // ---- views (share storage) ----
  Tensor view(const Shape& shape) const;      // needs a contiguous tensor; one size may be -1
  Tensor reshape(const Shape& shape) const;   // a view when possible, else a copy
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t axis, int64_t index) const;  // removes the axis
  Tensor unsqueeze(int64_t axis) const;
  Tensor squeeze(int64_t axis) const;
  Tensor expand(const Shape& shape) const;  // broadcast view, stride 0 on expanded axes
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;

  // ---- copies ----
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  void copy_(const Tensor& src);  // same shape (src may broadcast); converts dtype
  void fill_(double value);
  void zero_() { fill_(0.0); }

  Tensor zeros_like() const { return zeros(shape_, dtype_, device()); }
  Tensor empty_like() const { return empty(shape_, dtype_, device()); }
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }

 private:
  Tensor(std::shared_ptr<Storage> st, Shape shape, Shape strides, int64_t offset, DType dtype);
  Tensor make_view(Shape shape, Shape strides, int64_t offset) const;
  void check_dtype(DType want, const char* what) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
};

// ---- template definitions ----
template <typename T>
T* Tensor::data() {
  check_dtype(dtype_of<T>::value, "data<T>()");
  return static_cast<T*>(storage_->data()) + offset_;
}
template <typename T>
const T* Tensor::data() const {
  check_dtype(dtype_of<T>::value, "data<T>()");
  return static_cast<const T*>(storage_->data()) + offset_;
}

}  // namespace cuttle::engine
