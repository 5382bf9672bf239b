// The requantization epilogues of the quantized GEMM kernels (simd_qlinear.h), one per
// vector width: multiply_by_quantized_multiplier<kUp> (requantize.h) lane by lane, bit for
// bit, or the hybrid ops' float epilogue. Rq512/Out512 (AVX-512), Rq256/Out256 (AVX2),
// RqNeon/OutNeon (NEON), epilogue_scalar.
#pragma once

#include "dlcoder_rt/simd_qlinear_types.h"

namespace dlcoder_rt {
namespace qsimd {

// Scalar epilogue of 16 accumulators (bias not yet added): half up.
template <typename Q>
inline void epilogue_scalar(const int32_t* acc, const QEpilogue& e, int ch, Q* y) {
  for (int c = 0; c < ch; ++c)
    y[c] = requantize<Q, Rounding::kUp>(acc[c] + e.bias[c], e.mult[c], e.shift[c], e.zero_point, e.lo, e.hi);
}

// The float epilogue of ch accumulators (bias not yet added; the int32 sum wraps).
inline void epilogue_scalar(const int32_t* acc, const QFloatEpilogue& e, int ch, float* y) {
  for (int c = 0; c < ch; ++c) {
    float v = static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(acc[c]) + static_cast<uint32_t>(e.bias[c])));
    v *= e.scale[c];
    DLCODER_RT_UNFUSED(v);
    y[c] = std::min(std::max(v + e.fbias[c], e.lo), e.hi);
  }
}

#if defined(DLCODER_RT_X86)
// ---- AVX-512 requantization: multiply_by_quantized_multiplier<kUp>, 16 lanes -----------
// high = SRDHM(x << left, m) is floor((x * m + 2^30) / 2^31) (the gemmlowp nudge rounds half
// up; m >= 0 never saturates), and the half-up shift by rs > 0 is floor((high + 2^(rs-1)) /
// 2^rs). As floor(floor(a / b) / c) = floor(a / (b c)) for integers b, c > 0, the two are
// one 64-bit step: floor((x * m + rnd) / 2^(31+rs)), rnd = 2^30 + [rs > 0] 2^(30+rs). With
// |x * m| < 2^62 and rs <= 31 (quant.py: shift >= -31), the sum plus 2^62 lies in (0, 2^64):
// a logical shift of it is the floor plus 2^(31-rs), which the zero point's lanes take off
// (zpc, in wrapping int32 arithmetic, as the result fits int32).
// Where every lane shifts right (rs >= 1, `shr`, the usual case), fewer steps: no offset,
// as an arithmetic 64-bit shift floors the signed sum (|x * m + rnd| < 2^63), and the odd
// lanes shift by S - 32 (S = 31 + rs >= 32), which leaves their floor in the high half of
// each 64-bit lane: a blend, not a shuffle, merges them with the even ones. raw() is that
// result before the zero point; as |raw| < 2^30 no int32 sum wraps, so four() adds the
// zero point to the int16 narrowing with saturation, which clamps alike (a sum past int16
// lies past [lo, hi] either way).
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
struct Rq512 {
  __m512i mult, mult_o, left, rnd_e, rnd_o, sh_e, sh_o, zpc, lo, zp16;
  __m128i lo8, hi8;
  bool any_left, shr;
  explicit Rq512(const QEpilogue& e) {
    const __m512i s = _mm512_loadu_si512(e.shift);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
    mult = _mm512_loadu_si512(e.mult);
    mult_o = _mm512_srli_epi64(mult, 32);
    lo = _mm512_set1_epi32(e.lo);
    lo8 = _mm_set1_epi8(static_cast<char>(e.lo));
    hi8 = _mm_set1_epi8(static_cast<char>(e.hi));
    zp16 = _mm512_set1_epi16(static_cast<int16_t>(e.zero_point));
    shr = _mm512_cmpge_epi32_mask(s, zero) == 0;
    const __m512i rs = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    const __m512i sh = _mm512_add_epi32(rs, _mm512_set1_epi32(31));
    const __m512i one = _mm512_set1_epi64(1);
    sh_e = _mm512_and_si512(sh, low);
    sh_o = _mm512_srli_epi64(sh, 32);
    if (shr) {  // rnd = 2^30 + 2^(30+rs) = 2^(S-1) + 2^30
      left = zero;
      any_left = false;
      const __m512i r30 = _mm512_set1_epi64(int64_t{1} << 30);
      rnd_e = _mm512_add_epi64(r30, _mm512_sllv_epi64(one, _mm512_sub_epi64(sh_e, one)));
      rnd_o = _mm512_add_epi64(r30, _mm512_sllv_epi64(one, _mm512_sub_epi64(sh_o, one)));
      sh_o = _mm512_sub_epi64(sh_o, _mm512_set1_epi64(32));
      zpc = _mm512_set1_epi32(e.zero_point);
      return;
    }
    left = _mm512_max_epi32(s, zero);
    any_left = _mm512_test_epi32_mask(left, left) != 0;
    const __m512i radd = _mm512_min_epi32(rs, _mm512_set1_epi32(1));
    const __m512i base = _mm512_set1_epi64((int64_t{1} << 62) + (int64_t{1} << 30));
    rnd_e = _mm512_add_epi64(base, _mm512_sllv_epi64(_mm512_and_si512(radd, low), _mm512_sub_epi64(sh_e, one)));
    rnd_o = _mm512_add_epi64(base, _mm512_sllv_epi64(_mm512_srli_epi64(radd, 32), _mm512_sub_epi64(sh_o, one)));
    const __m512i off = _mm512_sllv_epi32(_mm512_set1_epi32(1), _mm512_sub_epi32(_mm512_set1_epi32(31), rs));
    zpc = _mm512_sub_epi32(_mm512_set1_epi32(e.zero_point), off);
  }
  // x requantized plus the zero point, not clamped; kShr: the shr steps (shr must hold)
  template <bool kShr>
  [[gnu::always_inline]] __m512i apply(__m512i x) const {
    if constexpr (kShr) return _mm512_add_epi32(raw(x), zpc);
    if (any_left) x = _mm512_sllv_epi32(x, left);
    const __m512i pe = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), rnd_e), sh_e);
    const __m512i po = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_o), rnd_o), sh_o);
    return _mm512_add_epi32(_mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB), zpc);
  }
  __m512i operator()(__m512i x) const { return shr ? apply<true>(x) : apply<false>(x); }
  // shr only: x requantized, without the zero point
  [[gnu::always_inline]] __m512i raw(__m512i x) const {
    const __m512i pe = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), rnd_e), sh_e);
    const __m512i po = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_o), rnd_o), sh_o);
    return _mm512_mask_blend_epi32(0xAAAA, pe, po);
  }
  // Two rows narrowed to int16 with saturation (_mm512_packs_epi32 of the two) plus the zero point.
  template <bool kShr>
  [[gnu::always_inline]] __m512i pack2(__m512i x0, __m512i x1) const {
    if constexpr (kShr) return _mm512_adds_epi16(_mm512_packs_epi32(raw(x0), raw(x1)), zp16);
    return _mm512_packs_epi32(apply<false>(x0), apply<false>(x1));
  }
  // The 16 results clamped to [lo, hi] (within Q's range) as bytes: a saturating narrowing,
  // then the clamp on bytes (uint8: lo first, as the narrowing is unsigned).
  template <typename Q, bool kShr>
  [[gnu::always_inline]] __m128i bytes_as(__m512i x) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m512i h = apply<kShr>(x);
    if constexpr (std::is_signed<Q>::value) {
      return _mm_min_epi8(_mm_max_epi8(_mm512_cvtsepi32_epi8(h), lo8), hi8);
    } else {
      return _mm_min_epu8(_mm512_cvtusepi32_epi8(_mm512_max_epi32(h, lo)), hi8);
    }
  }
  template <typename Q>
  __m128i bytes(__m512i x) const { return shr ? bytes_as<Q, true>(x) : bytes_as<Q, false>(x); }
};

template <typename Q>
inline void store16(__m128i b, int ch, Q* y) {
  if (ch == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
  } else {
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << ch) - 1u), b);
  }
}

// A panel's outputs from its 16 sums (bias added): out512(e) of the panel's epilogue,
// called with (sums, ch, y).
struct Out512 {
  Rq512 rq;
  template <typename Q>
  void operator()(__m512i s, int ch, Q* y) const { store16(rq.bytes<Q>(s), ch, y); }
  template <typename Q>
  void four(__m512i s0, __m512i s1, __m512i s2, __m512i s3, int ch, Q* y, int64_t ldy) const {
    if (rq.shr) return four_as<true>(s0, s1, s2, s3, ch, y, ldy);
    four_as<false>(s0, s1, s2, s3, ch, y, ldy);
  }
  // Four rows' outputs (row stride ldy) narrowed together: two saturating packs (int32 ->
  // int16 -> 8 bits, as the single row's narrowing) leave 128-bit lane L holding channels
  // 4L..4L+3 of rows 0, 1, 2, 3; one clamp on the 64 bytes, one permute to rows in order.
  template <bool kShr, typename Q>
  [[gnu::always_inline]] void four_as(__m512i s0, __m512i s1, __m512i s2, __m512i s3, int ch, Q* y,
                                      int64_t ldy) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m512i w01 = rq.pack2<kShr>(s0, s1), w23 = rq.pack2<kShr>(s2, s3);
    const __m512i lo = _mm512_broadcast_i32x4(rq.lo8), hi = _mm512_broadcast_i32x4(rq.hi8);
    __m512i b;
    if constexpr (std::is_signed<Q>::value) {
      b = _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(w01, w23), lo), hi);
    } else {
      b = _mm512_min_epu8(_mm512_max_epu8(_mm512_packus_epi16(w01, w23), lo), hi);
    }
    b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
    store16(_mm512_castsi512_si128(b), ch, y);
    store16(_mm512_extracti32x4_epi32(b, 1), ch, y + ldy);
    store16(_mm512_extracti32x4_epi32(b, 2), ch, y + 2 * ldy);
    store16(_mm512_extracti32x4_epi32(b, 3), ch, y + 3 * ldy);
  }
  // The outputs of M rows (sums acc[0..M)): in fours, then one by one, in the steps rq.shr
  // picks once.
  template <int M, typename Q>
  [[gnu::always_inline]] void rows(const __m512i* acc, int ch, Q* y, int64_t ldy) const {
    if (rq.shr) return rows_as<true, M>(acc, ch, y, ldy);
    rows_as<false, M>(acc, ch, y, ldy);
  }
  template <bool kShr, int M, typename Q>
  [[gnu::always_inline]] void rows_as(const __m512i* acc, int ch, Q* y, int64_t ldy) const {
    int r = 0;
#pragma GCC unroll 3
    for (; r + 4 <= M; r += 4) four_as<kShr>(acc[r], acc[r + 1], acc[r + 2], acc[r + 3], ch, y + r * ldy, ldy);
#pragma GCC unroll 3
    for (; r < M; ++r) store16(rq.bytes_as<Q, kShr>(acc[r]), ch, y + r * ldy);
  }
};

struct Out512F {
  __m512 scale, fbias, lo, hi;
  void operator()(__m512i s, int ch, float* y) const {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(s), scale);
    DLCODER_RT_UNFUSED(v);
    // max(lo, v), min(hi, v): std::max(v, lo), std::min(v, hi) (ties and NaN give v)
    v = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(v, fbias)));
    if (ch == 16) {
      _mm512_storeu_ps(y, v);
    } else {
      _mm512_mask_storeu_ps(y, static_cast<__mmask16>((1u << ch) - 1u), v);
    }
  }
  void four(__m512i s0, __m512i s1, __m512i s2, __m512i s3, int ch, float* y, int64_t ldy) const {
    (*this)(s0, ch, y);
    (*this)(s1, ch, y + ldy);
    (*this)(s2, ch, y + 2 * ldy);
    (*this)(s3, ch, y + 3 * ldy);
  }
};

inline Out512 out512(const QEpilogue& e) { return {Rq512(e)}; }
inline Out512F out512(const QFloatEpilogue& e) {
  return {_mm512_loadu_ps(e.scale), _mm512_loadu_ps(e.fbias), _mm512_set1_ps(e.lo), _mm512_set1_ps(e.hi)};
}
DLCODER_RT_TARGET_END

// ---- AVX2 requantization, 8 lanes ------------------------------------------------------
DLCODER_RT_TARGET_BEGIN("avx2,fma")
// The same steps as Rq512 (its comment) on 8 lanes of e's channels off..off+7.
struct Rq256 {
  __m256i mult, mult_o, left, rnd_e, rnd_o, sh_e, sh_o, zpc;
  bool any_left;
  Rq256(const QEpilogue& e, int off) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.shift + off));
    const __m256i zero = _mm256_setzero_si256();
    const __m256i low = _mm256_set1_epi64x(0xFFFFFFFF);
    mult = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.mult + off));
    mult_o = _mm256_srli_epi64(mult, 32);
    left = _mm256_max_epi32(s, zero);
    any_left = !_mm256_testz_si256(left, left);
    const __m256i rs = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i sh = _mm256_add_epi32(rs, _mm256_set1_epi32(31));
    sh_e = _mm256_and_si256(sh, low);
    sh_o = _mm256_srli_epi64(sh, 32);
    const __m256i radd = _mm256_min_epi32(rs, _mm256_set1_epi32(1));
    const __m256i base = _mm256_set1_epi64x((int64_t{1} << 62) + (int64_t{1} << 30));
    const __m256i one = _mm256_set1_epi64x(1);
    rnd_e = _mm256_add_epi64(base, _mm256_sllv_epi64(_mm256_and_si256(radd, low), _mm256_sub_epi64(sh_e, one)));
    rnd_o = _mm256_add_epi64(base, _mm256_sllv_epi64(_mm256_srli_epi64(radd, 32), _mm256_sub_epi64(sh_o, one)));
    const __m256i offs = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(_mm256_set1_epi32(31), rs));
    zpc = _mm256_sub_epi32(_mm256_set1_epi32(e.zero_point), offs);
  }
  // x requantized plus the zero point, not clamped (store16 clamps)
  __m256i operator()(__m256i x) const {
    if (any_left) x = _mm256_sllv_epi32(x, left);
    const __m256i pe = _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, mult), rnd_e), sh_e);
    const __m256i po = _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mult_o), rnd_o), sh_o);
    return _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_shuffle_epi32(po, 0xB1), 0xAA), zpc);
  }
};

// 16 lanes (a: 0..7, b: 8..15) clamped to [lo, hi] (bytes of Q's range, lo8 and hi8) as ch
// bytes: saturating packs, then the clamp on bytes.
template <typename Q>
inline void store16(__m256i a, __m256i b, __m128i lo8, __m128i hi8, int ch, Q* y) {
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);  // int16, in order
  const __m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
  const __m128i bytes = std::is_signed<Q>::value ? _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(lo, hi), lo8), hi8)
                                                 : _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(lo, hi), lo8), hi8);
  if (ch == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), bytes);
  } else {
    alignas(16) uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(y, tmp, ch);
  }
}

// A panel's outputs from its 16 sums (bias added, channels 0-7 in a, 8-15 in b), as out512.
struct Out256 {
  Rq256 rq0, rq1;
  __m128i lo8, hi8;
  template <typename Q>
  void operator()(__m256i a, __m256i b, int ch, Q* y) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    store16(rq0(a), rq1(b), lo8, hi8, ch, y);
  }
};

struct Out256F {
  __m256 scale[2], fbias[2], lo, hi;
  void operator()(__m256i a, __m256i b, int ch, float* y) const {
    alignas(32) float tmp[16];
    float* dst = ch == 16 ? y : tmp;
    for (int h = 0; h < 2; ++h) {
      __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(h == 0 ? a : b), scale[h]);
      DLCODER_RT_UNFUSED(v);
      _mm256_storeu_ps(dst + 8 * h, _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(v, fbias[h]))));
    }
    if (ch < 16) std::memcpy(y, tmp, sizeof(float) * ch);
  }
};

inline Out256 out256(const QEpilogue& e) {
  return {Rq256(e, 0), Rq256(e, 8), _mm_set1_epi8(static_cast<char>(e.lo)), _mm_set1_epi8(static_cast<char>(e.hi))};
}
inline Out256F out256(const QFloatEpilogue& e) {
  return {{_mm256_loadu_ps(e.scale), _mm256_loadu_ps(e.scale + 8)},
          {_mm256_loadu_ps(e.fbias), _mm256_loadu_ps(e.fbias + 8)},
          _mm256_set1_ps(e.lo),
          _mm256_set1_ps(e.hi)};
}
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_X86

#if defined(DLCODER_RT_NEON)
// ---- NEON requantization: vqrdmulh is SRDHM, vrshl by -rs the half-up shift -------------
struct RqNeon {
  int32x4_t mult[4], left[4], right[4];
  int32x4_t zp, lo, hi;
  explicit RqNeon(const QEpilogue& e) {
    for (int q = 0; q < 4; ++q) {
      const int32x4_t s = vld1q_s32(e.shift + 4 * q);
      mult[q] = vld1q_s32(e.mult + 4 * q);
      left[q] = vmaxq_s32(s, vdupq_n_s32(0));
      right[q] = vminq_s32(s, vdupq_n_s32(0));
    }
    zp = vdupq_n_s32(e.zero_point);
    lo = vdupq_n_s32(e.lo);
    hi = vdupq_n_s32(e.hi);
  }
  int32x4_t operator()(int32x4_t x, int q) const {
    const int32x4_t h = vrshlq_s32(vqrdmulhq_s32(vshlq_s32(x, left[q]), mult[q]), right[q]);
    return vminq_s32(vmaxq_s32(vaddq_s32(h, zp), lo), hi);
  }
};

template <typename Q>
inline void store16(const int32x4_t* v, int ch, Q* y) {
  const int16x8_t a = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
  const int16x8_t b = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
  const uint8x16_t bytes = vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(a), vmovn_s16(b)));
  if (ch == 16) {
    vst1q_u8(reinterpret_cast<uint8_t*>(y), bytes);
  } else {
    uint8_t tmp[16];
    vst1q_u8(tmp, bytes);
    std::memcpy(y, tmp, ch);
  }
}

// A panel's outputs from its 16 sums (bias added, 4 per vector), as out512.
struct OutNeon {
  RqNeon rq;
  template <typename Q>
  void operator()(const int32x4_t* s, int ch, Q* y) const {
    int32x4_t v[4];
    for (int q = 0; q < 4; ++q) v[q] = rq(s[q], q);
    store16(v, ch, y);
  }
};

struct OutNeonF {
  float32x4_t scale[4], fbias[4], lo, hi;
  void operator()(const int32x4_t* s, int ch, float* y) const {
    float tmp[16];
    float* dst = ch == 16 ? y : tmp;
    for (int q = 0; q < 4; ++q) {
      float32x4_t v = vmulq_f32(vcvtq_f32_s32(s[q]), scale[q]);
      DLCODER_RT_UNFUSED(v);
      v = vaddq_f32(v, fbias[q]);
      // std::max(v, lo), std::min(v, hi): v unless it lies past the bound
      v = vbslq_f32(vcltq_f32(v, lo), lo, v);
      vst1q_f32(dst + 4 * q, vbslq_f32(vcltq_f32(hi, v), hi, v));
    }
    if (ch < 16) std::memcpy(y, tmp, sizeof(float) * ch);
  }
};

inline OutNeon out_neon(const QEpilogue& e) { return {RqNeon(e)}; }
inline OutNeonF out_neon(const QFloatEpilogue& e) {
  OutNeonF o;
  for (int q = 0; q < 4; ++q) {
    o.scale[q] = vld1q_f32(e.scale + 4 * q);
    o.fbias[q] = vld1q_f32(e.fbias + 4 * q);
  }
  o.lo = vdupq_n_f32(e.lo);
  o.hi = vdupq_n_f32(e.hi);
  return o;
}
#endif  // DLCODER_RT_NEON

}  // namespace qsimd
}  // namespace dlcoder_rt
