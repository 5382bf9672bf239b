// Quantized TRANSPOSE_CONV: 8-bit activations, 8-bit weights (int8 symmetric per tensor or
// per output channel; uint8 per tensor with a zero point), int32 bias, int32 accumulators
// requantized per output channel.
//
// As TFLite's kernels (transpose_conv.cc, optimized TransposeConvV2): every input pixel's
// products with the filter are scattered into an int32 image the size of the output
// (col2im); taps that land outside the output are dropped; the bias is added; then each
// accumulator is requantized. int32 sums are exact in any order (they wrap alike), so the
// products are formed as small GEMMs (simd_qtransposeconv.h): per input row, the input
// channels are taken in pairs (x - in_zp as int16, two to an int32, the second 0 past an
// odd in_c), and per tap a tile of 4 or 8 pixels x 16..32 output channels multiplies them with
// the weights (vpmaddwd, or vpdpwssd with AVX-512 VNNI), then adds each pixel's row of
// channels where its tap lands.
//
// Layout (dlcoder/ops/qtransposeconv.py): weights int16, zero point subtracted,
// [k_h][k_w][k_pairs][out_cp][2] with out_cp = out_c rounded up to 16 (zero weights past
// out_c), k_pairs = ceil(in_c / 2) (zero weights past in_c). Scratch: the requantization
// constants (QtcRq: 3 int64 and 2 int32 arrays of out_cp), the accumulator image
// [out_h][out_w][out_cp] int32, then one input row's pairs [in_w][k_pairs] int32. With
// AVX-512 BW the requantization is vectorised too (16 channels of a pixel at a time, in
// int64), keeping each element's rounding mode.
//
// Rounding of the requantization, found by experiment against the pip build (requantize.h):
// element i (flat index, channel c) rounds half up when c < vec_channels and i < vec_elems,
// half away otherwise. int8: vec_channels = 8 * floor(out_c / 8) (TFLite's per-channel
// Quantize takes channels in NEON blocks of 8, then a scalar tail), vec_elems = all.
// uint8: vec_channels = out_c, vec_elems = 16 * floor(size / 16) (its per-tensor Quantize
// walks the flat output in blocks of 16, then a scalar tail).
#pragma once

#include <cstring>

#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct QTransposeConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t in_zp, k_pairs, out_cp;
  int32_t out_zp, lo, hi;
  int32_t vec_channels;
  int64_t vec_elems;
};

namespace qtc_scalar {
struct V {
  struct Pair {
    int32_t lo, hi;
  };
  using R = int32_t;
  static constexpr int kLanes = 1;
  static constexpr int kTileM = 4;
  static R zero() { return 0; }
  static Pair load(const int16_t* w) { return {w[0], w[1]}; }
  static Pair splat(int32_t x) { return {static_cast<int16_t>(x & 0xffff), x >> 16}; }
  static R mac(R acc, Pair w, Pair x) { return acc + w.lo * x.lo + w.hi * x.hi; }
  static void add_to(int32_t* p, R v) { *p += v; }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_scalar

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("sse2")
namespace qtc_sse2 {
struct V {
  using R = __m128i;
  static constexpr int kLanes = 4;
  static constexpr int kTileM = 4;
  static R zero() { return _mm_setzero_si128(); }
  static R load(const int16_t* w) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w)); }
  static R splat(int32_t x) { return _mm_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm_add_epi32(acc, _mm_madd_epi16(w, x)); }
  static void add_to(int32_t* p, R v) {
    __m128i* q = reinterpret_cast<__m128i*>(p);
    _mm_storeu_si128(q, _mm_add_epi32(_mm_loadu_si128(q), v));
  }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_sse2
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
namespace qtc_avx2 {
struct V {
  using R = __m256i;
  static constexpr int kLanes = 8;
  static constexpr int kTileM = 4;
  static R zero() { return _mm256_setzero_si256(); }
  static R load(const int16_t* w) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)); }
  static R splat(int32_t x) { return _mm256_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
  static void add_to(int32_t* p, R v) {
    __m256i* q = reinterpret_cast<__m256i*>(p);
    _mm256_storeu_si256(q, _mm256_add_epi32(_mm256_loadu_si256(q), v));
  }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_avx2
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx2")
namespace qtc_avx512 {
struct V {
  using R = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kTileM = 8;
  static R zero() { return _mm512_setzero_si512(); }
  static R load(const int16_t* w) { return _mm512_loadu_si512(w); }
  static R splat(int32_t x) { return _mm512_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x)); }
  static void add_to(int32_t* p, R v) { _mm512_storeu_si512(p, _mm512_add_epi32(_mm512_loadu_si512(p), v)); }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx512vnni,avx2")
namespace qtc_vnni {
struct V {
  using R = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kTileM = 8;
  static R zero() { return _mm512_setzero_si512(); }
  static R load(const int16_t* w) { return _mm512_loadu_si512(w); }
  static R splat(int32_t x) { return _mm512_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm512_dpwssd_epi32(acc, w, x); }
  static void add_to(int32_t* p, R v) { _mm512_storeu_si512(p, _mm512_add_epi32(_mm512_loadu_si512(p), v)); }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_vnni
DLCODER_RT_TARGET_END
#endif

// Per-channel constants of the vector requantization (qdepthwise's formulation, exact in
// int64): with P = (acc << left) * mult and rs = max(-shift, 0), the half-up result is
// floor((P + add) / 2^sh), add = 2^30 + (rs > 0 ? 2^(30 + rs) : 0), sh = 31 + rs (the
// doubling high multiply's nudge and the shift's, one floor of a floor); half away is the
// same with `away` = 2^31 subtracted from P when P < -2^30 (a negative high part), where
// rs > 0 on the channels that round half away, 0 elsewhere.
struct QtcRq {
  int64_t* add;
  int64_t* sh;
  int64_t* away;
  int32_t* left;
  int32_t* mult;
};

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx2")
namespace qtc_avx512 {
// Channels c..c+7: x (shifted left) and their multipliers to the clamped outputs.
inline __m256i requantize_half(__m256i x, __m256i m, const QtcRq& rq, int32_t c, __m512i zp, __m512i lo,
                               __m512i hi) {
  __m512i prod = _mm512_mul_epi32(_mm512_cvtepi32_epi64(x), _mm512_cvtepi32_epi64(m));
  const __mmask8 below = _mm512_cmplt_epi64_mask(prod, _mm512_set1_epi64(-(int64_t{1} << 30)));
  prod = _mm512_mask_sub_epi64(prod, below, prod, _mm512_loadu_si512(rq.away + c));
  const __m512i v = _mm512_srav_epi64(_mm512_add_epi64(prod, _mm512_loadu_si512(rq.add + c)),
                                      _mm512_loadu_si512(rq.sh + c));
  return _mm512_cvtepi64_epi32(_mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(v, zp), lo), hi));
}

// Pixels [0, n) of the accumulator image (stride out_cp) to y (stride out_c).
template <typename Q>
inline void requantize_pixels(const QTransposeConvParams& p, const QtcRq& rq, const int32_t* acc, int64_t n,
                              Q* y) {
  const __m512i zp = _mm512_set1_epi64(p.out_zp), lo = _mm512_set1_epi64(p.lo), hi = _mm512_set1_epi64(p.hi);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t* a = acc + i * p.out_cp;
    Q* yp = y + i * p.out_c;
    for (int32_t c = 0; c < p.out_c; c += 16) {
      const __m512i x = _mm512_sllv_epi32(_mm512_loadu_si512(a + c), _mm512_loadu_si512(rq.left + c));
      const __m512i m = _mm512_loadu_si512(rq.mult + c);
      const __m256i r0 = requantize_half(_mm512_castsi512_si256(x), _mm512_castsi512_si256(m), rq, c, zp, lo, hi);
      const __m256i r1 = requantize_half(_mm512_extracti64x4_epi64(x, 1), _mm512_extracti64x4_epi64(m, 1), rq,
                                         c + 8, zp, lo, hi);
      const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1);
      const int32_t left = p.out_c - c;
      const __mmask16 keep = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      _mm_mask_storeu_epi8(yp + c, keep, _mm512_cvtepi32_epi8(both));
    }
  }
}
}  // namespace qtc_avx512
DLCODER_RT_TARGET_END
#endif

using QtcRowFn = void (*)(const QTransposeConvParams&, const int32_t*, int32_t, const int16_t*, int32_t*);

// The row kernel of the instruction set chosen at run time (isa.h).
inline QtcRowFn qtc_row_kernel() {
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512:
      if (runtime_avx512bw()) return runtime_int8_dot() ? qtc_vnni::qtc_row : qtc_avx512::qtc_row;
      return qtc_avx2::qtc_row;
    case Isa::kAvx2: return qtc_avx2::qtc_row;
    case Isa::kSse2: return qtc_sse2::qtc_row;
    default: return qtc_scalar::qtc_row;
  }
#else
  return qtc_scalar::qtc_row;
#endif
}

// The per-channel constants of QtcRq from the multipliers and shifts (zeros past out_c).
inline void qtc_rq_constants(const QTransposeConvParams& p, const int32_t* mult, const int32_t* shift,
                             const QtcRq& rq) {
  for (int32_t c = 0; c < p.out_cp; ++c) {
    const int32_t sh = c < p.out_c ? shift[c] : 0;
    const int32_t rs = sh > 0 ? 0 : -sh;
    rq.left[c] = sh > 0 ? sh : 0;
    rq.mult[c] = c < p.out_c ? mult[c] : 0;
    rq.add[c] = (int64_t{1} << 30) + (rs > 0 ? int64_t{1} << (30 + rs) : 0);
    rq.sh[c] = 31 + rs;
    rq.away[c] = c >= p.vec_channels && rs > 0 ? int64_t{1} << 31 : 0;
  }
}

// NHWC input x, output y; w packed as above; bias [out_c] or nullptr; `scratch` as above.
template <typename Q>
inline void transpose_conv2d_q(const QTransposeConvParams& p, const Q* x, const int16_t* w,
                               const int32_t* bias, const int32_t* mult, const int32_t* shift, Q* y,
                               int64_t* scratch) {
  const QtcRowFn row = qtc_row_kernel();
  const int64_t pixels = int64_t{p.out_h} * p.out_w;
  const int64_t image = pixels * p.out_c;
  const QtcRq rq{scratch, scratch + p.out_cp, scratch + 2 * p.out_cp,
                 reinterpret_cast<int32_t*>(scratch + 3 * p.out_cp),
                 reinterpret_cast<int32_t*>(scratch + 3 * p.out_cp) + p.out_cp};
  int32_t* acc = rq.mult + p.out_cp;
  int32_t* pairs = acc + pixels * p.out_cp;
#if defined(DLCODER_RT_X86)
  const bool vector_rq = runtime_isa() == Isa::kAvx512 && runtime_avx512bw();
#else
  const bool vector_rq = false;
#endif
  if (vector_rq) qtc_rq_constants(p, mult, shift, rq);
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t c = 0; c < p.out_cp; ++c) acc[c] = bias && c < p.out_c ? bias[c] : 0;
    for (int64_t i = 1; i < pixels; ++i) std::memcpy(acc + i * p.out_cp, acc, sizeof(int32_t) * p.out_cp);
    const Q* xb = x + int64_t{b} * p.in_h * p.in_w * p.in_c;
    for (int32_t iy = 0; iy < p.in_h; ++iy) {
      for (int32_t ix = 0; ix < p.in_w; ++ix) {
        const Q* xp = xb + (int64_t{iy} * p.in_w + ix) * p.in_c;
        int32_t* d = pairs + int64_t{ix} * p.k_pairs;
        for (int32_t k = 0; k < p.k_pairs; ++k) {
          const int32_t lo = int32_t{xp[2 * k]} - p.in_zp;
          const int32_t hi = 2 * k + 1 < p.in_c ? int32_t{xp[2 * k + 1]} - p.in_zp : 0;
          d[k] = static_cast<int32_t>((static_cast<uint32_t>(hi) << 16) | (static_cast<uint32_t>(lo) & 0xffffu));
        }
      }
      row(p, pairs, iy, w, acc);
    }
    Q* yb = y + b * image;
    const int64_t base = b * image;
    // whole pixels before vec_elems take the vector path (its channels' rounding in `away`)
    int64_t done = 0;
    if (vector_rq) {
      const int64_t before = p.vec_elems > base ? (p.vec_elems - base) / p.out_c : 0;
      done = before < pixels ? before : pixels;
#if defined(DLCODER_RT_X86)
      qtc_avx512::requantize_pixels(p, rq, acc, done, yb);
#endif
    }
    for (int64_t i = done; i < pixels; ++i) {
      const int32_t* a = acc + i * p.out_cp;
      Q* yp = yb + i * p.out_c;
      const int64_t at = base + i * p.out_c;
      for (int32_t c = 0; c < p.out_c; ++c) {
        const bool up = c < p.vec_channels && at + c < p.vec_elems;
        yp[c] = up ? requantize<Q, Rounding::kUp>(a[c], mult[c], shift[c], p.out_zp, p.lo, p.hi)
                   : requantize<Q, Rounding::kAway>(a[c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
      }
    }
  }
}

}  // namespace dlcoder_rt
