// Defines dtype dispatch helpers: run a generic lambda with the C++ type that matches a DType.
#pragma once
#include "engine/dtype.h"
#include "engine/error.h"

namespace cuttle::engine {

template <typename T> struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) for the floating types (f32, f64); throws for the rest.
template <typename Fn>
decltype(auto) dispatch_float(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::f64: return fn(TypeTag<double>{});
    default: CUTTLE_FAIL(op, ": expected a floating dtype (f32 or f64), got ", dtype_name(t));
  }
}

// Calls fn(TypeTag<T>{}) for every dtype.
template <typename Fn>
decltype(auto) dispatch_all(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::f64: return fn(TypeTag<double>{});
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::u8: return fn(TypeTag<uint8_t>{});
    case DType::boolean: return fn(TypeTag<bool>{});
  }
  CUTTLE_FAIL("unknown dtype");
}

// Calls fn(TypeTag<T>{}) for the numeric types that arithmetic accepts (not bool).
template <typename Fn>
decltype(auto) dispatch_numeric(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::f64: return fn(TypeTag<double>{});
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::u8: return fn(TypeTag<uint8_t>{});
    default: CUTTLE_FAIL(op, ": arithmetic is not defined for dtype ", dtype_name(t));
  }
}

}  // namespace cuttle::engine
