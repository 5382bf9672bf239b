// RESIZE_BILINEAR of int8 tensors, vectorised (resize.h: resize_bilinear_i8 dispatches here).
//
// TFLite's ResizeBilinearInteger (reference_ops, which the interpreter runs for int8) sums
// the four corners times (1024 - dy or dy) * (1024 - dx or dx) in int64 and rounds the sum
// half away from zero by 2^20, then casts to int8. For int8 every product and the sum fit
// int32 exactly: the fraction lies in [-512, 1024) (ops/spatial.py: _bilinear_table_q), so
// the weights' magnitudes sum to at most 2048 * 2048 and |sum| <= 128 * 2^22 < 2^31. The
// result is always within int8: a negative fraction (half-pixel centres, first rows and
// columns) has both corners the same pixel, else the weights are in [0, 1024]. The weight
// products are taken once per output pixel; the channels go in int32 lanes: widen, four
// multiplies, |s| + 2^19 >> 20 with the sign of s, narrowed. AVX-512 (16 lanes, masked
// tails), AVX2 (8) and NEON (8); elsewhere (SSE2 has no 32-bit multiply) resize.h's loop.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

namespace dlcoder_rt {

namespace qresize {

// f(top_left, top_right, bottom_left, bottom_right, dy, dx, out) for each output pixel of an
// integer bilinear resize, the corners and `out` pointing at `depth` channels each. P, A:
// resize.h's ResizeParams and ResizeAxisQ. Always inlined: then f, a lambda compiled for a
// vector ISA, is called from code of that ISA and can be inlined in turn (GCC keeps a call
// from plain code into code of a wider ISA).
template <class P, class A, typename T, class F>
[[gnu::always_inline]] inline void for_each_pixel(const P& p, const A& ay, const A& ax, const T* in, T* out, F&& f) {
  const int64_t row = int64_t{p.in_w} * p.depth;
  for (int32_t n = 0; n < p.batches; ++n) {
    const T* image = in + n * (p.in_h * row);
    for (int32_t y = 0; y < p.out_h; ++y) {
      const T* r0 = image + ay.lo[y] * row;
      const T* r1 = image + ay.hi[y] * row;
      for (int32_t x = 0; x < p.out_w; ++x, out += p.depth) {
        const int64_t c0 = int64_t{ax.lo[x]} * p.depth, c1 = int64_t{ax.hi[x]} * p.depth;
        f(r0 + c0, r0 + c1, r1 + c0, r1 + c1, ay.frac[y], ax.frac[x], out);
      }
    }
  }
}

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx2")
namespace avx512 {
struct V {
  using T = __m512i;
  static constexpr int N = 16;
  static constexpr bool kMasked = true;
  static T load(const int8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static T loadn(const int8_t* p, int32_t n) {
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << n) - 1), p));
  }
  static void store(int8_t* p, T v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(v)); }
  static void storen(int8_t* p, T v, int32_t n) {
    _mm512_mask_cvtepi32_storeu_epi8(p, static_cast<__mmask16>((1u << n) - 1), v);
  }
  static T set1(int32_t x) { return _mm512_set1_epi32(x); }
  static T add(T a, T b) { return _mm512_add_epi32(a, b); }
  static T mul(T a, T b) { return _mm512_mullo_epi32(a, b); }
  static T round20(T s) {
    const T q = _mm512_srai_epi32(_mm512_add_epi32(_mm512_abs_epi32(s), _mm512_set1_epi32(1 << 19)), 20);
    return _mm512_mask_sub_epi32(q, _mm512_cmplt_epi32_mask(s, _mm512_setzero_si512()), _mm512_setzero_si512(), q);
  }
};
#include "dlcoder_rt/simd_qresize_kernel.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
namespace avx2 {
struct V {
  using T = __m256i;
  static constexpr int N = 8;
  static constexpr bool kMasked = false;
  static T load(const int8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
  static T loadn(const int8_t* p, int32_t) { return load(p); }
  // the lanes are within int8 (see the top), so the saturating packs keep them
  static void store(int8_t* p, T v) {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(w, w));
  }
  static void storen(int8_t* p, T v, int32_t) { store(p, v); }
  static T set1(int32_t x) { return _mm256_set1_epi32(x); }
  static T add(T a, T b) { return _mm256_add_epi32(a, b); }
  static T mul(T a, T b) { return _mm256_mullo_epi32(a, b); }
  static T round20(T s) {
    const T q = _mm256_srai_epi32(_mm256_add_epi32(_mm256_abs_epi32(s), _mm256_set1_epi32(1 << 19)), 20);
    return _mm256_sign_epi32(q, s);  // -q where s < 0 (q is 0 where s is)
  }
};
#include "dlcoder_rt/simd_qresize_kernel.h"
}  // namespace avx2
DLCODER_RT_TARGET_END
#endif

#if defined(DLCODER_RT_NEON)
namespace neon {
struct V {
  using T = int32x4x2_t;
  static constexpr int N = 8;
  static constexpr bool kMasked = false;
  static T load(const int8_t* p) {
    const int16x8_t w = vmovl_s8(vld1_s8(p));
    return {{vmovl_s16(vget_low_s16(w)), vmovl_s16(vget_high_s16(w))}};
  }
  static T loadn(const int8_t* p, int32_t) { return load(p); }
  static void store(int8_t* p, T v) {  // truncating narrows: the low byte
    vst1_s8(p, vmovn_s16(vcombine_s16(vmovn_s32(v.val[0]), vmovn_s32(v.val[1]))));
  }
  static void storen(int8_t* p, T v, int32_t) { store(p, v); }
  static T set1(int32_t x) { return {{vdupq_n_s32(x), vdupq_n_s32(x)}}; }
  static T add(T a, T b) { return {{vaddq_s32(a.val[0], b.val[0]), vaddq_s32(a.val[1], b.val[1])}}; }
  static T mul(T a, T b) { return {{vmulq_s32(a.val[0], b.val[0]), vmulq_s32(a.val[1], b.val[1])}}; }
  static int32x4_t round20(int32x4_t s) {
    const int32x4_t q = vshrq_n_s32(vaddq_s32(vabsq_s32(s), vdupq_n_s32(1 << 19)), 20);
    return vbslq_s32(vcltq_s32(s, vdupq_n_s32(0)), vnegq_s32(q), q);
  }
  static T round20(T s) { return {{round20(s.val[0]), round20(s.val[1])}}; }
};
#include "dlcoder_rt/simd_qresize_kernel.h"
}  // namespace neon
#endif

// resize_bilinear_i8 of the ISA chosen at run time; false where none is vectorised (the
// caller then loops itself). P, A: resize.h's ResizeParams and ResizeAxisQ.
template <class P, class A>
inline bool bilinear_i8([[maybe_unused]] const P& p, [[maybe_unused]] const A& ay, [[maybe_unused]] const A& ax,
                        [[maybe_unused]] const int8_t* in, [[maybe_unused]] int8_t* out) {
  switch (runtime_byte_isa()) {
#if defined(DLCODER_RT_X86)
    case Isa::kAvx512: return avx512::bilinear_i8(p, ay, ax, in, out), true;
    case Isa::kAvx2: return avx2::bilinear_i8(p, ay, ax, in, out), true;
#endif
#if defined(DLCODER_RT_NEON)
    case Isa::kNeon: return neon::bilinear_i8(p, ay, ax, in, out), true;
#endif
    default: return false;
  }
}

}  // namespace qresize
}  // namespace dlcoder_rt
