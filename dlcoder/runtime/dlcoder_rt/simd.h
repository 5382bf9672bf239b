// Vector types per instruction set, and the per-ISA instantiation of simd_kernels.h.
//
// Each ISA gets a traits struct (T = register type, N = floats per register) compiled for
// that ISA, and a namespace (avx512, avx2, sse2, neon, scalar) in which simd_math.h, simd_binary.h and
// simd_kernels.h are included under the same target, with `V` naming the traits (and
// `VNarrow` the 8-float traits where V is wider, for narrow tiles, and `VQuad` the 4-float
// ones, for pixels of 3 to 7 channels; else V itself). Callers
// go through the dispatchers at the bottom, which pick the namespace with runtime_isa().
//
// NaN: max(a, b) and min(a, b) return a NaN b (every ISA; x86 returns b for a NaN a, NEON
// NaN), so clamps put the variable second, min(hi, max(lo, x)), and pass a NaN x as TFLite's
// clamps do. pick_max(a, b) is exactly a > b ? a : b, and pick_min(a, b) a < b ? a : b,
// lane by lane: a NaN on either side gives b. That is TFLite's MAXIMUM (el1 > el2 ? el1 :
// el2) and its max pool; on x86 (and scalar) it is max/min itself, on NEON a compare and a
// bit select. select_gt(a, b, yes, no) is a > b ? yes : no (no where either is NaN).
#pragma once

#include <type_traits>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/params.h"

namespace dlcoder_rt {



namespace simd {

struct Scalar {
  using T = float;
  static constexpr int N = 1;
  static constexpr bool kPairs = false;  // no two-float broadcasts, lane permutes (set2, permute2...)
  static constexpr bool kFma = false;    // fma(a, b, c) rounds a * b first
  static constexpr bool kLut = false;    // lut32 and scale2floor (simd_math.h: exp_core)
  static T load(const float* p) { return *p; }
  // N float16 weights (IEEE half bits), widened exactly (simd_kernels.h: load_b)
  static T load_half(const uint16_t* p) { return half_to_float(*p); }
  static T loadn(const float* p, int) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static void storen(float* p, T v, int) { *p = v; }
  static T set1(float x) { return x; }
  static T zero() { return 0.0f; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T div(T a, T b) { return a / b; }
  static T recip(T a) { return 1.0f / a; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T max(T a, T b) { return a > b ? a : b; }
  static T min(T a, T b) { return a < b ? a : b; }
  static T pick_max(T a, T b) { return max(a, b); }
  static T pick_min(T a, T b) { return min(a, b); }
  static T select_gt(T a, T b, T yes, T no) { return a > b ? yes : no; }
  static T sqrt(T a) { return std::sqrt(a); }
  static T rsqrt(T a) { return 1.0f / std::sqrt(a); }
  static T abs(T a) { return std::fabs(a); }
  static T round(T a) { return std::nearbyint(a); }
  // y * 2^n for integral n given as a float (|n| <= 254); a NaN n (y is NaN then too) is
  // not converted to int, which would be undefined
  static T scale2n(T y, T n) { return std::ldexp(y, n == n ? static_cast<int>(n) : 0); }
  static float hsum(T a) { return a; }
  static float hmax(T a) { return a; }  // the largest lane (SOFTMAX's row max)
};

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx2,fma,f16c")
struct Avx512 {
  using T = __m512;
  static constexpr int N = 16;
  static constexpr bool kPairs = true;
  static constexpr bool kFma = true;
  static constexpr bool kLut = true;
  using I = __m512i;
  static I index(const int32_t* p) { return _mm512_loadu_si512(p); }
  // lane i = idx[i] < 16 ? a[idx[i]] : b[idx[i] - 16]
  static T permute2(T a, T b, I idx) { return _mm512_permutex2var_ps(a, idx, b); }
  // p[0], p[1] in every pair of lanes: a load, not a shuffle
  static T set2(const float* p) {
    double d;
    std::memcpy(&d, p, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
  }
  static T fma_even(T a, T b, T c) { return _mm512_mask3_fmadd_ps(a, b, c, 0x5555); }  // odd lanes: c
  // lanes 4j..4j+3 = the pixel of 4 floats base + 4 * at[j], for j < 4
  static T quads(const float* base, const int32_t* at) {
    const auto q = [&](int j) { return _mm_loadu_ps(base + int64_t{at[j]} * 4); };
    const __m256 lo = _mm256_insertf128_ps(_mm256_castps128_ps256(q(0)), q(1), 1);
    const __m256 hi = _mm256_insertf128_ps(_mm256_castps128_ps256(q(2)), q(3), 1);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
  }
  // lane i = p[i / 4]
  static T spread4(const float* p) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                 _mm512_castps128_ps512(_mm_loadu_ps(p)));
  }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T load_half(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static T loadn(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void storen(float* p, T v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T zero() { return _mm512_setzero_ps(); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  // 1/a to about 1 ulp: a 14-bit estimate and one Newton step, 4x the throughput of div
  static T recip(T a) {
    const T r = _mm512_rcp14_ps(a);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(2.0f)));
  }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T pick_max(T a, T b) { return max(a, b); }
  static T pick_min(T a, T b) { return min(a, b); }
  static T select_gt(T a, T b, T yes, T no) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), no, yes);
  }
  static T sqrt(T a) { return _mm512_sqrt_ps(a); }
  // 1/sqrt(a) to about 1 ulp (1.2 measured over the positive floats): a 14-bit estimate y
  // and one Newton step as y + (y / 2)(1 - a y y), sqrt then div being 3x slower on Intel.
  // Three multiply-adds (the multiply pipes bound this loop on Zen 4): y / 2 is an integer
  // exponent decrement, exact for the y of every positive finite a (5e-20 .. 3e22; 0 and
  // inf lanes are replaced below, NaN ones stay NaN through e). The estimate is exact
  // enough on subnormals (computing a y first keeps their step in range); +-0 and inf (where
  // the step gives 0 x inf) are fixed by class in one vfixupimm: +-0 -> +-inf, +inf -> +0,
  // a signalling NaN -> quiet. Negative lanes and NaNs are NaN from the estimate.
  static T rsqrt(T a) {
    const T y = _mm512_rsqrt14_ps(a);
    const T e = _mm512_fnmadd_ps(_mm512_mul_ps(a, y), y, _mm512_set1_ps(1.0f));
    const T half_y = _mm512_castsi512_ps(_mm512_sub_epi32(_mm512_castps_si512(y), _mm512_set1_epi32(0x00800000)));
    // token responses by class (4 bits each): SNaN (1) -> QNaN(a), zero (2) -> +-inf by
    // sign, +inf (5) -> +0, every other class keeps the step's lane
    return _mm512_fixupimm_ps(_mm512_fmadd_ps(e, half_y, y), a, _mm512_set1_epi32(0x00800620), 0);
  }
  static T abs(T a) { return _mm512_abs_ps(a); }
  static T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T scale2n(T y, T n) { return _mm512_scalef_ps(y, n); }  // one instruction, any n
  static T scale2floor(T y, T t) { return _mm512_scalef_ps(y, t); }  // y * 2^floor(t)
  // lane i = table[k & 31], k the bits of idx[i] as an integer: a 32-entry table in two
  // registers, one permute (the loads are loop-invariant)
  static T lut32(const float* table, T idx) {
    return _mm512_permutex2var_ps(_mm512_loadu_ps(table), _mm512_castps_si512(idx), _mm512_loadu_ps(table + 16));
  }
  static float hsum(T a) { return _mm512_reduce_add_ps(a); }
  static float hmax(T a) { return _mm512_reduce_max_ps(a); }
};
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma,f16c")
struct Avx2 {
  using T = __m256;
  static constexpr int N = 8;
  static constexpr bool kPairs = true;
  static constexpr bool kFma = true;
  static constexpr bool kLut = false;
  using I = __m256i;
  static I index(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static T permute2(T a, T b, I idx) {  // bit 3 of idx[i] picks b
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(a, idx), _mm256_permutevar8x32_ps(b, idx),
                            _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
  }
  static T set2(const float* p) {
    double d;
    std::memcpy(&d, p, sizeof d);
    return _mm256_castpd_ps(_mm256_set1_pd(d));
  }
  static T fma_even(T a, T b, T c) { return _mm256_blend_ps(c, _mm256_fmadd_ps(a, b, c), 0x55); }
  // lanes 4j..4j+3 = the pixel of 4 floats base + 4 * at[j], for j < 2
  static T quads(const float* base, const int32_t* at) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(base + int64_t{at[0]} * 4)),
                                _mm_loadu_ps(base + int64_t{at[1]} * 4), 1);
  }
  // lane i = p[i / 4]
  static T spread4(const float* p) {
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
  }
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T load_half(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static T loadn(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void storen(float* p, T v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T zero() { return _mm256_setzero_ps(); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T div(T a, T b) { return _mm256_div_ps(a, b); }
  static T recip(T a) {  // 12-bit estimate, two Newton steps
    T r = _mm256_rcp_ps(a);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
  }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T pick_max(T a, T b) { return max(a, b); }
  static T pick_min(T a, T b) { return min(a, b); }
  static T select_gt(T a, T b, T yes, T no) {
    return _mm256_blendv_ps(no, yes, _mm256_cmp_ps(a, b, _CMP_GT_OQ));
  }
  static T sqrt(T a) { return _mm256_sqrt_ps(a); }
  // 1/sqrt(a): a 12-bit estimate and one Newton step (a few ulp). Negative and NaN lanes
  // are NaN either way; +-0, inf and subnormals (this estimate flushes them to 0) take
  // 1 / sqrt(a), and only a vector holding one pays for it.
  static T rsqrt(T a) {
    const T y = _mm256_rsqrt_ps(a);
    const T half_ay = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), a), y);
    const T r = _mm256_mul_ps(y, _mm256_fnmadd_ps(half_ay, y, _mm256_set1_ps(1.5f)));
    const T odd = _mm256_or_ps(
        _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a), _mm256_set1_ps(std::numeric_limits<float>::min()),
                      _CMP_LT_OQ),
        _mm256_cmp_ps(a, _mm256_set1_ps(std::numeric_limits<float>::infinity()), _CMP_EQ_OQ));
    if (_mm256_movemask_ps(odd) == 0) return r;
    return _mm256_blendv_ps(r, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(a)), odd);
  }
  static T abs(T a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n given as a float in [-126, 127]
  static T pow2n(T n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  // y * 2^n, in two steps so that n = 128 (or -127) does not overflow the exponent field
  static T scale2n(T y, T n) {
    const T half = round(mul(n, set1(0.5f)));
    return mul(mul(y, pow2n(half)), pow2n(sub(n, half)));
  }
  static float hsum(T a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static float hmax(T a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};
DLCODER_RT_TARGET_END

struct Sse2 {
  using T = __m128;
  static constexpr int N = 4;
  static constexpr bool kPairs = false;
  static constexpr bool kFma = false;
  static constexpr bool kLut = false;
  static T load(const float* p) { return _mm_loadu_ps(p); }
  // no F16C: the bits moved into place, with exponent 0 (zero, subnormal) renormalised by
  // a float subtraction and 31 (inf, nan) made 255; exact like half_to_float
  static T load_half(const uint16_t* p) {
    const __m128i h = _mm_unpacklo_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), _mm_setzero_si128());
    const __m128i exp_mask = _mm_set1_epi32(0x7c00 << 13);
    __m128i o = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x7fff)), 13);
    const __m128i exp = _mm_and_si128(o, exp_mask);
    o = _mm_add_epi32(o, _mm_set1_epi32((127 - 15) << 23));
    o = _mm_add_epi32(o, _mm_and_si128(_mm_cmpeq_epi32(exp, exp_mask), _mm_set1_epi32((128 - 16) << 23)));
    const __m128i tiny = _mm_cmpeq_epi32(exp, _mm_setzero_si128());
    const __m128 renorm = _mm_sub_ps(_mm_castsi128_ps(_mm_add_epi32(o, _mm_set1_epi32(1 << 23))),
                                     _mm_castsi128_ps(_mm_set1_epi32(113 << 23)));
    o = _mm_or_si128(_mm_andnot_si128(tiny, o), _mm_and_si128(tiny, _mm_castps_si128(renorm)));
    return _mm_castsi128_ps(_mm_or_si128(o, _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16)));
  }
  static T loadn(const float* p, int n) {
    alignas(16) float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i) tmp[i] = p[i];
    return _mm_load_ps(tmp);
  }
  static void store(float* p, T v) { _mm_storeu_ps(p, v); }
  static void storen(float* p, T v, int n) {
    alignas(16) float tmp[4];
    _mm_store_ps(tmp, v);
    for (int i = 0; i < n; ++i) p[i] = tmp[i];
  }
  static T set1(float x) { return _mm_set1_ps(x); }
  static T zero() { return _mm_setzero_ps(); }
  static T add(T a, T b) { return _mm_add_ps(a, b); }
  static T sub(T a, T b) { return _mm_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm_mul_ps(a, b); }
  static T div(T a, T b) { return _mm_div_ps(a, b); }
  static T recip(T a) { return _mm_div_ps(_mm_set1_ps(1.0f), a); }
  static T fma(T a, T b, T c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static T max(T a, T b) { return _mm_max_ps(a, b); }
  static T min(T a, T b) { return _mm_min_ps(a, b); }
  static T pick_max(T a, T b) { return max(a, b); }
  static T pick_min(T a, T b) { return min(a, b); }
  static T select_gt(T a, T b, T yes, T no) {
    const T m = _mm_cmpgt_ps(a, b);
    return _mm_or_ps(_mm_and_ps(m, yes), _mm_andnot_ps(m, no));
  }
  static T sqrt(T a) { return _mm_sqrt_ps(a); }
  static T rsqrt(T a) { return _mm_div_ps(_mm_set1_ps(1.0f), _mm_sqrt_ps(a)); }
  static T abs(T a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
  static T round(T a) { return _mm_cvtepi32_ps(_mm_cvtps_epi32(a)); }  // |a| < 2^31 here
  // 2^n for integral n given as a float in [-126, 127]
  static T pow2n(T n) {
    return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127)), 23));
  }
  // y * 2^n, in two steps so that n = 128 (or -127) does not overflow the exponent field
  static T scale2n(T y, T n) {
    const T half = round(mul(n, set1(0.5f)));
    return mul(mul(y, pow2n(half)), pow2n(sub(n, half)));
  }
  static float hsum(T a) {
    __m128 s = _mm_add_ps(a, _mm_movehl_ps(a, a));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static float hmax(T a) {
    __m128 s = _mm_max_ps(a, _mm_movehl_ps(a, a));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};
#endif  // DLCODER_RT_X86

#if defined(DLCODER_RT_NEON)
struct Neon {
  using T = float32x4_t;
  static constexpr int N = 4;
  static constexpr bool kPairs = false;
  static constexpr bool kFma = true;
  static constexpr bool kLut = false;
  static T load(const float* p) { return vld1q_f32(p); }
  static T load_half(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static T loadn(const float* p, int n) {
    float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i) tmp[i] = p[i];
    return vld1q_f32(tmp);
  }
  static void store(float* p, T v) { vst1q_f32(p, v); }
  static void storen(float* p, T v, int n) {
    float tmp[4];
    vst1q_f32(tmp, v);
    for (int i = 0; i < n; ++i) p[i] = tmp[i];
  }
  static T set1(float x) { return vdupq_n_f32(x); }
  static T zero() { return vdupq_n_f32(0.0f); }
  static T add(T a, T b) { return vaddq_f32(a, b); }
  static T sub(T a, T b) { return vsubq_f32(a, b); }
  static T mul(T a, T b) { return vmulq_f32(a, b); }
  static T div(T a, T b) { return vdivq_f32(a, b); }
  static T recip(T a) { return vdivq_f32(vdupq_n_f32(1.0f), a); }
  static T fma(T a, T b, T c) { return vfmaq_f32(c, a, b); }
  static T max(T a, T b) { return vmaxq_f32(a, b); }
  static T min(T a, T b) { return vminq_f32(a, b); }
  static T pick_max(T a, T b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static T pick_min(T a, T b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static T select_gt(T a, T b, T yes, T no) { return vbslq_f32(vcgtq_f32(a, b), yes, no); }
  static T sqrt(T a) { return vsqrtq_f32(a); }
  static T rsqrt(T a) { return vdivq_f32(vdupq_n_f32(1.0f), vsqrtq_f32(a)); }
  static T abs(T a) { return vabsq_f32(a); }
  static T round(T a) { return vrndnq_f32(a); }
  // 2^n for integral n given as a float in [-126, 127]
  static T pow2n(T n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
  }
  // y * 2^n, in two steps so that n = 128 (or -127) does not overflow the exponent field
  static T scale2n(T y, T n) {
    const T half = round(mul(n, set1(0.5f)));
    return mul(mul(y, pow2n(half)), pow2n(sub(n, half)));
  }
  static float hsum(T a) { return vaddvq_f32(a); }
  static float hmax(T a) { return vmaxvq_f32(a); }
};
#endif  // DLCODER_RT_NEON

}  // namespace simd

// ---- one namespace per ISA, each with the kernels of simd_kernels.h -------------------
#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx2,fma,f16c")
namespace avx512 {
using V = simd::Avx512;
using VNarrow = simd::Avx2;  // tiles of at most 8 columns would idle half of a 512-bit register
using VQuad = simd::Sse2;    // 3 to 7 channels (a pixel of 4 is one 128-bit vector)
constexpr int kMR = 12;
constexpr int kNP = 2;  // 24 accumulators of 32 registers
#include "dlcoder_rt/simd_math.h"
#include "dlcoder_rt/simd_binary.h"
#include "dlcoder_rt/simd_kernels.h"
#include "dlcoder_rt/simd_depthwise.h"
#include "dlcoder_rt/simd_pool.h"
#include "dlcoder_rt/simd_resize.h"
#include "dlcoder_rt/simd_winograd.h"
#include "dlcoder_rt/simd_channel_pad.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma,f16c")
namespace avx2 {
using V = simd::Avx2;
using VNarrow = V;
using VQuad = simd::Sse2;
constexpr int kNP = 1;
constexpr int kMR = 6;
#include "dlcoder_rt/simd_math.h"
#include "dlcoder_rt/simd_binary.h"
#include "dlcoder_rt/simd_kernels.h"
#include "dlcoder_rt/simd_depthwise.h"
#include "dlcoder_rt/simd_pool.h"
#include "dlcoder_rt/simd_resize.h"
#include "dlcoder_rt/simd_winograd.h"
#include "dlcoder_rt/simd_channel_pad.h"
}  // namespace avx2
DLCODER_RT_TARGET_END

namespace sse2 {
using V = simd::Sse2;
using VNarrow = V;
using VQuad = V;
constexpr int kNP = 1;
constexpr int kMR = 3;
#include "dlcoder_rt/simd_math.h"
#include "dlcoder_rt/simd_binary.h"
#include "dlcoder_rt/simd_kernels.h"
#include "dlcoder_rt/simd_depthwise.h"
#include "dlcoder_rt/simd_pool.h"
#include "dlcoder_rt/simd_resize.h"
#include "dlcoder_rt/simd_winograd.h"
#include "dlcoder_rt/simd_channel_pad.h"
}  // namespace sse2
#endif

#if defined(DLCODER_RT_NEON)
namespace neon {
using V = simd::Neon;
using VNarrow = V;
using VQuad = V;
constexpr int kNP = 1;
constexpr int kMR = 6;
#include "dlcoder_rt/simd_math.h"
#include "dlcoder_rt/simd_binary.h"
#include "dlcoder_rt/simd_kernels.h"
#include "dlcoder_rt/simd_depthwise.h"
#include "dlcoder_rt/simd_pool.h"
#include "dlcoder_rt/simd_resize.h"
#include "dlcoder_rt/simd_winograd.h"
#include "dlcoder_rt/simd_channel_pad.h"
}  // namespace neon
#endif

namespace scalar {
using V = simd::Scalar;
using VNarrow = V;
using VQuad = V;
constexpr int kNP = 1;
constexpr int kMR = 4;
#include "dlcoder_rt/simd_math.h"
#include "dlcoder_rt/simd_binary.h"
#include "dlcoder_rt/simd_kernels.h"
#include "dlcoder_rt/simd_depthwise.h"
#include "dlcoder_rt/simd_pool.h"
#include "dlcoder_rt/simd_resize.h"
#include "dlcoder_rt/simd_winograd.h"
#include "dlcoder_rt/simd_channel_pad.h"
}  // namespace scalar

// Calls ns::fn(args...) for the ISA chosen at run time.
#if defined(DLCODER_RT_X86)
#define DLCODER_RT_DISPATCH(fn, ...)                                    \
  switch (runtime_isa()) {                                              \
    case Isa::kAvx512: return avx512::fn(__VA_ARGS__);                  \
    case Isa::kAvx2: return avx2::fn(__VA_ARGS__);                      \
    case Isa::kSse2: return sse2::fn(__VA_ARGS__);                      \
    default: return scalar::fn(__VA_ARGS__);                            \
  }
#elif defined(DLCODER_RT_NEON)
#define DLCODER_RT_DISPATCH(fn, ...)                                    \
  switch (runtime_isa()) {                                              \
    case Isa::kNeon: return neon::fn(__VA_ARGS__);                      \
    default: return scalar::fn(__VA_ARGS__);                            \
  }
#else
#define DLCODER_RT_DISPATCH(fn, ...) return scalar::fn(__VA_ARGS__);
#endif

// Entry points used by the op kernels. B: float, or uint16_t for float16 weights
// (simd_kernels.h: load_b). kDepth: params.h, GemmDepth (the generator's choice).
template <GemmDepth kDepth = GemmDepth::kShallow, class B>
inline void gemm_f32(const GemmParams& p, const float* a, const B* b_packed, const float* bias,
                     float* c) {
  DLCODER_RT_DISPATCH(gemm<kDepth>, p, a, b_packed, bias, c)
}

// The same, split into tasks for the caller's parallel-for: by rows when there are
// enough of them for whole tiles, else by 16-column panels (each task then reads only its
// part of B, which is what bounds the small-M GEMMs of late layers and FCs).
template <GemmDepth kDepth = GemmDepth::kShallow, class B>
inline void gemm_f32(const Parallel& par, const GemmParams& p, const float* a, const B* b_packed,
                     const float* bias, float* c) {
  const int64_t macs = int64_t{p.m} * p.n * p.k;
  const int32_t panels = (p.n + 15) / 16;
  if (p.m >= 8 * kMaxMR || panels < 2) {
    parallel_ranges(par, p.m, macs, [&](int32_t, int64_t lo, int64_t hi) {
      GemmParams q = p;
      q.m = static_cast<int32_t>(hi - lo);
      q.res = p.res == nullptr ? nullptr : p.res + lo * p.ldr;
      gemm_f32<kDepth>(q, a + lo * p.lda, b_packed, bias, c + lo * p.ldc);
    });
    return;
  }
  parallel_ranges(par, panels, macs, [&](int32_t, int64_t lo, int64_t hi) {
    GemmParams q = p;
    q.n = static_cast<int32_t>(std::min<int64_t>(p.n - lo * 16, (hi - lo) * 16));
    q.res = p.res == nullptr ? nullptr : p.res + lo * 16;
    const int64_t panel = p.ldb != 0 ? 16 : int64_t{16} * p.k;
    gemm_f32<kDepth>(q, a, b_packed + lo * panel, bias == nullptr ? nullptr : bias + lo * 16, c + lo * 16);
  });
}

template <class B>  // float, or uint16_t: float16 weights
inline void scale_panel_rows_f32(int32_t panels, int32_t k, const B* packed, const float* scale,
                                 float* out) {
  DLCODER_RT_DISPATCH(scale_panel_rows, panels, k, packed, scale, out)
}

inline void pack_b_f32(int32_t k, int32_t n, const float* b, int64_t ldb, bool transposed, float* out) {
  DLCODER_RT_DISPATCH(pack_b, k, n, b, ldb, transposed, out)
}

inline void unary_f32(UnaryKind kind, int64_t n, const float* in, float* out) {
  DLCODER_RT_DISPATCH(unary, kind, n, in, out)
}

// Elementwise kernels split their output into ranges of whole vectors for the caller's
// parallel-for; an element costs them about as much as kElementMacs multiply-adds of a GEMM.
constexpr int64_t kElementMacs = 8;

inline void binary_f32(const Parallel& par, const Loop6& loop, BinaryKind kind, const float* a,
                       const float* b, float* out, Clamp<float> act) {
  int64_t total = 1;
  for (int i = 0; i < kMaxDims; ++i) total *= loop.dims[i];
  parallel_ranges(par, (total + 15) / 16, total * kElementMacs, [&](int32_t, int64_t lo, int64_t hi) {
    DLCODER_RT_DISPATCH(binary_loop, loop, kind, a, b, out, act, lo * 16, std::min(hi * 16, total))
  });
}

inline void unary_f32(const Parallel& par, UnaryKind kind, int64_t n, const float* in, float* out) {
  parallel_ranges(par, (n + 15) / 16, n * kElementMacs, [&](int32_t, int64_t lo, int64_t hi) {
    unary_f32(kind, std::min(hi * 16, n) - lo * 16, in + lo * 16, out + lo * 16);
  });
}

inline void softmax_f32_simd(int64_t rows, int32_t depth, float beta, const float* in, float* out) {
  DLCODER_RT_DISPATCH(softmax, rows, depth, beta, in, out)
}

// Layer normalisation of rows of `depth` (simd_math.h: layer_norm); in == out is allowed.
inline void layer_norm_f32(int64_t rows, int32_t depth, float eps, const float* in, const float* gamma,
                           const float* beta, float* out) {
  DLCODER_RT_DISPATCH(layer_norm, rows, depth, eps, in, gamma, beta, out)
}

// The same, split by rows.
inline void layer_norm_f32(const Parallel& par, int64_t rows, int32_t depth, float eps, const float* in,
                           const float* gamma, const float* beta, float* out) {
  parallel_ranges(par, rows, rows * depth * kElementMacs, [&](int32_t, int64_t lo, int64_t hi) {
    layer_norm_f32(hi - lo, depth, eps, in + lo * depth, gamma, beta, out + lo * depth);
  });
}

// An LSTM cell's gate arithmetic (simd_math.h: lstm_cell).
inline void lstm_cell_f32(int64_t rows, int32_t n, const int32_t* at, const float* z, const float* bias,
                          const float* c_prev, float* c, float* h) {
  DLCODER_RT_DISPATCH(lstm_cell, rows, n, at, z, bias, c_prev, c, h)
}

inline void accumulate_f32(int32_t n, const float* in, float* out) {
  DLCODER_RT_DISPATCH(accumulate, n, in, out)
}

inline void sum_rows_f32(int64_t rows, int32_t n, const float* x, int64_t ldx, float* out) {
  DLCODER_RT_DISPATCH(sum_rows, rows, n, x, ldx, out)
}

inline void sum_each_row_f32(int64_t rows, int32_t n, const float* x, int64_t ldx, float* out, int64_t ldo) {
  DLCODER_RT_DISPATCH(sum_each_row, rows, n, x, ldx, out, ldo)
}

inline void divide_by_f32(int64_t n, float* x, float d) {
  DLCODER_RT_DISPATCH(divide_by, n, x, d)
}

}  // namespace dlcoder_rt
