// The AVX2 and SSE2 kernels of quantized DEPTHWISE_CONV_2D, depth multiplier 1: 16 and 8
// channels of the layout of simd_qdepthwise.h at a time (the driver:
// simd_qdepthwise_driver.h).
#pragma once

#include "dlcoder_rt/simd_qdepthwise.h"

namespace dlcoder_rt {
namespace qdw {

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx2,fma")
struct avx2 {
static constexpr int kV = 16;
static constexpr int kGroup = 2;
static constexpr bool kMasked = false;  // partial blocks go through staged copies
static constexpr bool kSplit = false;

// AVX2 has no 64-bit arithmetic shift: P + add is shifted logically with 2^62 added (P +
// add + 2^62 lies in [0, 2^64)), which adds 2^(62 - sh) = 2^(31 - rs) to the low 32 bits
// of the quotient; `zpc` = zero point minus that, per lane.
struct Block {
  QDwSlice s;
  __m256i bias[2], left[2], mult[2][2], add[2][2], sh[2][2], away[2][2], zpc[2];
  __m128i lo, hi;
  template <typename Pk>
  Block(const QDepthwiseParams& p, const Pk& k, int32_t c0) : s(slice<kV>(p, k, c0)) {
    const __m256i bias62 = _mm256_set1_epi64x(int64_t{1} << 62);
    for (int h = 0; h < 2; ++h) {
      bias[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.bias + 16 * h));
      left[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.left + 16 * h));
      __m256i corr[2];
      for (int q = 0; q < 2; ++q) {
        const int64_t* f = s.rq + 64 * h + 32 * q;
        mult[h][q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f));
        add[h][q] = _mm256_add_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(f + 8)), bias62);
        sh[h][q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f + 16));
        away[h][q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f + 24));
        corr[q] = _mm256_srlv_epi64(bias62, sh[h][q]);
      }
      const __m256i c = _mm256_blend_epi32(corr[0], _mm256_slli_epi64(corr[1], 32), 0xAA);
      zpc[h] = _mm256_sub_epi32(_mm256_set1_epi32(p.out_zp), c);
    }
    lo = _mm_set1_epi8(static_cast<char>(p.lo));
    hi = _mm_set1_epi8(static_cast<char>(p.hi));
  }
};

// float outputs (QDwHybrid): the channels' constants in channel order, 8 per vector
struct FBlock {
  QDwSlice s;
  __m256i bias[2];
  __m256 scale1[2], scale2[2], fbias[2], lo, hi;
};

template <typename Pk>
static Block block(const QDepthwiseParams& p, const Pk& k, int32_t c0) { return Block(p, k, c0); }
static FBlock block(const QDepthwiseParams& p, const QDwHybrid& k, int32_t c0) {
  FBlock b;
  b.s = QDwSlice::at<kV>(k.packed, p.out_c, c0);
  for (int h = 0; h < 2; ++h) {
    b.bias[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.s.bias + 16 * h));
    b.scale1[h] = _mm256_loadu_ps(k.scale1 + c0 + 8 * h);
    b.scale2[h] = _mm256_loadu_ps(k.scale2 + c0 + 8 * h);
    b.fbias[h] = _mm256_loadu_ps(k.fbias + c0 + 8 * h);
  }
  b.lo = _mm256_set1_ps(k.lo);
  b.hi = _mm256_set1_ps(k.hi);
  return b;
}

template <bool kAway>
static __m256i requant(const Block& k, int h, __m256i acc) {
  const __m256i x = _mm256_sllv_epi32(acc, k.left[h]);
  __m256i pe = _mm256_mul_epi32(x, k.mult[h][0]);
  __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), k.mult[h][1]);
  if constexpr (kAway) {
    const __m256i tie = _mm256_set1_epi64x(-(int64_t{1} << 30));
    pe = _mm256_sub_epi64(pe, _mm256_and_si256(_mm256_cmpgt_epi64(tie, pe), k.away[h][0]));
    po = _mm256_sub_epi64(po, _mm256_and_si256(_mm256_cmpgt_epi64(tie, po), k.away[h][1]));
  }
  pe = _mm256_srlv_epi64(_mm256_add_epi64(pe, k.add[h][0]), k.sh[h][0]);
  po = _mm256_srlv_epi64(_mm256_add_epi64(po, k.add[h][1]), k.sh[h][1]);
  return _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA), k.zpc[h]);
}

template <typename Q>
static __m256i load(const Q* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return std::is_signed<Q>::value ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
}

// The outputs of one pixel from its accumulators (the two halves), n channels to y.
template <bool kFull, bool kAway, typename Q>
static void finish(const Block& k, __m256i a0, __m256i a1, int n, Q* y) {
  const __m256i v = _mm256_packs_epi32(requant<kAway>(k, 0, a0), requant<kAway>(k, 1, a1));
  const __m128i v0 = _mm256_castsi256_si128(v), v1 = _mm256_extracti128_si256(v, 1);
  __m128i b;
  if constexpr (std::is_signed<Q>::value) {
    b = _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(v0, v1), k.lo), k.hi);
  } else {
    b = _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(v0, v1), k.lo), k.hi);
  }
  if constexpr (kFull) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
  } else {
    alignas(16) uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
    std::memcpy(y, tmp, n);
  }
}

template <bool kFull, bool kAway>
static void finish(const FBlock& k, __m256i a0, __m256i a1, int n, float* y) {
  // lanes to channel order: 128-bit lane j of half h holds channels 8j + 4h .. 8j + 4h + 3
  const __m256i acc[2] = {_mm256_permute2x128_si256(a0, a1, 0x20), _mm256_permute2x128_si256(a0, a1, 0x31)};
  alignas(32) float tmp[kV];
  float* dst = kFull ? y : tmp;
  for (int h = 0; h < 2; ++h) {
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[h]), k.scale1[h]), k.scale2[h]);
    DLCODER_RT_UNFUSED(v);
    // std::max(v, lo), std::min(v, hi) (ties and NaN give v)
    _mm256_storeu_ps(dst + 8 * h, _mm256_min_ps(k.hi, _mm256_max_ps(k.lo, _mm256_add_ps(v, k.fbias[h]))));
  }
  if constexpr (!kFull) std::memcpy(y, tmp, sizeof(float) * n);
}

template <int kPairs, bool kFull, bool kAway, typename B, typename Q, typename Y>
static void run(const B& k, const Q* const* tp, int64_t at, int64_t step, int32_t count, Y* y, int64_t ystep, int n,
                int32_t pairs) {
  if constexpr (kPairs > 0) pairs = kPairs;
  for (int32_t i = 0; i < count; ++i, y += ystep) {
    const int64_t off = at + i * step;
    __m256i a0 = k.bias[0], a1 = k.bias[1];
    const int16_t* w = k.s.w;
    for (int32_t q = 0; q < pairs; ++q, w += k.s.wstride) {
      const __m256i x0 = load(tp[2 * q] + off), x1 = load(tp[2 * q + 1] + off);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32))));
    }
    finish<kFull, kAway>(k, a0, a1, n, y);
  }
}
};
DLCODER_RT_TARGET_END

struct sse2 {
static constexpr int kV = 8;
static constexpr int kGroup = 2;
static constexpr bool kMasked = false;
static constexpr bool kSplit = false;

// SSE2 has no signed 32 x 32 -> 64 multiply: the accumulators are requantized in scalar code.
struct Block {
  QDwSlice s;
  __m128i bias[2];
  const int32_t* mult;
  const int32_t* shift;
  int32_t up;  // channels of the block that round half up
  int32_t zp, lo, hi;
  template <typename Pk>
  Block(const QDepthwiseParams& p, const Pk& k, int32_t c0)
      : s(slice<kV>(p, k, c0)), mult(tables(k).mult + c0), shift(tables(k).shift + c0),
        up(std::max(0, std::min(kV, p.vec_channels - c0))), zp(p.out_zp), lo(p.lo), hi(p.hi) {
    for (int h = 0; h < 2; ++h) bias[h] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.bias + 16 * h));
  }
};

// float outputs (QDwHybrid): the channels' constants in channel order, 4 per vector
struct FBlock {
  QDwSlice s;
  __m128i bias[2];
  __m128 scale1[2], scale2[2], fbias[2], lo, hi;
};

template <typename Pk>
static Block block(const QDepthwiseParams& p, const Pk& k, int32_t c0) { return Block(p, k, c0); }
static FBlock block(const QDepthwiseParams& p, const QDwHybrid& k, int32_t c0) {
  FBlock b;
  b.s = QDwSlice::at<kV>(k.packed, p.out_c, c0);
  for (int h = 0; h < 2; ++h) {
    b.bias[h] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.s.bias + 16 * h));
    b.scale1[h] = _mm_loadu_ps(k.scale1 + c0 + 4 * h);
    b.scale2[h] = _mm_loadu_ps(k.scale2 + c0 + 4 * h);
    b.fbias[h] = _mm_loadu_ps(k.fbias + c0 + 4 * h);
  }
  b.lo = _mm_set1_ps(k.lo);
  b.hi = _mm_set1_ps(k.hi);
  return b;
}

template <typename Q>
static __m128i load(const Q* p) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return std::is_signed<Q>::value ? _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8)
                                  : _mm_unpacklo_epi8(b, _mm_setzero_si128());
}

// The outputs of one pixel from its accumulators (channels 0-3, then 4-7), n channels to y.
template <bool kFull, bool kAway, typename Q>
static void finish(const Block& k, __m128i a0, __m128i a1, int n, Q* y) {
  alignas(16) int32_t acc[kV];
  _mm_store_si128(reinterpret_cast<__m128i*>(acc), a0);
  _mm_store_si128(reinterpret_cast<__m128i*>(acc + 4), a1);
  const int m = kFull ? kV : n;
  for (int c = 0; c < m; ++c)
    y[c] = kAway && c >= k.up ? requantize<Q, Rounding::kAway>(acc[c], k.mult[c], k.shift[c], k.zp, k.lo, k.hi)
                              : requantize<Q, Rounding::kUp>(acc[c], k.mult[c], k.shift[c], k.zp, k.lo, k.hi);
}

template <bool kFull, bool kAway>
static void finish(const FBlock& k, __m128i a0, __m128i a1, int n, float* y) {
  alignas(16) float tmp[kV];
  float* dst = kFull ? y : tmp;
  for (int h = 0; h < 2; ++h) {
    __m128 v = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(h == 0 ? a0 : a1), k.scale1[h]), k.scale2[h]);
    DLCODER_RT_UNFUSED(v);
    // std::max(v, lo), std::min(v, hi) (ties and NaN give v)
    _mm_storeu_ps(dst + 4 * h, _mm_min_ps(k.hi, _mm_max_ps(k.lo, _mm_add_ps(v, k.fbias[h]))));
  }
  if constexpr (!kFull) std::memcpy(y, tmp, sizeof(float) * n);
}

template <int kPairs, bool kFull, bool kAway, typename B, typename Q, typename Y>
static void run(const B& k, const Q* const* tp, int64_t at, int64_t step, int32_t count, Y* y, int64_t ystep, int n,
                int32_t pairs) {
  if constexpr (kPairs > 0) pairs = kPairs;
  for (int32_t i = 0; i < count; ++i, y += ystep) {
    const int64_t off = at + i * step;
    __m128i a0 = k.bias[0], a1 = k.bias[1];
    const int16_t* w = k.s.w;
    for (int32_t q = 0; q < pairs; ++q, w += k.s.wstride) {
      const __m128i x0 = load(tp[2 * q] + off), x1 = load(tp[2 * q + 1] + off);
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), _mm_loadu_si128(reinterpret_cast<const __m128i*>(w))));
      a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_unpackhi_epi16(x0, x1),
                                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 32))));
    }
    finish<kFull, kAway>(k, a0, a1, n, y);
  }
}
};
#endif  // DLCODER_RT_X86

}  // namespace qdw
}  // namespace dlcoder_rt
