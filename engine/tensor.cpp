#include "engine/tensor.h"

#include "engine/op_trace.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <sstream>

#include "engine/cpu/strided_loop.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/copy.h"
#endif

namespace cuttle::engine {

Tensor::Tensor(std::shared_ptr<Storage> st, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(st)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      dtype_(dtype) {}

Tensor Tensor::make_view(Shape shape, Shape strides, int64_t offset) const {
  return Tensor(storage_, std::move(shape), std::move(strides), offset, dtype_);
}

void Tensor::check_dtype(DType want, const char* what) const {
  CUTTLE_CHECK(defined(), what, ": tensor is undefined");
  CUTTLE_CHECK(dtype_ == want, what, ": tensor has dtype ", dtype_name(dtype_), ", accessed as ",
               dtype_name(want));
}

// ---- factories ----
Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) CUTTLE_CHECK(d >= 0, "Tensor::empty: negative size in ", shape_str(shape));
  auto st = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
  return Tensor(std::move(st), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  for (int64_t d : shape) CUTTLE_CHECK(d >= 0, "Tensor::empty_pinned: negative size in ", shape_str(shape));
  auto st = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), Device::cpu(), /*pinned=*/true);
  return Tensor(std::move(st), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cpu()) std::memset(t.raw_data(), 0, t.numel() * dtype_size(dtype));
  else t.fill_(0.0);
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  dispatch_numeric(dtype, "arange", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(i);
  });
  return t;
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  CUTTLE_CHECK((int64_t)values.size() == shape_numel(shape), "Tensor::from_vector: ", values.size(),
               " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>::value);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

// ---- metadata ----
int64_t Tensor::size(int64_t axis) const { return shape_[normalize_axis(axis, dim(), "Tensor::size")]; }

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (int i = (int)shape_.size() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expect) return false;
    expect *= shape_[i];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  std::ostringstream os;
  os << dtype_name(dtype_) << shape_str(shape_) << " " << device().str();
  return os.str();
}

void* Tensor::raw_data() const {
  CUTTLE_CHECK(defined(), "raw_data: tensor is undefined");
  return static_cast<char*>(storage_->data()) + offset_ * dtype_size(dtype_);
}

template <typename T>
T Tensor::item() const {
  CUTTLE_CHECK(numel() == 1, "item: tensor ", str(), " has ", numel(), " elements, expected 1");
  // A GPU scalar is read back (a synchronising copy, as in PyTorch): losses and norms are logged per step.
  if (!device().is_cpu()) return to(Device::cpu()).item<T>();
  return dispatch_all(dtype_, [&](auto tag) {
    using S = typename decltype(tag)::type;
    return static_cast<T>(*static_cast<const S*>(raw_data()));
  });
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  CUTTLE_CHECK(device().is_cpu(), "to_vector: tensor ", str(), " is on a GPU; copy it with to(Device::cpu()) first");
  Tensor c = to(dtype_of<T>::value).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

// ---- views ----
static Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      CUTTLE_CHECK(infer < 0, op, ": only one size may be -1 in ", shape_str(shape));
      infer = (int)i;
    } else {
      CUTTLE_CHECK(out[i] >= 0, op, ": invalid size in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    CUTTLE_CHECK(known > 0 && numel % known == 0, op, ": cannot infer -1 in ", shape_str(shape), " for ",
                 numel, " elements");
    out[infer] = numel / known;
  }
  CUTTLE_CHECK(shape_numel(out) == numel, op, ": shape ", shape_str(shape), " does not hold ", numel,
               " elements");
  return out;
}

Tensor Tensor::view(const Shape& shape) const {
  CUTTLE_CHECK(is_contiguous(), "view: tensor ", str(), " is not contiguous; use reshape()");
  Shape s = infer_shape(shape, numel(), "view");
  return make_view(s, contiguous_strides(s), offset_);
}

Tensor Tensor::reshape(const Shape& shape) const { return is_contiguous() ? view(shape) : contiguous().view(shape); }

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  CUTTLE_CHECK((int64_t)order.size() == dim(), "permute: ", order.size(), " axes given for ", str());
  Shape s(dim()), st(dim());
  std::vector<bool> seen(dim(), false);
  for (int64_t i = 0; i < dim(); ++i) {
    int a = normalize_axis(order[i], dim(), "permute");
    CUTTLE_CHECK(!seen[a], "permute: axis ", a, " repeated");
    seen[a] = true;
    s[i] = shape_[a];
    st[i] = strides_[a];
  }
  return make_view(s, st, offset_);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> order(dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_axis(a, dim(), "transpose")], order[normalize_axis(b, dim(), "transpose")]);
  return permute(order);
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  int a = normalize_axis(axis, dim(), "slice");
  CUTTLE_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape_[a];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape_, st = strides_;
  s[a] = (end - start + step - 1) / step;
  st[a] = strides_[a] * step;
  return make_view(s, st, offset_ + start * strides_[a]);
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  int a = normalize_axis(axis, dim(), "select");
  if (index < 0) index += shape_[a];
  CUTTLE_CHECK(index >= 0 && index < shape_[a], "select: index ", index, " out of range for axis ", a,
               " of ", str());
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + a);
  st.erase(st.begin() + a);
  return make_view(s, st, offset_ + index * strides_[a]);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  int a = normalize_axis(axis, dim() + 1, "unsqueeze");
  Shape s = shape_, st = strides_;
  int64_t stride = a < dim() ? strides_[a] * shape_[a] : 1;
  s.insert(s.begin() + a, 1);
  st.insert(st.begin() + a, stride);
  return make_view(s, st, offset_);
}

Tensor Tensor::squeeze(int64_t axis) const {
  int a = normalize_axis(axis, dim(), "squeeze");
  CUTTLE_CHECK(shape_[a] == 1, "squeeze: axis ", a, " of ", str(), " has size ", shape_[a]);
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + a);
  st.erase(st.begin() + a);
  return make_view(s, st, offset_);
}

Tensor Tensor::expand(const Shape& shape) const {
  CUTTLE_CHECK(shape.size() >= shape_.size(), "expand: cannot expand ", str(), " to ", shape_str(shape));
  const size_t lead = shape.size() - shape_.size();
  Shape st(shape.size(), 0);
  for (size_t i = 0; i < shape_.size(); ++i) {
    CUTTLE_CHECK(shape_[i] == shape[lead + i] || shape_[i] == 1, "expand: cannot expand ", str(), " to ",
                 shape_str(shape));
    st[lead + i] = shape_[i] == 1 && shape[lead + i] != 1 ? 0 : strides_[i];
  }
  return make_view(shape, st, offset_);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  int s = normalize_axis(start, dim(), "flatten"), e = normalize_axis(end, dim(), "flatten");
  Shape out(shape_.begin(), shape_.begin() + s);
  int64_t m = 1;
  for (int i = s; i <= e; ++i) m *= shape_[i];
  out.push_back(m);
  out.insert(out.end(), shape_.begin() + e + 1, shape_.end());
  return reshape(out);
}

// ---- copies ----
void Tensor::copy_(const Tensor& src) {
  CUTTLE_CHECK(defined() && src.defined(), "copy_: undefined tensor");
  Shape b = broadcast_shapes(src.shape(), shape_, "copy_");
  CUTTLE_CHECK(b == shape_, "copy_: source ", src.str(), " does not broadcast to destination ", str());
  OpScope op_scope("copy");
  if (device().is_cuda() || src.device().is_cuda()) {
#ifdef CUTTLE_WITH_CUDA
    cuda::copy(*this, src);
    return;
#else
    CUTTLE_FAIL("copy_: ", src.str(), " -> ", str(), " needs the CUDA backend, which this build does not have");
#endif
  }
  std::array<Shape, 2> st{strides_, cpu::broadcast_strides(src.shape(), src.strides(), shape_)};
  dispatch_all(dtype_, [&](auto dt) {
    using D = typename decltype(dt)::type;
    dispatch_all(src.dtype(), [&](auto stag) {
      using S = typename decltype(stag)::type;
      D* dst = static_cast<D*>(raw_data());
      const S* s = static_cast<const S*>(src.raw_data());
      cpu::strided_loop<2>(shape_, st, [&](const std::array<int64_t, 2>& off, int64_t len,
                                            const std::array<int64_t, 2>& inc) {
        D* d = dst + off[0];
        const S* x = s + off[1];
        if (inc[0] == 1 && inc[1] == 1) {
          for (int64_t i = 0; i < len; ++i) d[i] = static_cast<D>(x[i]);
        } else {
          for (int64_t i = 0; i < len; ++i) d[i * inc[0]] = static_cast<D>(x[i * inc[1]]);
        }
      });
    });
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  Tensor out = empty(shape_, dtype_, dev);  // fails clearly where the device is not available
  out.copy_(*this);
  return out;
}

void Tensor::fill_(double value) {
  OpScope op_scope("fill");
  if (device().is_cuda()) {
#ifdef CUTTLE_WITH_CUDA
    cuda::fill(*this, value);
    return;
#endif
  }
  dispatch_all(dtype_, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = static_cast<T>(value);
    T* base = static_cast<T*>(raw_data());
    cpu::strided_loop<1>(shape_, {strides_}, [&](const std::array<int64_t, 1>& off, int64_t len,
                                                 const std::array<int64_t, 1>& inc) {
      for (int64_t i = 0; i < len; ++i) base[off[0] + i * inc[0]] = v;
    });
  });
}

// ---- explicit instantiations ----
#define CUTTLE_INSTANTIATE(T)                                                        \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&);       \
  template T Tensor::item<T>() const;                                                \
  template std::vector<T> Tensor::to_vector<T>() const;
CUTTLE_INSTANTIATE(float)
CUTTLE_INSTANTIATE(double)
CUTTLE_INSTANTIATE(int32_t)
CUTTLE_INSTANTIATE(int64_t)
CUTTLE_INSTANTIATE(uint8_t)
#undef CUTTLE_INSTANTIATE
template bool Tensor::item<bool>() const;

}  // namespace cuttle::engine
