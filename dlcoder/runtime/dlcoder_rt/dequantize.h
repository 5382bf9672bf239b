// DEQUANTIZE (per-tensor affine int8/uint8/int16 -> float32, float16 -> float32) and
// QUANTIZE (float32 -> per-tensor affine int8/uint8/int16), bit-exact with TFLite.
#pragma once

#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct AffineParams {
  float scale;
  int32_t zero_point;
};

// TFLite computes scale * (q - zero_point) in double and rounds once to float. Both
// factors are exact floats and their product has at most 41 significant bits, so the
// double product is exact and a single float multiply rounds to the same value.
template <typename Q>
inline void dequantize_affine(int64_t n, const Q* in, float* out, AffineParams p) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(int32_t{in[i]} - p.zero_point) * p.scale;
}

// IEEE binary16 bits -> float (exact: every half is a float).
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

inline void dequantize_f16(int64_t n, const uint16_t* in, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

// rint(x * (1 / scale)) + zero_point, clamped to Q. This is what TFLite's builtin
// (optimized) QUANTIZE computes: a multiply by the float reciprocal and rounding half to
// even. Its reference kernel divides and rounds half away from zero; the two differ on
// ties and near-ties, and the interpreter runs the optimized one.
// The rounded value is converted to int32 before zero_point is added, and TFLite leaves
// that conversion undefined where it does not fit (NaN, inf, |x / scale| >= 2^31). x86
// gives INT32_MIN there (cvtps2dq), which is what the interpreter we check against
// computes and what we compute on every platform, without the undefined behaviour; the
// int32 addition of zero_point then wraps as it does there: NaN and inf become the lowest
// Q, or the highest for a negative zero_point (INT32_MIN - 3 wraps to INT32_MAX - 2).
template <typename Q>
inline void quantize_affine(int64_t n, const float* in, Q* out, AffineParams p) {
  constexpr int32_t lo = std::numeric_limits<Q>::min();
  constexpr int32_t hi = std::numeric_limits<Q>::max();
  const float inv_scale = 1.0f / p.scale;
  for (int64_t i = 0; i < n; ++i) {
    const float r = std::nearbyint(in[i] * inv_scale);
    const int32_t t = r >= -2147483648.0f && r < 2147483648.0f ? static_cast<int32_t>(r) : INT32_MIN;
    const int32_t q = static_cast<int32_t>(static_cast<uint32_t>(t) + static_cast<uint32_t>(p.zero_point));
    out[i] = static_cast<Q>(std::min(std::max(q, lo), hi));
  }
}

// QUANTIZE of integer input (TFLite's Requantize): (x - in_zp) times in_scale / out_scale as
// a fixed-point multiplier, plus out_zp, clamped to Out.
struct RequantizeParams {
  int32_t in_zp, out_zp, multiplier, shift;
};

template <typename In, typename Out>
inline void requantize_q(int64_t n, const In* x, Out* y, RequantizeParams p) {
  constexpr int32_t lo = std::numeric_limits<Out>::min();
  constexpr int32_t hi = std::numeric_limits<Out>::max();
  for (int64_t i = 0; i < n; ++i)
    y[i] = requantize<Out>(int32_t{x[i]} - p.in_zp, p.multiplier, p.shift, p.out_zp, lo, hi);
}

}  // namespace dlcoder_rt
