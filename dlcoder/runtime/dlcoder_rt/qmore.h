// 8-bit L2_NORMALIZATION and the 8-bit comparisons (EQUAL, NOT_EQUAL, LESS, LESS_EQUAL,
// GREATER, GREATER_EQUAL) as TFLite's builtin kernels compute them (ops/qmore.py; the
// numpy twins are in dlcoder/quant.py). int8 EXP, LOG and SQRT are tables (lookup_u8).
#pragma once

#include "dlcoder_rt/elementwise.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// gemmlowp's SaturatingRoundingMultiplyByPOT<e> on a raw int32 (e in [-31, 31]).
inline int32_t saturating_rounding_multiply_by_pot(int64_t x, int e) {
  if (e < 0) return rounding_divide_by_pot(static_cast<int32_t>(x), -e);
  const int64_t threshold = (int64_t{1} << (31 - e)) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return static_cast<int32_t>(x * (int64_t{1} << e));
}

// TFLite's GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1): 1 / sqrt(value)
// ~= multiplier * 2^(shift - 31), shift <= 0, by five Newton-Raphson steps in Q3.28.
inline void inv_sqrt_quantized_multiplier_exp(int32_t value, int32_t* multiplier, int* shift) {
  if (value <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int s = 11;
  while (value >= (int32_t{1} << 29)) {
    value /= 4;
    ++s;
  }
  int bits = 0;  // bit length of value
  for (uint32_t v = static_cast<uint32_t>(value); v != 0; v >>= 1) ++bits;
  const int pairs = (32 - bits - 1) / 2 - 1;
  s -= pairs;
  value <<= 2 * pairs;
  const int32_t half_input = saturating_rounding_multiply_by_pot(value >> 1, -1);
  const int32_t half_three = (int32_t{1} << 28) + (int32_t{1} << 27);
  int32_t x = int32_t{1} << 28;
  for (int i = 0; i < 5; ++i) {
    const int32_t x3 = saturating_rounding_multiply_by_pot(
        saturating_rounding_doubling_high_mul(saturating_rounding_doubling_high_mul(x, x), x), 6);
    const int64_t d = int64_t{saturating_rounding_doubling_high_mul(half_three, x)} -
                      int64_t{saturating_rounding_doubling_high_mul(half_input, x3)};
    x = saturating_rounding_multiply_by_pot(d, 3);
  }
  x = saturating_rounding_doubling_high_mul(x, 1518500250);  // sqrt(2) / 2 in Q0.31
  if (s < 0) {
    x = wrapping_shift_left(x, -s);
    s = 0;
  }
  *multiplier = x;
  *shift = -s;
}

// L2_NORMALIZATION of [rows][depth] 8-bit data to the output scale 1/128: per row, the
// int32 sum of squares of x - zp gives the inverse square root's multiplier; then int8
// (reference_integer_ops::L2Normalization): MultiplyByQuantizedMultiplier(x - zp, m,
// shift + 7); uint8 (L2Normalization of uint8): 128 + RoundingDivideByPOT(SRDHM(128 *
// (x - zp), m), -shift). Clamped to the type.
template <typename Q>
inline void l2_normalization_q(int64_t rows, int32_t depth, int32_t zp, const Q* x, Q* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const Q* in = x + r * depth;
    Q* out = y + r * depth;
    int32_t acc = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t d = int32_t{in[c]} - zp;
      acc += d * d;
    }
    int32_t mult;
    int shift;
    inv_sqrt_quantized_multiplier_exp(acc, &mult, &shift);
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t d = int32_t{in[c]} - zp;
      int32_t v;
      if constexpr (std::is_same_v<Q, int8_t>) {
        v = std::min(std::max(multiply_by_quantized_multiplier(d, mult, shift + 7), -128), 127);
      } else {
        v = 128 + rounding_divide_by_pot(saturating_rounding_doubling_high_mul(128 * d, mult), -shift);
        v = std::min(std::max(v, 0), 255);
      }
      out[c] = static_cast<Q>(v);
    }
  }
}

// One input of an 8-bit comparison (ComparisonWithScaling): offset, shifted left by 8,
// scaled by the input's own scale (a multiplier below 1: shift <= 0).
struct QCompareParams {
  int32_t a_offset, a_mult, a_shift;
  int32_t b_offset, b_mult, b_shift;
};

inline int32_t qcompare_scaled(int32_t x, int32_t offset, int32_t mult, int32_t shift) {
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul((x + offset) * 256, mult), -shift);
}

// The comparison Cmp (LessOp, EqualOp, ... of elementwise.h) of the scaled inputs; run by
// binary().
template <typename Cmp>
struct QCompareOp {
  QCompareParams p;
  template <typename Q>
  bool operator()(Q a, Q b) const {
    return Cmp{}(qcompare_scaled(int32_t{a}, p.a_offset, p.a_mult, p.a_shift),
                 qcompare_scaled(int32_t{b}, p.b_offset, p.b_mult, p.b_shift));
  }
};

}  // namespace dlcoder_rt
