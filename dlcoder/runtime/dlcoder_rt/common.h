// dlcoder runtime: shared helpers for the header-only kernels.
// Kernels take a params struct (compile-time constants in generated code), raw pointers
// and nothing else: no allocation, no global state. Naming: <op>_<dtype>[_<variant>].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace dlcoder_rt {

constexpr int32_t kMaxDims = 6;

// A fused activation as TFLite applies it: min(max(x, lo), hi).
template <typename T>
struct Clamp {
  T lo, hi;
};

template <typename T>
inline T clamp(T x, Clamp<T> c) {
  return std::min(std::max(x, c.lo), c.hi);
}

// A hint to fetch the cache line at p for reading (nothing where the compiler has no way).
inline void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}

template <typename T>
inline void clamp_all(int64_t n, T* x, Clamp<T> c) {
  for (int64_t i = 0; i < n; ++i) x[i] = clamp(x[i], c);
}

// An N-d iteration space of up to kMaxDims dims with two operand stride sets, as computed
// by the generator after collapsing dims that can be merged. The last dim is the inner run.
struct Loop6 {
  int32_t dims[kMaxDims];
  int32_t a_strides[kMaxDims];
  int32_t b_strides[kMaxDims];
};

// Calls inner(a_offset, b_offset, out_offset) for every inner run of `loop`; the output
// is dense in loop order and each run has loop.dims[5] elements.
template <typename F>
inline void for_each_run(const Loop6& loop, F inner) {
  const int32_t* d = loop.dims;
  const int32_t* sa = loop.a_strides;
  const int32_t* sb = loop.b_strides;
  int64_t out = 0;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3)
          for (int32_t i4 = 0; i4 < d[4]; ++i4) {
            const int64_t a = int64_t{i0} * sa[0] + int64_t{i1} * sa[1] + int64_t{i2} * sa[2] +
                              int64_t{i3} * sa[3] + int64_t{i4} * sa[4];
            const int64_t b = int64_t{i0} * sb[0] + int64_t{i1} * sb[1] + int64_t{i2} * sb[2] +
                              int64_t{i3} * sb[3] + int64_t{i4} * sb[4];
            inner(a, b, out);
            out += d[5];
          }
}

// a + b; integers wrap (two's complement) where plain signed overflow would be undefined.
template <typename T>
inline T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

// IEEE binary16 bits -> float (exact: every half is a float): DEQUANTIZE of
// float16, and the scalar kernels' float16 weights (simd.h: load_half).
inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float v = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  const uint32_t bits = exponent == 0x1fu
                            ? sign | 0x7f800000u | (mantissa << 13)                // inf, nan
                            : sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace dlcoder_rt
