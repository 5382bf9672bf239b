// RANGE whose start, limit or delta is computed at run time (dlcoder/ops/creation.py).
// The library is generated for the model's stored length n; TFLite computes the length
// from the three values at every Invoke (range.cc: GetSize) and resizes its output. So the
// run computes that length the same way first and returns a status (status.h), having
// written nothing, where TFLite fails or would give another length:
//   delta == 0                                      kStatusDivisionByZero
//   delta does not lead from start to limit (NaN)   kStatusShapeMismatch (no length exists)
//   a length other than n                           kStatusShapeMismatch
// Otherwise range() (movement.h) writes the n values as TFLite does.
#pragma once

#include <cmath>
#include <type_traits>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/movement.h"
#include "dlcoder_rt/status.h"

namespace dlcoder_rt {

// TFLite's length. Integers: (|limit - start| + |delta| - 1) / |delta|, which its build
// computes with limit - start wrapping in T (a span wider than T's range comes out small:
// RANGE(lowest, max, 1) has length 1 there), the rest as unsigned (|lowest| is 2^(bits-1))
// and the result made an int by keeping its low 32 bits (an int64 length 2^32 + 4 is 4).
// Floats: ceil(|(limit - start) / delta|) in float, made an int where it fits, else
// INT_MIN on x86 (inf, or NaN from inf - inf): -1 here. TFLite fails on a negative
// length, which never matches n.
template <typename T>
inline int64_t range_length(T start, T limit, T delta) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    const auto magnitude = [](T v) { return v < 0 ? U(0) - static_cast<U>(v) : static_cast<U>(v); };
    const U span = magnitude(static_cast<T>(static_cast<U>(limit) - static_cast<U>(start)));
    const U step = magnitude(delta);          // span + step - 1 < 2^bits: no overflow
    return static_cast<int32_t>(static_cast<uint32_t>((span + step - 1) / step));
  } else {
    const float length = std::ceil(std::fabs((limit - start) / delta));
    return length >= 0.0f && length < 2147483648.0f ? static_cast<int64_t>(length) : -1;
  }
}

template <typename T>
inline int range_checked(int64_t n, const T* start, const T* limit, const T* delta, T* out) {
  const T s = *start, l = *limit, d = *delta;
  if (d == T(0)) return kStatusDivisionByZero;
  if (!((s >= l && d < T(0)) || (s <= l && d > T(0)))) return kStatusShapeMismatch;
  if (range_length(s, l, d) != n) return kStatusShapeMismatch;
  range(n, start, delta, out);
  return kStatusOk;
}

}  // namespace dlcoder_rt
