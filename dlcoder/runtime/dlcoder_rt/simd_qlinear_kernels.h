// The GEMM micro-kernels of the quantized CONV_2D and FULLY_CONNECTED, one namespace per
// instruction set (simd_qlinear.h lists them and their activation domains; the drivers
// around them: simd_qlinear_driver.h).
#pragma once

#include "dlcoder_rt/simd_qrequant.h"

namespace dlcoder_rt {
namespace qsimd {

#if defined(DLCODER_RT_NEON)
// The dot-product kernels' target. GCC 12 refuses to inline vdotq_s32 (defined under
// "arch=armv8.2-a+dotprod") into some "+dotprod" functions; every CPU with the dot
// product is ARMv8.2 or later.
#if defined(__clang__)
#define DLCODER_RT_DOTPROD_TARGET "dotprod"
#else
#define DLCODER_RT_DOTPROD_TARGET "arch=armv8.2-a+dotprod"
#endif
#endif

// ---- the GEMM micro-kernels: M rows of A x one panel of 16 channels ---------------------
// Each `tile<M>` reads A rows [M][kp] and panel [kp/4][16][4], adds the panel's bias,
// requantizes and stores ch <= 16 channels of each row (row stride ldy).

namespace portable {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 1;

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  for (int r = 0; r < M; ++r) {
    int32_t acc[kQPanel];
    for (int j = 0; j < kQPanel; ++j) acc[j] = 0;
    const A* ar = a + int64_t{r} * kp;
    for (int32_t g = 0; g < kp / kQGroup; ++g) {
      const W* wg = w + int64_t{g} * kQPanel * kQGroup;
      const A* x = ar + g * kQGroup;
      for (int j = 0; j < kQPanel; ++j)
        acc[j] += int32_t{x[0]} * wg[4 * j] + int32_t{x[1]} * wg[4 * j + 1] + int32_t{x[2]} * wg[4 * j + 2] +
                  int32_t{x[3]} * wg[4 * j + 3];
    }
    epilogue_scalar(acc, e, ch, y + r * ldy);
  }
}

}  // namespace portable

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
namespace k_avx512 {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 8;

// 8 channels x 4 k of the panel as 32 int16
template <typename W>
inline __m512i wload(const W* p) {
  if constexpr (sizeof(W) == 1) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else {
    return _mm512_loadu_si512(p);
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  // acc[r][h]: channels 8h..8h+7, lane 2c holds k 0-1 of channel c, lane 2c+1 k 2-3
  __m512i acc[M][2];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    const W* wg = w + int64_t{g} * kQPanel * kQGroup;
    const __m512i w0 = wload(wg), w1 = wload(wg + 32);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      int64_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      const __m512i x = _mm512_set1_epi64(v);
      acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_madd_epi16(x, w0));
      acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_madd_epi16(x, w1));
    }
  }
  const auto out = out512(e);
  const __m512i bias = _mm512_loadu_si512(e.bias);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
    const __m512i s0 = _mm512_add_epi32(acc[r][0], _mm512_srli_epi64(acc[r][0], 32));
    const __m512i s1 = _mm512_add_epi32(acc[r][1], _mm512_srli_epi64(acc[r][1], 32));
    const __m512i s = _mm512_add_epi32(_mm512_permutex2var_epi32(s0, even, s1), bias);
    out(s, ch, y + r * ldy);
  }
}

}  // namespace k_avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
namespace k_avx512vnni {
using A = uint8_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 12;

template <typename Q>
inline void store8(__m128i b, int ch, Q* y) {
  if (ch == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), b);
  } else {
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << ch) - 1u), b);
  }
}

// The outputs of a panel's first ch <= 8 channels from their 8 sums (bias added): Out512's
// steps on ymm vectors (Rq256), half the work where zmm operations take two passes.
struct Out8 {
  Rq256 rq;
  __m128i lo8, hi8;
  explicit Out8(const QEpilogue& e)
      : rq(e, 0), lo8(_mm_set1_epi8(static_cast<char>(e.lo))), hi8(_mm_set1_epi8(static_cast<char>(e.hi))) {}
  template <typename Q>
  void operator()(__m256i s, int ch, Q* y) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m256i h = rq(s);
    if constexpr (std::is_signed<Q>::value) {
      store8(_mm_min_epi8(_mm_max_epi8(_mm256_cvtsepi32_epi8(h), lo8), hi8), ch, y);
    } else {
      const __m128i b = _mm256_cvtusepi32_epi8(_mm256_max_epi32(h, _mm256_setzero_si256()));
      store8(_mm_min_epu8(_mm_max_epu8(b, lo8), hi8), ch, y);
    }
  }
  // four rows as Out512::four: lane 0 of the packs holds channels 0-3 of rows 0..3, lane 1
  // channels 4-7; a permute puts row r at bytes 8r..8r+7
  template <typename Q>
  [[gnu::always_inline]] void four(__m256i s0, __m256i s1, __m256i s2, __m256i s3, int ch, Q* y, int64_t ldy) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m256i w01 = _mm256_packs_epi32(rq(s0), rq(s1)), w23 = _mm256_packs_epi32(rq(s2), rq(s3));
    const __m256i lo = _mm256_broadcastsi128_si256(lo8), hi = _mm256_broadcastsi128_si256(hi8);
    __m256i b;
    if constexpr (std::is_signed<Q>::value) {
      b = _mm256_min_epi8(_mm256_max_epi8(_mm256_packs_epi16(w01, w23), lo), hi);
    } else {
      b = _mm256_min_epu8(_mm256_max_epu8(_mm256_packus_epi16(w01, w23), lo), hi);
    }
    b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    const __m128i r01 = _mm256_castsi256_si128(b), r23 = _mm256_extracti128_si256(b, 1);
    store8(r01, ch, y);
    store8(_mm_unpackhi_epi64(r01, r01), ch, y + ldy);
    store8(r23, ch, y + 2 * ldy);
    store8(_mm_unpackhi_epi64(r23, r23), ch, y + 3 * ldy);
  }
};

// The float epilogue of at most 8 channels: Out512F's.
struct Out8F {
  Out512F f;
  void operator()(__m256i s, int ch, float* y) const { f(_mm512_zextsi256_si512(s), ch, y); }
  void four(__m256i s0, __m256i s1, __m256i s2, __m256i s3, int ch, float* y, int64_t ldy) const {
    f.four(_mm512_zextsi256_si512(s0), _mm512_zextsi256_si512(s1), _mm512_zextsi256_si512(s2),
           _mm512_zextsi256_si512(s3), ch, y, ldy);
  }
};

// The vectors of one tile: 16 channels (zmm), or 8 (ymm, the low half of each group of a
// panel whose channels past 8 are padding: half the vpdpbusd work of a zmm tile), and the
// epilogue of each.
struct V512 {
  using T = __m512i;
  static T bias(const int32_t* b) { return _mm512_loadu_si512(b); }
  static T zero() { return _mm512_setzero_si512(); }
  static T wload(const int8_t* p) { return _mm512_loadu_si512(p); }
  static T dot(T acc, int32_t x, T w) { return _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(x), w); }
  static T add(T a, T b) { return _mm512_add_epi32(a, b); }
  template <typename E>
  static auto out(const E& e) { return out512(e); }
};
struct V256 {
  using T = __m256i;
  static T bias(const int32_t* b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)); }
  static T zero() { return _mm256_setzero_si256(); }
  static T wload(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static T dot(T acc, int32_t x, T w) { return _mm256_dpbusd_epi32(acc, _mm256_set1_epi32(x), w); }
  static T add(T a, T b) { return _mm256_add_epi32(a, b); }
  static Out8 out(const QEpilogue& e) { return Out8(e); }
  static Out8F out(const QFloatEpilogue& e) { return {out512(e)}; }
};

// The outputs of M rows (sums acc[0..M)): in fours, then one by one (Out512: its rows()).
template <int M, typename O, typename T, typename Y>
[[gnu::always_inline]] inline void out_rows(const O& out, const T* acc, int ch, Y* y, int64_t ldy) {
  if constexpr (std::is_same<O, Out512>::value) {
    out.template rows<M>(acc, ch, y, ldy);
  } else {
    int r = 0;
#pragma GCC unroll 3
    for (; r + 4 <= M; r += 4) out.four(acc[r], acc[r + 1], acc[r + 2], acc[r + 3], ch, y + r * ldy, ldy);
#pragma GCC unroll 3
    for (; r < M; ++r) out(acc[r], ch, y + r * ldy);
  }
}

// M rows x one panel in vectors V. Rows of fewer than 4 take the groups of k in S
// interleaved chains of accumulators (g mod S), summed at the end, so that 4 vpdpbusd
// are in flight whatever M (one chain per row waits out each one's latency).
// Where the time goes (Zen 4, one vpdpbusd zmm a cycle): with the epilogue stubbed out
// the GEMMs of 1x1 convs and FULLY_CONNECTED run at 96-100% of that peak, so the rest is
// the epilogue, about 7 cycles per 16 outputs that do not overlap the vpdpbusd (65% of
// peak at k 64, 87% at k 256, 97% at k 768). Beside one vpdpbusd a cycle Zen 4 runs one
// more zmm operation a cycle at most; vpmuldq (two per 16 outputs) and vpaddsw take the
// vpdpbusd's own pipes, vpackssdw, vpermd and vextracti32x4 issue at about 0.8 a cycle.
// Measured no faster (issue 19): the epilogue handed on to the next tile and run in
// pieces between its vpdpbusd (GCC then spills the 12 row pointers), 12 x 32 tiles,
// tiles of 8 or 10 rows, vpdpbusd in inline assembly, the zero point folded into Rq512's
// rounding term, the next block's A rows prefetched or filled between panels.
template <typename V, int M, typename E, typename Y>
inline void tile_v(const A* a, int32_t kp, const int8_t* w, const E& e, int ch, Y* y, int64_t ldy) {
  constexpr int S = M >= 4 ? 1 : M == 1 ? 4 : 2;
  typename V::T acc[S][M];  // the loops unrolled (GCC -O2 does not): acc stays in registers
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) {
    acc[0][r] = V::bias(e.bias);
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s) acc[s][r] = V::zero();
  }
  const int32_t groups = kp / kQGroup;
  int32_t g = 0;
  for (; g + S <= groups; g += S) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      const typename V::T wv = V::wload(w + int64_t{g + s} * kQPanel * kQGroup);
#pragma GCC unroll 12
      for (int r = 0; r < M; ++r) {
        int32_t v;
        std::memcpy(&v, a + int64_t{r} * kp + (g + s) * kQGroup, sizeof v);
        acc[s][r] = V::dot(acc[s][r], v, wv);
      }
    }
  }
  for (; g < groups; ++g) {  // S > 1: the groups past a multiple of S
    const typename V::T wv = V::wload(w + int64_t{g} * kQPanel * kQGroup);
#pragma GCC unroll 12
    for (int r = 0; r < M; ++r) {
      int32_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      acc[0][r] = V::dot(acc[0][r], v, wv);
    }
  }
  const auto out = V::out(e);
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s) acc[0][r] = V::add(acc[0][r], acc[s][r]);
  }
  out_rows<M>(out, acc[0], ch, y, ldy);
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  static_assert(sizeof(W) == 1, "vpdpbusd takes int8 weights (qlinear_path sends int16 elsewhere)");
  if (ch <= kQPanel / 2) return tile_v<V256, M>(a, kp, w, e, ch, y, ldy);
  tile_v<V512, M>(a, kp, w, e, ch, y, ldy);
}
}  // namespace k_avx512vnni
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
namespace k_avx2 {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 2;

// 4 channels x 4 k as 16 int16
template <typename W>
inline __m256i wload(const W* p) {
  if constexpr (sizeof(W) == 1) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  // acc[r][q]: channels 4q..4q+3, lane 2c k 0-1, lane 2c+1 k 2-3
  __m256i acc[M][4];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = _mm256_setzero_si256();
  }
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    const W* wg = w + int64_t{g} * kQPanel * kQGroup;
    __m256i wv[4];
#pragma GCC unroll 16
    for (int q = 0; q < 4; ++q) wv[q] = wload(wg + 16 * q);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      int64_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      const __m256i x = _mm256_set1_epi64x(v);
#pragma GCC unroll 16
      for (int q = 0; q < 4; ++q) acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(x, wv[q]));
    }
  }
  const auto out = out256(e);
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias + 8));
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
    // hadd: [c0 c1 c4 c5 | c2 c3 c6 c7] -> in order by 64-bit lanes 0 2 1 3
    const __m256i s0 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
    const __m256i s1 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);
    out(_mm256_add_epi32(s0, b0), _mm256_add_epi32(s1, b1), ch, y + r * ldy);
  }
}

}  // namespace k_avx2
DLCODER_RT_TARGET_END

namespace k_sse2 {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 1;

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  for (int r = 0; r < M; ++r) {
    __m128i acc[8];  // acc[q]: channels 2q, 2q+1 (lanes: k 0-1, k 2-3 of each)
#pragma GCC unroll 16
    for (int q = 0; q < 8; ++q) acc[q] = _mm_setzero_si128();
    const A* ar = a + int64_t{r} * kp;
    for (int32_t g = 0; g < kp / kQGroup; ++g) {
      const W* wg = w + int64_t{g} * kQPanel * kQGroup;
      int64_t v;
      std::memcpy(&v, ar + g * kQGroup, sizeof v);
      const __m128i x = _mm_set1_epi64x(v);
#pragma GCC unroll 16
      for (int h = 0; h < 4; ++h) {
        __m128i lo, hi;
        if constexpr (sizeof(W) == 1) {
          const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + 16 * h));
          lo = _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8);
          hi = _mm_srai_epi16(_mm_unpackhi_epi8(b, b), 8);
        } else {
          lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + 16 * h));
          hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + 16 * h + 8));
        }
        acc[2 * h] = _mm_add_epi32(acc[2 * h], _mm_madd_epi16(x, lo));
        acc[2 * h + 1] = _mm_add_epi32(acc[2 * h + 1], _mm_madd_epi16(x, hi));
      }
    }
    alignas(16) int32_t lanes[32];
#pragma GCC unroll 16
    for (int q = 0; q < 8; ++q) _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 4 * q), acc[q]);
    int32_t sums[kQPanel];
    for (int c = 0; c < kQPanel; ++c) sums[c] = lanes[2 * c] + lanes[2 * c + 1];
    epilogue_scalar(sums, e, ch, y + r * ldy);
  }
}

}  // namespace k_sse2
#endif  // DLCODER_RT_X86

#if defined(DLCODER_RT_NEON)
namespace k_neon {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 4;

// the panel's group g as wk[t][h]: k t of channels 8h..8h+7
template <typename W>
inline void wload(const W* p, int16x8_t wk[4][2]) {
  if constexpr (sizeof(W) == 1) {
    const int8x16x4_t v = vld4q_s8(p);
    for (int t = 0; t < 4; ++t) {
      wk[t][0] = vmovl_s8(vget_low_s8(v.val[t]));
      wk[t][1] = vmovl_high_s8(v.val[t]);
    }
  } else {
    const int16x8x4_t v0 = vld4q_s16(p), v1 = vld4q_s16(p + 32);
    for (int t = 0; t < 4; ++t) {
      wk[t][0] = v0.val[t];
      wk[t][1] = v1.val[t];
    }
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  int32x4_t acc[M][4];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = vld1q_s32(e.bias + 4 * q);
  }
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    int16x8_t wk[4][2];
    wload(w + int64_t{g} * kQPanel * kQGroup, wk);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      const int16x4_t x = vld1_s16(a + int64_t{r} * kp + g * kQGroup);
#define DLCODER_RT_QNEON_K(t)                                                   \
      acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(wk[t][0]), x, t);   \
      acc[r][1] = vmlal_high_lane_s16(acc[r][1], wk[t][0], x, t);             \
      acc[r][2] = vmlal_lane_s16(acc[r][2], vget_low_s16(wk[t][1]), x, t);   \
      acc[r][3] = vmlal_high_lane_s16(acc[r][3], wk[t][1], x, t);
      DLCODER_RT_QNEON_K(0)
      DLCODER_RT_QNEON_K(1)
      DLCODER_RT_QNEON_K(2)
      DLCODER_RT_QNEON_K(3)
#undef DLCODER_RT_QNEON_K
    }
  }
  const auto out = out_neon(e);
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) out(acc[r], ch, y + r * ldy);
}

}  // namespace k_neon

DLCODER_RT_TARGET_BEGIN(DLCODER_RT_DOTPROD_TARGET)
namespace k_neondot {
using A = int8_t;
constexpr uint8_t kAXor = 0x80;  // sdot takes signed bytes: the unsigned domain minus 128
constexpr bool kSignedA = true;
constexpr int kMR = 4;

// acc + the 4-byte dot products of a and b, lane by lane (sdot). Clang before 16 declares
// vdotq_s32 only for a translation unit built with the dot product: an instruction there.
inline int32x4_t sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__clang__)
  __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
  return acc;
#else
  return vdotq_s32(acc, a, b);
#endif
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  static_assert(sizeof(W) == 1, "sdot takes int8 weights (qlinear_path sends int16 elsewhere)");
  int32x4_t acc[M][4];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = vld1q_s32(e.bias + 4 * q);
  }
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    const W* wg = w + int64_t{g} * kQPanel * kQGroup;
    int8x16_t wv[4];
#pragma GCC unroll 16
    for (int q = 0; q < 4; ++q) wv[q] = vld1q_s8(wg + 16 * q);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      int32_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      const int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(v));
#pragma GCC unroll 16
      for (int q = 0; q < 4; ++q) acc[r][q] = sdot(acc[r][q], wv[q], x);
    }
  }
  const auto out = out_neon(e);
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) out(acc[r], ch, y + r * ldy);
}

}  // namespace k_neondot
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_NEON

}  // namespace qsimd
}  // namespace dlcoder_rt
