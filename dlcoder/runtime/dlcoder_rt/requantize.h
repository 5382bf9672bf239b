// Fixed-point steps of quantized kernels, as TFLite's builtin kernels take them.
//
// A real multiplier M (an input scale times a weight scale over the output scale, say) is
// a Q0.31 `multiplier` in [2^30, 2^31) and a power-of-two `shift`: M = multiplier * 2^(shift-31).
// The generator computes both (dlcoder/quant.py: quantize_multiplier). Applying it is
// "double rounding": a saturating rounding doubling high multiply, then a rounding right
// shift, each rounding half away from zero. That is what the pip build of TFLite does (it
// is not built with TFLITE_SINGLE_ROUNDING), found by experiment against its int8 kernels;
// dlcoder/quant.py computes the same in numpy for tables and tests.
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

// x / 2^exponent rounded half away from zero, exponent in [0, 31].
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int64_t mask = (int64_t{1} << exponent) - 1;
  const int64_t remainder = int64_t{x} & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int32_t>((int64_t{x} >> exponent) + (remainder > threshold ? 1 : 0));
}

// x * multiplier * 2^(shift - 31): TFLite's MultiplyByQuantizedMultiplier.
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int64_t shifted = int64_t{x} * (int64_t{1} << left);
  const int32_t sx = static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(shifted, INT32_MIN), INT32_MAX));
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(sx, multiplier), right);
}

// An int32 accumulator to the output type: scaled, offset by the output zero point,
// clamped to the fused activation's range [lo, hi] (already in the output's domain).
template <typename Q>
inline Q requantize(int32_t acc, int32_t multiplier, int shift, int32_t zero_point, int32_t lo,
                    int32_t hi) {
  const int32_t v = multiply_by_quantized_multiplier(acc, multiplier, shift) + zero_point;
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

}  // namespace dlcoder_rt
