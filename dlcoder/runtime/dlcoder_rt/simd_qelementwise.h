// SIMD kernels of the quantized ADD, SUB, MUL and SQUARED_DIFFERENCE (qelementwise.h has
// the functors they reproduce, the entry point and the dispatch). Included by qelementwise.h
// after those functors, never on its own.
//
// A kernel computes one segment: n consecutive output elements of one lane kind (TFLite's
// vector body or its scalar code), each operand read with stride 1 or broadcast (stride 0),
// in int32 lanes, element by element the functor's integers:
//   x * multiplier * 2^shift, the fixed-point multiply of requantize.h, is
//     h = SRDHM(x << left, m) = floor((x * m + 2^30) / 2^31) (m > 0 never saturates), then
//     h / 2^rs rounded as the op's step asks: half away from zero (rounding_divide_by_pot),
//     floored (the vector bodies' vshl by a negative count), or not at all (rs = 0). The
//     floors nest, so each is one rounding of the 64-bit product (V::mul_round):
//       floor((x * m + 2^30) / 2^(31 + rs))                          floor, none;
//       floor((x * m + 2^30 + 2^(30 + rs) - n) / 2^(31 + rs))        half away, rs > 0,
//     with n = 2^31 where h < 0, i.e. x * m < -2^30: two 64-bit products per pair of lanes
//     (even lanes, then the odd ones moved down), one shift per 64-bit lane.
//   A broadcast operand's scaled value is computed once by the functor's scalar code.
//
// One namespace per instruction set (avx512: AVX-512 F+BW+VL, 16 lanes; avx2: 8 lanes),
// each with the traits `V` and the kernels of simd_qelementwise_kernels.h compiled for it.
// SSE2 (no 32-bit signed multiply) and other CPUs take the functors (qelementwise.h); so does
// aarch64 for now.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

namespace dlcoder_rt {

// The rounding of one fixed-point step in the vector kernels' form (see the top of the file).
struct QRescale {
  int32_t mult, left, right, rs;
  bool away;  // half away from zero (rs > 0), else floored
};

// x * mult * 2^shift as multiply_by_quantized_multiplier (half away from zero).
inline QRescale qrescale_away(int32_t mult, int32_t shift) {
  const int32_t rs = shift > 0 ? 0 : -shift;
  return {mult, shift > 0 ? shift : 0, 0, rs, rs > 0};
}

// SRDHM(x << left (or >> right), mult), then floored by 2^rs.
inline QRescale qrescale_floor(int32_t mult, int32_t left, int32_t right, int32_t rs) {
  return {mult, left, right, rs, false};
}

// One 8-bit ADD/SUB input's scaling (left shift 20) exactly in int32. With v = x + offset
// (|v| <= 255), each of the three forms of add_input is one rounding of v * mult:
//   reference   RDBP(SRDHM(v << 20, m), e) = floor((v m + 2^10 + 2^(10+e) - [v<0] 2^11) / 2^(11+e))
//               (e = -shift > 0; e = 0: floor((v m + 2^10) / 2^11));
//   vector fold SRDHM(v << (20 + shift), m)  = floor((v m + 2^(10-shift)) / 2^(11-shift));
//   vector floor SRDHM(v << 20, m) >> e      = floor((v m + 2^10) / 2^(11+e)),
// i.e. floor((v m + c - [v<0] neg) / 2^k) = v q + floor((v r + c - [v<0] neg) / 2^k) with
// m = q 2^k + r: both products fit int32 while k <= 23 (scales less than 2^12 apart).
struct QInput32 {
  int32_t offset, q, r, c, neg, k;
};

inline bool qadd_input32(int32_t left, int32_t offset, int32_t mult, int32_t shift, bool vec, bool fold,
                         QInput32* in) {
  int32_t k, c, neg = 0;
  if (left != 20 || shift > 0) return false;
  if (!vec) {
    k = 11 - shift;
    c = (1 << 10) + (shift < 0 ? 1 << (10 - shift) : 0);
    neg = shift < 0 ? 1 << 11 : 0;
  } else if (fold) {
    k = 11 - shift;
    c = 1 << (k - 1);
  } else {
    k = 11 - shift;
    c = 1 << 10;
  }
  if (k > 23) return false;
  *in = {offset, mult >> k, mult & ((1 << k) - 1), c, neg, k};
  return true;
}

}  // namespace dlcoder_rt

#if defined(DLCODER_RT_X86)
namespace dlcoder_rt {
namespace qew {

// The traits: int32 lanes (T, N of them), and the int16 and byte steps of the output on
// the packed lanes. A packed vector's element order is that of the packs (interleaved by
// 128-bit lane); order8 and order16 put it back (see the kernels' Output).
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
struct I512 {
  using T = __m512i;
  static constexpr int N = 16;
  static T set1(int32_t x) { return _mm512_set1_epi32(x); }
  static T set1_16(int32_t x) { return _mm512_set1_epi16(static_cast<int16_t>(x)); }
  static T set1_8(int32_t x) { return _mm512_set1_epi8(static_cast<char>(x)); }
  static T add(T a, T b) { return _mm512_add_epi32(a, b); }
  static T sub(T a, T b) { return _mm512_sub_epi32(a, b); }
  static T mullo(T a, T b) { return _mm512_mullo_epi32(a, b); }
  static T min(T a, T b) { return _mm512_min_epi32(a, b); }
  static T max(T a, T b) { return _mm512_max_epi32(a, b); }
  static T sllv(T a, T n) { return _mm512_sllv_epi32(a, n); }
  static T srav(T a, T n) { return _mm512_srav_epi32(a, n); }
  static T srai31(T a) { return _mm512_srai_epi32(a, 31); }
  // t - d in the lanes where v < 0
  static T sub_if_negative(T t, T v, T d) { return _mm512_mask_sub_epi32(t, _mm512_movepi32_mask(v), t, d); }
  static T set1_64(int64_t x) { return _mm512_set1_epi64(x); }
  // floor((x * m + c - (away and x * m < -2^30 ? 2^31 : 0)) / 2^s) per lane, the whole
  // fixed-point step in one rounding (see the top): 64-bit products of the even lanes and
  // of the odd ones moved down, arithmetic shifts, the low halves kept
  static T mul_round(T x, T m, T c, T s, bool away) {
    const __m512i pe = _mm512_mul_epi32(x, m);
    const __m512i po = _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), m);
    __m512i ce = c, co = c;
    if (away) {
      const __m512i low = _mm512_set1_epi64(-(int64_t{1} << 30)), half = _mm512_set1_epi64(int64_t{1} << 31);
      ce = _mm512_mask_sub_epi64(c, _mm512_cmplt_epi64_mask(pe, low), c, half);
      co = _mm512_mask_sub_epi64(c, _mm512_cmplt_epi64_mask(po, low), c, half);
    }
    const __m512i e = _mm512_srav_epi64(_mm512_add_epi64(pe, ce), s);
    const __m512i o = _mm512_srav_epi64(_mm512_add_epi64(po, co), s);
    return _mm512_mask_blend_epi32(0xAAAA, e, _mm512_slli_epi64(o, 32));
  }
  // the high halves of x * m + c per lane (c 64-bit): floor((x m + c) / 2^32)
  static T mul_hi(T x, T m, T c) {
    const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, m), c);
    const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), m), c);
    return _mm512_mask_shuffle_epi32(po, 0x5555, pe, _MM_PERM_DDBB);
  }
  static T add16(T a, T b) { return _mm512_add_epi16(a, b); }
  // two int32 vectors to one of int16, saturating (vqmovn) or wrapping (vmovn)
  static T pack16(T a, T b, bool wrap) {
    if (!wrap) return _mm512_packs_epi32(a, b);
    const __m512i low = _mm512_set1_epi32(0xFFFF);
    return _mm512_packus_epi32(_mm512_and_si512(a, low), _mm512_and_si512(b, low));
  }
  // two int16 vectors to one of Q's bytes, saturating
  template <typename Q>
  static T pack8(T a, T b) {
    return std::is_signed<Q>::value ? _mm512_packs_epi16(a, b) : _mm512_packus_epi16(a, b);
  }
  template <typename Q>
  static T clamp_q(T v, T lo, T hi) {
    if constexpr (std::is_same<Q, int8_t>::value) return _mm512_min_epi8(_mm512_max_epi8(v, lo), hi);
    if constexpr (std::is_same<Q, uint8_t>::value) return _mm512_min_epu8(_mm512_max_epu8(v, lo), hi);
    if constexpr (std::is_same<Q, int16_t>::value) return _mm512_min_epi16(_mm512_max_epi16(v, lo), hi);
  }
  // bytes of four packed vectors: lane j of vector q is at dword 4j + q, wanted at 4q + j
  static T order8(T v) {
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v);
  }
  // words of two: lane j of vector q is at qword 2j + q, wanted at 4q + j
  static T order16(T v) { return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), v); }
  // the first n (<= N, may be 0 or less) elements at p, widened to int32
  template <typename Q>
  static T loadn(const Q* p, int64_t n) {
    const __mmask16 m = n >= N ? 0xFFFF : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1u);
    if constexpr (std::is_same<Q, int8_t>::value) return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p));
    if constexpr (std::is_same<Q, uint8_t>::value) return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p));
    if constexpr (std::is_same<Q, int16_t>::value) return _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(m, p));
    if constexpr (std::is_same<Q, int32_t>::value) return _mm512_maskz_loadu_epi32(m, p);
  }
  template <typename Q>
  static T load(const Q* p) {
    if constexpr (std::is_same<Q, int8_t>::value) return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    if constexpr (std::is_same<Q, uint8_t>::value) return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    if constexpr (std::is_same<Q, int16_t>::value) return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    if constexpr (std::is_same<Q, int32_t>::value) return _mm512_loadu_si512(p);
  }
  // the first n (<= 64 / sizeof(Q)) elements of a vector of Q
  template <typename Q>
  static void storen(Q* p, T v, int64_t n) {
    if constexpr (sizeof(Q) == 1) {
      _mm512_mask_storeu_epi8(p, n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1, v);
    } else {
      _mm512_mask_storeu_epi16(p, n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1, v);
    }
  }
  template <typename Q>
  static void store(Q* p, T v) { _mm512_storeu_si512(p, v); }
};
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
struct I256 {
  using T = __m256i;
  static constexpr int N = 8;
  static T set1(int32_t x) { return _mm256_set1_epi32(x); }
  static T set1_16(int32_t x) { return _mm256_set1_epi16(static_cast<int16_t>(x)); }
  static T set1_8(int32_t x) { return _mm256_set1_epi8(static_cast<char>(x)); }
  static T add(T a, T b) { return _mm256_add_epi32(a, b); }
  static T sub(T a, T b) { return _mm256_sub_epi32(a, b); }
  static T mullo(T a, T b) { return _mm256_mullo_epi32(a, b); }
  static T min(T a, T b) { return _mm256_min_epi32(a, b); }
  static T max(T a, T b) { return _mm256_max_epi32(a, b); }
  static T sllv(T a, T n) { return _mm256_sllv_epi32(a, n); }
  static T srav(T a, T n) { return _mm256_srav_epi32(a, n); }
  static T srai31(T a) { return _mm256_srai_epi32(a, 31); }
  static T sub_if_negative(T t, T v, T d) { return _mm256_sub_epi32(t, _mm256_and_si256(_mm256_srai_epi32(v, 31), d)); }
  static T set1_64(int64_t x) { return _mm256_set1_epi64x(x); }
  // mul_round of I512 without 64-bit arithmetic shifts: |x * m + c| < 2^62, so adding 2^62
  // makes it positive, a logical shift floors it, and 2^(62 - s) comes off again (in the
  // low halves, all that is kept)
  static T mul_round(T x, T m, T c, T s, bool away) {
    const __m256i pe = _mm256_mul_epi32(x, m);
    const __m256i po = _mm256_mul_epi32(_mm256_shuffle_epi32(x, 0xF5), m);
    const __m256i bias = _mm256_set1_epi64x(int64_t{1} << 62);
    __m256i ce = _mm256_add_epi64(c, bias), co = ce;
    if (away) {
      const __m256i low = _mm256_set1_epi64x(-(int64_t{1} << 30)), half = _mm256_set1_epi64x(int64_t{1} << 31);
      ce = _mm256_sub_epi64(ce, _mm256_and_si256(_mm256_cmpgt_epi64(low, pe), half));
      co = _mm256_sub_epi64(co, _mm256_and_si256(_mm256_cmpgt_epi64(low, po), half));
    }
    const __m256i e = _mm256_srlv_epi64(_mm256_add_epi64(pe, ce), s);
    const __m256i o = _mm256_srlv_epi64(_mm256_add_epi64(po, co), s);
    const __m256i back = _mm256_sllv_epi64(_mm256_set1_epi64x(1), _mm256_sub_epi64(_mm256_set1_epi64x(62), s));
    return _mm256_blend_epi32(_mm256_sub_epi64(e, back), _mm256_slli_epi64(_mm256_sub_epi64(o, back), 32), 0xAA);
  }
  static T mul_hi(T x, T m, T c) {
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), c);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_shuffle_epi32(x, 0xF5), m), c);
    return _mm256_blend_epi32(_mm256_shuffle_epi32(pe, 0xF5), po, 0xAA);
  }
  static T add16(T a, T b) { return _mm256_add_epi16(a, b); }
  static T pack16(T a, T b, bool wrap) {
    if (!wrap) return _mm256_packs_epi32(a, b);
    const __m256i low = _mm256_set1_epi32(0xFFFF);
    return _mm256_packus_epi32(_mm256_and_si256(a, low), _mm256_and_si256(b, low));
  }
  template <typename Q>
  static T pack8(T a, T b) {
    return std::is_signed<Q>::value ? _mm256_packs_epi16(a, b) : _mm256_packus_epi16(a, b);
  }
  template <typename Q>
  static T clamp_q(T v, T lo, T hi) {
    if constexpr (std::is_same<Q, int8_t>::value) return _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
    if constexpr (std::is_same<Q, uint8_t>::value) return _mm256_min_epu8(_mm256_max_epu8(v, lo), hi);
    if constexpr (std::is_same<Q, int16_t>::value) return _mm256_min_epi16(_mm256_max_epi16(v, lo), hi);
  }
  // lane j of vector q at dword 4j + q, wanted at 2q + j; words: qword 2j + q, wanted at 2q + j
  static T order8(T v) { return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)); }
  static T order16(T v) { return _mm256_permute4x64_epi64(v, 0xD8); }
  template <typename Q>
  static T loadn(const Q* p, int64_t n) {
    Q tmp[N] = {};
    if (n > 0) std::memcpy(tmp, p, static_cast<size_t>(std::min<int64_t>(n, N)) * sizeof(Q));
    return load(tmp);
  }
  template <typename Q>
  static T load(const Q* p) {
    if constexpr (std::is_same<Q, int8_t>::value) return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    if constexpr (std::is_same<Q, uint8_t>::value) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    if constexpr (std::is_same<Q, int16_t>::value) return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    if constexpr (std::is_same<Q, int32_t>::value) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  template <typename Q>
  static void storen(Q* p, T v, int64_t n) {
    alignas(32) Q tmp[32 / sizeof(Q)];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
    std::memcpy(p, tmp, static_cast<size_t>(n) * sizeof(Q));
  }
  template <typename Q>
  static void store(Q* p, T v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
};
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
namespace avx512 {
using V = I512;
#include "dlcoder_rt/simd_qelementwise_kernels.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
namespace avx2 {
using V = I256;
#include "dlcoder_rt/simd_qelementwise_kernels.h"
}  // namespace avx2
DLCODER_RT_TARGET_END

}  // namespace qew
}  // namespace dlcoder_rt
#endif  // DLCODER_RT_X86
