// Fixed-point steps of quantized kernels, as TFLite's builtin kernels take them.
//
// A real multiplier M (an input scale times a weight scale over the output scale, say) is
// a Q0.31 `multiplier` in [2^30, 2^31) and a power-of-two `shift`: M = multiplier * 2^(shift-31).
// The generator computes both (dlcoder/quant.py: quantize_multiplier). Applying it is
// "double rounding" (TFLite is not built with TFLITE_SINGLE_ROUNDING): a saturating rounding
// doubling high multiply (ties up), then a rounding right shift. TFLite's builtin kernels
// round that shift two ways, found by experiment against the pip build:
//   kAway: half away from zero: the reference MultiplyByQuantizedMultiplier (scalar code:
//          BATCH_MATMUL, ADD, MUL, the scalar tails of vector loops);
//   kUp:   half up (towards +inf): the vector loops' vrshl (NEON; NEON_2_SSE on x86):
//          CONV_2D, FULLY_CONNECTED, the vector part of DEPTHWISE_CONV_2D, MEAN, QUANTIZE.
// They differ only on an exact tie of a negative value. Which one each op takes, element by
// element, is the op's business (dlcoder/ops/q*.py); dlcoder/quant.py computes both in numpy.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

// (a * b * 2) >> 32, rounded half away from zero; INT32_MIN * INT32_MIN saturates.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = int64_t{a} * int64_t{b};
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (int64_t{1} - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));  // C++ divides toward zero
}

enum class Rounding : int { kAway, kUp };

// x / 2^exponent rounded half away from zero, exponent in [0, 31]: gemmlowp's
// RoundingDivideByPOT.
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int64_t mask = (int64_t{1} << exponent) - 1;
  const int64_t remainder = int64_t{x} & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int32_t>((int64_t{x} >> exponent) + (remainder > threshold ? 1 : 0));
}

// x / 2^exponent rounded half up, exponent in [0, 31]: NEON's vrshl by -exponent.
inline int32_t rounding_shift_right_up(int32_t x, int exponent) {
  if (exponent == 0) return x;
  return static_cast<int32_t>((int64_t{x} + (int64_t{1} << (exponent - 1))) >> exponent);
}

// x << left as int32 arithmetic wraps (what TFLite's int32 shift gives, without the
// undefined behaviour).
inline int32_t wrapping_shift_left(int32_t x, int left) {
  return static_cast<int32_t>(static_cast<uint32_t>(x) << left);
}

// x * multiplier * 2^(shift - 31): TFLite's MultiplyByQuantizedMultiplier (kAway), or its
// vector loops' equivalent (kUp).
template <Rounding R = Rounding::kAway>
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t high = saturating_rounding_doubling_high_mul(wrapping_shift_left(x, left), multiplier);
  return R == Rounding::kUp ? rounding_shift_right_up(high, right) : rounding_divide_by_pot(high, right);
}

// An int32 accumulator to the output type: scaled, offset by the output zero point,
// clamped to the fused activation's range [lo, hi] (already in the output's domain).
template <typename Q, Rounding R = Rounding::kAway>
inline Q requantize(int32_t acc, int32_t multiplier, int shift, int32_t zero_point, int32_t lo,
                    int32_t hi) {
  const int32_t v = multiply_by_quantized_multiplier<R>(acc, multiplier, shift) + zero_point;
  return static_cast<Q>(std::min(std::max(v, lo), hi));
}

// Where an op's output goes: its zero point and the fused activation's range.
struct QuantOut {
  int32_t zero_point, lo, hi;
};

// y[i] = table[x[i]] for 8-bit x: any elementwise op of one 8-bit input with an 8-bit
// output, its 256 results computed at generation time exactly as TFLite computes them.
template <typename Q>
inline void lookup_u8(int64_t n, const Q* x, Q* y, const Q* table) {
  static_assert(sizeof(Q) == 1, "a 256-entry table maps bytes");
  for (int64_t i = 0; i < n; ++i) y[i] = table[static_cast<uint8_t>(x[i])];
}

// y[i] = tables[c * 256 + x[i]], c = (i / inner) % channels: a table per channel of an
// elementwise op whose constant second operand broadcasts along a block of the input's
// dimensions (PRELU's alpha), the block's elements `channels`, the dimensions after it
// `inner` elements.
template <typename Q>
inline void lookup_u8_channels(int64_t n, int64_t inner, int64_t channels, const Q* x, Q* y,
                               const Q* tables) {
  static_assert(sizeof(Q) == 1, "a 256-entry table maps bytes");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / inner) % channels;
    y[i] = tables[c * 256 + static_cast<uint8_t>(x[i])];
  }
}

}  // namespace dlcoder_rt
