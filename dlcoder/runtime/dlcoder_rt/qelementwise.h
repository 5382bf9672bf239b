// Quantized binary elementwise ops: ADD, SUB, MUL, SQUARED_DIFFERENCE on int8, uint8 and
// (ADD, SUB, MUL) int16 data. MAXIMUM and MINIMUM need no functor of their own: TFLite compares
// the stored integers (MaxOp, MinOp of elementwise.h, run by binary()).
//
// TFLite's x86 build runs ADD and MUL through its optimized kernels, whose vector bodies
// (NEON code on SSE) compute otherwise than the scalar code of their tails and of the
// reference kernels. Which output element takes which is decided per node by the
// generator (qelementwise.py mirrors ProcessBroadcastShapes and the fivefold broadcast
// loops): flat output element j takes the vector body's arithmetic when
// j % lanes.run < lanes.vec_end, the scalar (reference) arithmetic otherwise. Each functor
// takes both, with the constants of TFLite's Prepare (dlcoder/quant.py).
//
// The functors are the arithmetic and the portable path. qbinary() cuts the output into
// segments of one lane kind whose operands are read with stride 1 or broadcast, and runs
// each through the vector kernels of simd_qelementwise.h (the same integers, lane by lane)
// where the CPU has them; threads take contiguous ranges of the output. An op whose output
// is a function of one 8-bit operand's byte (x * LOGISTIC(x)) is a table lookup instead
// (simd_lut.h, tables from qelementwise.py).
#pragma once

#include "dlcoder_rt/elementwise.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_lut.h"

namespace dlcoder_rt {

// Where the vector body's arithmetic applies: the output's flat index modulo run, below
// vec_end (run 1, vec_end 0: nowhere).
struct QLanes {
  int32_t run, vec_end;
};

// The vector bodies' output stage: the int32 result narrowed to int16 (vmovn: wrapping,
// or vqmovn: saturating), the zero point added in int16 (wrapping), then saturated to Q
// and clamped to the fused activation's range.
template <typename Q>
inline Q narrow_vector_output(int32_t v, bool wrap, int32_t zp, int32_t lo, int32_t hi) {
  const int32_t n = wrap ? int32_t{static_cast<int16_t>(static_cast<uint32_t>(v))}
                         : std::min<int32_t>(std::max<int32_t>(v, -32768), 32767);
  int32_t t = int32_t{static_cast<int16_t>(static_cast<uint32_t>(n + zp))};
  t = std::min<int32_t>(std::max<int32_t>(t, std::numeric_limits<Q>::min()), std::numeric_limits<Q>::max());
  return static_cast<Q>(std::min(std::max(t, lo), hi));
}

// ADD and SUB (reference_integer_ops::AddElementwise, reference_ops::SubElementwise):
// each input offset, shifted left by left_shift (20 for 8-bit, 15 for int16) and scaled
// to twice the larger input scale; summed or subtracted; scaled to the output.
// SQUARED_DIFFERENCE (squared_difference.cc, int8): the same with left_shift 7, the
// scaled difference squared before the output's scaling.
// The vector lanes (ADD only) scale each input with one rounding, its shift folded into
// the left shift (vec_fold 1: int8/int16 AddElementwise), or round the multiply, then
// floor the right shift (vec_fold 0: AddScalarBroadcast, uint8 AddElementwise); vec_wrap:
// the output narrowing wraps (8-bit) or saturates (int16).
// lin_* (scalar lanes) and vlin_* (vector lanes), 8-bit ADD and SUB: where the generator
// found one (qelementwise.py _linear_form, checked on every pair of bytes), the lanes'
// outputs are clamp(floor((a lin_a + b lin_b + lin_c) / 2^lin_shift), lo, hi) of the stored
// bytes a, b in int32; lin_shift 0: none. Only the vector kernels read them.
struct QAddParams {
  int32_t a_offset, a_mult, a_shift;
  int32_t b_offset, b_mult, b_shift;
  int32_t left_shift;
  int32_t out_mult, out_shift;
  int32_t out_zp, lo, hi;
  int32_t vec_fold, vec_wrap;
  int32_t lin_a, lin_b, lin_c, lin_shift;
  int32_t vlin_a, vlin_b, vlin_c, vlin_shift;
};

// The kind of a QAddParams op: what it does with the two scaled inputs.
enum class QAddKind { kAdd, kSub, kSquaredDifference };

// One input of an ADD vector lane scaled to twice the larger input scale.
inline int32_t qadd_vector_input(int32_t x, int32_t mult, int32_t shift, int32_t left, bool fold) {
  if (fold) {
    const int32_t total = left + shift;  // vshl: a negative count shifts right, truncating
    const int32_t v = total >= 0 ? wrapping_shift_left(x, total) : (x >> -total);
    return saturating_rounding_doubling_high_mul(v, mult);
  }
  const int32_t high = saturating_rounding_doubling_high_mul(wrapping_shift_left(x, left), mult);
  return shift >= 0 ? wrapping_shift_left(high, shift) : (high >> -shift);
}

template <QAddKind K>
struct QAddOp {
  QAddParams p;
  template <typename Q>
  Q operator()(Q a, Q b, bool vec) const {
    const int32_t xa = p.a_offset + int32_t{a}, xb = p.b_offset + int32_t{b};
    if (vec) {  // only ADD has vector lanes
      const int32_t va = qadd_vector_input(xa, p.a_mult, p.a_shift, p.left_shift, p.vec_fold != 0);
      const int32_t vb = qadd_vector_input(xb, p.b_mult, p.b_shift, p.left_shift, p.vec_fold != 0);
      const int32_t high = saturating_rounding_doubling_high_mul(va + vb, p.out_mult);
      const int32_t v = p.out_shift >= 0 ? wrapping_shift_left(high, p.out_shift)
                                         : rounding_divide_by_pot(high, -p.out_shift);
      return narrow_vector_output<Q>(v, p.vec_wrap != 0, p.out_zp, p.lo, p.hi);
    }
    const int32_t va = multiply_by_quantized_multiplier(xa * (int32_t{1} << p.left_shift), p.a_mult, p.a_shift);
    const int32_t vb = multiply_by_quantized_multiplier(xb * (int32_t{1} << p.left_shift), p.b_mult, p.b_shift);
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
// to the output. int16 has zero points 0, so the product fits int32. The vector lanes
// compute the same value, then narrow it as narrow_vector_output (vec_wrap: vmovn, uint8's
// MulSimpleBroadcast; otherwise vqmovn).
struct QMulParams {
  int32_t a_offset, b_offset;
  int32_t out_mult, out_shift;
  int32_t out_zp, lo, hi;
  int32_t vec_wrap;
};

struct QMulOp {
  QMulParams p;
  template <typename Q>
  Q operator()(Q a, Q b, bool vec) const {
    const int32_t prod = (p.a_offset + int32_t{a}) * (p.b_offset + int32_t{b});
    if (vec) {
      const int32_t v = multiply_by_quantized_multiplier(prod, p.out_mult, p.out_shift);
      return narrow_vector_output<Q>(v, p.vec_wrap != 0, p.out_zp, p.lo, p.hi);
    }
    return requantize<Q>(prod, p.out_mult, p.out_shift, p.out_zp, p.lo, p.hi);
  }
};

// Calls f(a_offset, b_offset, out_offset, n, vec) for the segments of the flat output
// range [lo, hi) of `loop`: runs of n elements within one inner run of the loop and of one
// lane kind (vec: TFLite's vector body).
template <typename F>
inline void for_each_lane_segment(const Loop6& loop, const QLanes& lanes, int64_t lo, int64_t hi, F f) {
  const int32_t* d = loop.dims;
  const int64_t inner = d[5], sa = loop.a_strides[5], sb = loop.b_strides[5];
  int64_t run = lo / inner, off = lo % inner;
  int32_t idx[5];
  for (int k = 4; k >= 0; --k) {
    idx[k] = static_cast<int32_t>(run % d[k]);
    run /= d[k];
  }
  for (int64_t io = lo; io < hi;) {
    int64_t ia = off * sa, ib = off * sb;
    for (int k = 0; k < 5; ++k) {
      ia += int64_t{idx[k]} * loop.a_strides[k];
      ib += int64_t{idx[k]} * loop.b_strides[k];
    }
    const int64_t end = std::min(io + inner - off, hi);
    int64_t r = io % lanes.run;
    while (io < end) {
      const bool vec = r < lanes.vec_end;
      // a segment ends where the lane kind changes: at vec_end, or at the end of the lanes'
      // run when the next one starts with vector lanes
      const int64_t stop = vec ? lanes.vec_end : (lanes.vec_end > 0 ? lanes.run : r + (end - io));
      const int64_t n = std::min(end - io, stop - r);
      f(ia, ib, io, n, vec);
      ia += n * sa;
      ib += n * sb;
      io += n;
      r = r + n == lanes.run ? 0 : r + n;
    }
    off = 0;
    for (int k = 4; k >= 0 && ++idx[k] == d[k]; --k) idx[k] = 0;
  }
}

// for_each_lane_segment where every element takes one lane kind: f(a_offset, b_offset,
// out_offset, n) per inner run, the indices stepped without a division per run. Always
// inlined, so that f, compiled for a vector ISA, is called from code of that ISA and can be
// inlined in turn (simd_qresize.h: for_each_pixel).
template <typename F>
[[gnu::always_inline]] inline void for_each_run(const Loop6& loop, int64_t lo, int64_t hi, F f) {
  const int32_t* d = loop.dims;
  const int64_t inner = d[5], sa = loop.a_strides[5], sb = loop.b_strides[5];
  int64_t run = lo / inner, off = lo % inner, base_a = 0, base_b = 0;
  int32_t idx[5];
  for (int k = 4; k >= 0; --k) {
    idx[k] = static_cast<int32_t>(run % d[k]);
    run /= d[k];
    base_a += int64_t{idx[k]} * loop.a_strides[k];
    base_b += int64_t{idx[k]} * loop.b_strides[k];
  }
  for (int64_t io = lo; io < hi;) {
    const int64_t n = std::min(inner - off, hi - io);
    f(base_a + off * sa, base_b + off * sb, io, n);
    io += n;
    off = 0;
    for (int k = 4; k >= 0; --k) {
      base_a += loop.a_strides[k];
      base_b += loop.b_strides[k];
      if (++idx[k] < d[k]) break;
      base_a -= int64_t{d[k]} * loop.a_strides[k];
      base_b -= int64_t{d[k]} * loop.b_strides[k];
      idx[k] = 0;
    }
  }
}

}  // namespace dlcoder_rt

// the vector kernels, which read the params, functors and walk above
#include "dlcoder_rt/simd_qelementwise.h"

namespace dlcoder_rt {

// Which kernels run: the vector kernels of simd_qelementwise.h or the functors.
enum class QElementwisePath : int { kScalar, kAvx2, kAvx512 };

inline QElementwisePath qelementwise_path() {
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512: return runtime_avx512bw() ? QElementwisePath::kAvx512 : QElementwisePath::kAvx2;
    case Isa::kAvx2: return QElementwisePath::kAvx2;
    default: return QElementwisePath::kScalar;
  }
#else
  return QElementwisePath::kScalar;
#endif
}

// An output element costs about as much as this many multiply-adds (parallel.h's unit).
constexpr int64_t kQElementwiseMacs = 32;

// binary() with each output element's lane kind passed to the functor, in threads' ranges;
// the vector kernels take the ranges whose inner runs read each operand with stride 1 or 0.
template <typename Q, typename Op>
inline void qbinary(const Parallel& par, const Loop6& loop, const QLanes& lanes, const Q* a, const Q* b, Q* out,
                    Op op) {
  int64_t total = 1;
  for (int k = 0; k < kMaxDims; ++k) total *= loop.dims[k];
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  const bool contiguous = (sa == 0 || sa == 1) && (sb == 0 || sb == 1) && sa + sb > 0;
  const QElementwisePath path = contiguous ? qelementwise_path() : QElementwisePath::kScalar;
  parallel_ranges(par, total, total * kQElementwiseMacs, [&](int32_t, int64_t lo, int64_t hi) {
    switch (path) {
#if defined(DLCODER_RT_X86)
      case QElementwisePath::kAvx512: return qew::avx512::range(op, loop, lanes, a, b, out, lo, hi);
      case QElementwisePath::kAvx2: return qew::avx2::range(op, loop, lanes, a, b, out, lo, hi);
#endif
      default:
        for_each_lane_segment(loop, lanes, lo, hi, [&](int64_t ia, int64_t ib, int64_t io, int64_t n, bool vec) {
          for (int64_t i = 0; i < n; ++i) out[io + i] = op(a[ia + i * sa], b[ib + i * sb], vec);
        });
    }
  });
}

}  // namespace dlcoder_rt
