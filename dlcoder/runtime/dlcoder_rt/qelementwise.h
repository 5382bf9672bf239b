// Quantized binary elementwise ops: ADD, SUB, MUL, SQUARED_DIFFERENCE on int8, uint8 and
// (ADD, SUB, MUL) int16 data, as functors of elementwise.h's binary() loop, which walks
// the broadcast the generator resolved into a Loop6. MAXIMUM and MINIMUM need no functor
// of their own: TFLite compares the stored integers (MaxOp, MinOp of elementwise.h).
//
// Each functor takes the integer steps of TFLite's reference kernel for its op, with the
// constants that the generator computed as TFLite's Prepare does (dlcoder/quant.py:
// add_multipliers, squared_difference_multipliers, mul_multiplier). Offsets are minus the
// inputs' zero points; the output's zero point and the fused activation's range are in
// `out` (requantize.h: QuantOut).
#pragma once

#include "dlcoder_rt/elementwise.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// ADD and SUB (reference_integer_ops::AddElementwise, reference_ops::SubElementwise):
// each input offset, shifted left by left_shift (20 for 8-bit, 15 for int16) and scaled
// to twice the larger input scale; summed or subtracted; scaled to the output.
// SQUARED_DIFFERENCE (squared_difference.cc, int8): the same with left_shift 7, the
// scaled difference squared before the output's scaling.
struct QAddParams {
  int32_t a_offset, a_mult, a_shift;
  int32_t b_offset, b_mult, b_shift;
  int32_t left_shift;
  int32_t out_mult, out_shift;
  int32_t out_zp, lo, hi;
};

// The kind of a QAddParams op: what it does with the two scaled inputs.
enum class QAddKind { kAdd, kSub, kSquaredDifference };

template <QAddKind K>
struct QAddOp {
  QAddParams p;
  template <typename Q>
  Q operator()(Q a, Q b) const {
    const int32_t va = multiply_by_quantized_multiplier((p.a_offset + int32_t{a}) * (int32_t{1} << p.left_shift),
                                                        p.a_mult, p.a_shift);
    const int32_t vb = multiply_by_quantized_multiplier((p.b_offset + int32_t{b}) * (int32_t{1} << p.left_shift),
                                                        p.b_mult, p.b_shift);
    int32_t raw;
    if constexpr (K == QAddKind::kAdd) {
      raw = va + vb;
    } else if constexpr (K == QAddKind::kSub) {
      raw = va - vb;
    } else {
      raw = (va - vb) * (va - vb);  // |va - vb| < 2^15 for 8-bit inputs: fits int32
    }
    return requantize<Q>(raw, p.out_mult, p.out_shift, p.out_zp, p.lo, p.hi);
  }
};

// MUL (reference_integer_ops::MulElementwise): the product of the offset inputs, scaled
// to the output. int16 has zero points 0, so the product fits int32.
struct QMulParams {
  int32_t a_offset, b_offset;
  int32_t out_mult, out_shift;
  int32_t out_zp, lo, hi;
};

struct QMulOp {
  QMulParams p;
  template <typename Q>
  Q operator()(Q a, Q b) const {
    const int32_t prod = (p.a_offset + int32_t{a}) * (p.b_offset + int32_t{b});
    return requantize<Q>(prod, p.out_mult, p.out_shift, p.out_zp, p.lo, p.hi);
  }
};

}  // namespace dlcoder_rt
