// Quantized DEPTHWISE_CONV_2D kernels, depth multiplier 1 (qdepthwise.h has the entry
// point and the portable loop of the other multipliers).
//
// The generator packs everything per block of kDwLanes = 32 channels (dlcoder/ops/qdepthwise.py):
//   weights  int16 [pairs][blocks][2 halves][16 lanes][2 taps]: taps 2p and 2p+1 side by side,
//            so that one vpmaddwd multiplies both (an odd tap count ends with zero weights);
//   lanes    lane i of half h is channel 8 * (i / 4) + 4 * h + i % 4 of the block: what
//            unpacklo/unpackhi_epi16 of two taps' channels give within each 128-bit lane,
//            and what packs_epi32(half 0, half 1) puts back in channel order;
//   bias     int32 [blocks][2][16], in lane order, folded: bias - in_zp * sum of the weights
//            over all taps; the taps outside the input then read in_zp ("zero rows"), whose
//            products cancel the fold exactly (int32 arithmetic wraps), so every output
//            pixel runs the same code, and no tap subtracts the zero point;
//   left     int32 [blocks][2][16]: max(shift, 0);
//   rq       int64 [blocks][2 halves][2 parities][4 fields][8]: for lane 2k + parity of the
//            half, the multiplier, `add`, `sh`, `away` of its channel (see requantization).
// A sub-block of V = 16 (AVX2) or 8 (SSE2) channels at c0 (a multiple of V) reads the
// matching slice of each: the layout serves every vector width.
//
// Requantization. With P = (acc << left) * mult (exact in int64) and rs = max(-shift, 0),
// multiply_by_quantized_multiplier<kUp> (requantize.h) is floor((P + add) / 2^sh) with
// add = 2^30 + (rs > 0 ? 2^(30 + rs) : 0) and sh = 31 + rs: the doubling high multiply
// rounds half up, and a floor of a floor is one floor. kAway rounds ties of a negative
// high part down: the same with 2^31 = `away` subtracted from P when P < -2^30 (only where
// rs > 0; the generator puts 0 elsewhere, and on the channels that round half up).
// TFLite rounds half up on the channels of its vector loop, [0, vec_channels), half away
// on the rest.
#pragma once

#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

constexpr int32_t kDwLanes = 32;  // channels per block of the packed layout

// The packed arrays (see above) and the plain per-channel multipliers and shifts (padded
// to whole blocks), which the scalar requantization reads.
struct QDwPacked {
  const int16_t* w;
  const int32_t* bias;
  const int32_t* left;
  const int64_t* rq;
  const int32_t* mult;
  const int32_t* shift;
};

// The dynamic-range variant (qhybrid.h): float outputs
//   y = min(max((float(acc) * scale1[c]) * scale2[c] + fbias[c], lo), hi)
// (two float multiplies, then a float add, never fused; the weight's and the input's
// scale in the order of TFLite's loop for that channel), from the packed weights and a
// bias folded at run time (`packed`: w and bias; the rest unused). scale1, scale2 and
// fbias are in channel order, padded or repeated to whole blocks as the lanes are.
struct QDwHybrid {
  QDwPacked packed;
  const float* scale1;
  const float* scale2;
  const float* fbias;
  float lo, hi;
};

// The AVX-512 VNNI kernels (int8 activations only): the same per block of kVnniLanes = 64
// channels, four taps to a multiply (vpdpbusd: unsigned input bytes, signed weights):
//   w     int8 [quads][blocks][4 accumulators][16 lanes][4 taps]; lane i of accumulator a
//         is channel 16 * (i / 4) + 4 * a + i % 4 of the block: what unpacklo/unpackhi_epi8
//         of taps 4q, 4q + 1 (and of 4q + 2, 4q + 3), then unpacklo/unpackhi_epi16 of those,
//         give within each 128-bit lane, and what packs_epi32 (0, 1), (2, 3) and packs_epi16
//         of the two put back in channel order;
//   bias  int32 [blocks][4][16]: as above, also less 128 * sum of the weights (the inputs
//         enter as x ^ 0x80 = x + 128);
//   left  int32 [blocks][4][16];
//   rq    int64 [blocks][4][2 parities][4 fields][8]: as above, accumulator a for half h.
constexpr int32_t kVnniLanes = 64;

struct QDwVnni {
  const int8_t* w;
  const int32_t* bias;
  const int32_t* left;
  const int64_t* rq;
};

// Where the sub-block of V channels at c0 starts in each packed array.
struct QDwSlice {
  const int16_t* w;     // pair 0, half 0; halves 32 apart, pairs `wstride` apart
  int64_t wstride;
  const int32_t* bias;  // half 0; halves 16 apart
  const int32_t* left;
  const int64_t* rq;    // half 0, parity 0, field 0; fields 8, parities 32, halves 64 apart

  template <int V>
  static QDwSlice at(const QDwPacked& k, int32_t out_c, int32_t c0) {
    const int32_t blocks = (out_c + kDwLanes - 1) / kDwLanes;
    const int32_t b = c0 / kDwLanes, s = c0 % kDwLanes / V;
    return {k.w + b * 64 + s * V, int64_t{blocks} * 64, k.bias + b * 32 + s * V / 2,
            k.left + b * 32 + s * V / 2, k.rq + b * 128 + s * V / 4};
  }
};

namespace qdw {

// The kernels: K::run<kPairs, kFull, kAway>(block, tp, at, step, count, y, ystep, n, pairs)
// computes `count` output pixels of one channel block, pixel i's taps at tp[t] + at + i * step
// (K::kGroup * pairs taps), its n <= K::kV channels stored at y + i * ystep. kFull: n == kV.
// kAway: some channel of the block rounds half away. kPairs: pairs (quads for vnni), or 0
// for any.

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
struct avx512 {
static constexpr int kV = 32;
static constexpr int kGroup = 2;  // taps per multiply (vpmaddwd: pairs)
static constexpr bool kMasked = true;  // partial blocks load and store through masks
static constexpr bool kSplit = true;   // run_split: two pixels of kV / 2 channels side by side

struct Block {
  QDwSlice s;
  __m512i bias[2], left[2], mult[2][2], add[2][2], sh[2][2], away[2][2];
  __m512i zp;
  __m256i lo, hi;
  Block(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0) : s(QDwSlice::at<kV>(k, p.out_c, c0)) {
    for (int h = 0; h < 2; ++h) {
      bias[h] = _mm512_loadu_si512(s.bias + 16 * h);
      left[h] = _mm512_loadu_si512(s.left + 16 * h);
      for (int q = 0; q < 2; ++q) {
        const int64_t* f = s.rq + 64 * h + 32 * q;
        mult[h][q] = _mm512_loadu_si512(f);
        add[h][q] = _mm512_loadu_si512(f + 8);
        sh[h][q] = _mm512_loadu_si512(f + 16);
        away[h][q] = _mm512_loadu_si512(f + 24);
      }
    }
    zp = _mm512_set1_epi16(static_cast<int16_t>(p.out_zp));
    lo = _mm256_set1_epi8(static_cast<char>(p.lo));
    hi = _mm256_set1_epi8(static_cast<char>(p.hi));
  }
};

// float outputs (QDwHybrid): the channels' constants in channel order, 16 per vector
struct FBlock {
  QDwSlice s;
  __m512i bias[2];
  __m512 scale1[2], scale2[2], fbias[2], lo, hi;
};

static Block block(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0) { return Block(p, k, c0); }
static FBlock block(const QDepthwiseParams& p, const QDwHybrid& k, int32_t c0) {
  FBlock b;
  b.s = QDwSlice::at<kV>(k.packed, p.out_c, c0);
  for (int h = 0; h < 2; ++h) {
    b.bias[h] = _mm512_loadu_si512(b.s.bias + 16 * h);
    b.scale1[h] = _mm512_loadu_ps(k.scale1 + c0 + 16 * h);
    b.scale2[h] = _mm512_loadu_ps(k.scale2 + c0 + 16 * h);
    b.fbias[h] = _mm512_loadu_ps(k.fbias + c0 + 16 * h);
  }
  b.lo = _mm512_set1_ps(k.lo);
  b.hi = _mm512_set1_ps(k.hi);
  return b;
}

template <bool kAway>
static __m512i requant(const Block& k, int h, __m512i acc) {
  const __m512i x = _mm512_sllv_epi32(acc, k.left[h]);
  __m512i pe = _mm512_mul_epi32(x, k.mult[h][0]);
  __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), k.mult[h][1]);
  if constexpr (kAway) {
    const __m512i tie = _mm512_set1_epi64(-(int64_t{1} << 30));
    pe = _mm512_mask_sub_epi64(pe, _mm512_cmplt_epi64_mask(pe, tie), pe, k.away[h][0]);
    po = _mm512_mask_sub_epi64(po, _mm512_cmplt_epi64_mask(po, tie), po, k.away[h][1]);
  }
  pe = _mm512_srav_epi64(_mm512_add_epi64(pe, k.add[h][0]), k.sh[h][0]);
  po = _mm512_srav_epi64(_mm512_add_epi64(po, k.add[h][1]), k.sh[h][1]);
  return _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB);  // odd lanes: low halves of po
}

template <typename Q, bool kFull>
static __m512i load(const Q* p, __mmask32 m) {
  const __m256i b = kFull ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)) : _mm256_maskz_loadu_epi8(m, p);
  return std::is_signed<Q>::value ? _mm512_cvtepi8_epi16(b) : _mm512_cvtepu8_epi16(b);
}

// The outputs of one pixel from its accumulators (the two halves), n channels to y.
template <bool kFull, bool kAway, typename Q>
static void finish(const Block& k, __m512i a0, __m512i a1, int n, Q* y) {
  const __mmask32 m = kFull ? ~__mmask32{0} : static_cast<__mmask32>((uint64_t{1} << n) - 1);
  const __m512i v = _mm512_adds_epi16(_mm512_packs_epi32(requant<kAway>(k, 0, a0), requant<kAway>(k, 1, a1)), k.zp);
  __m256i b;
  if constexpr (std::is_signed<Q>::value) {
    b = _mm256_min_epi8(_mm256_max_epi8(_mm512_cvtsepi16_epi8(v), k.lo), k.hi);
  } else {
    b = _mm512_cvtusepi16_epi8(_mm512_max_epi16(v, _mm512_setzero_si512()));
    b = _mm256_min_epu8(_mm256_max_epu8(b, k.lo), k.hi);
  }
  if constexpr (kFull) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), b);
  } else {
    _mm256_mask_storeu_epi8(y, m, b);
  }
}

template <bool kFull, bool kAway>
static void finish(const FBlock& k, __m512i a0, __m512i a1, int n, float* y) {
  // lanes to channel order: 128-bit lane j of half h holds channels 8j + 4h .. 8j + 4h + 3
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const __m512i acc[2] = {_mm512_permutex2var_epi32(a0, lo, a1), _mm512_permutex2var_epi32(a0, hi, a1)};
  for (int h = 0; h < 2; ++h) {
    __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[h]), k.scale1[h]), k.scale2[h]);
    DLCODER_RT_UNFUSED(v);
    // std::max(v, lo), std::min(v, hi) (ties and NaN give v)
    v = _mm512_min_ps(k.hi, _mm512_max_ps(k.lo, _mm512_add_ps(v, k.fbias[h])));
    if constexpr (kFull) {
      _mm512_storeu_ps(y + 16 * h, v);
    } else {
      const int c = std::max(0, std::min(16, n - 16 * h));
      _mm512_mask_storeu_ps(y + 16 * h, static_cast<__mmask16>((1u << c) - 1u), v);
    }
  }
}

template <int kPairs, bool kFull, bool kAway, typename B, typename Q, typename Y>
static void run(const B& k, const Q* const* tp, int64_t at, int64_t step, int32_t count, Y* y, int64_t ystep, int n,
                int32_t pairs) {
  if constexpr (kPairs > 0) pairs = kPairs;
  const __mmask32 m = kFull ? ~__mmask32{0} : static_cast<__mmask32>((uint64_t{1} << n) - 1);
  for (int32_t i = 0; i < count; ++i, y += ystep) {
    const int64_t off = at + i * step;
    __m512i a0 = k.bias[0], a1 = k.bias[1];
    const int16_t* w = k.s.w;
    for (int32_t q = 0; q < pairs; ++q, w += k.s.wstride) {
      const __m512i x0 = load<Q, kFull>(tp[2 * q] + off, m), x1 = load<Q, kFull>(tp[2 * q + 1] + off, m);
      a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(_mm512_unpacklo_epi16(x0, x1), _mm512_loadu_si512(w)));
      a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(_mm512_unpackhi_epi16(x0, x1), _mm512_loadu_si512(w + 32)));
    }
    finish<kFull, kAway>(k, a0, a1, n, y);
  }
}

// kV / 2 bytes at p and at p + half, widened
template <typename Q>
static __m512i load_split(const Q* p, int64_t half) {
  const __m256i b = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + half)), 1);
  return std::is_signed<Q>::value ? _mm512_cvtepi8_epi16(b) : _mm512_cvtepu8_epi16(b);
}

// run for kV / 2 channels (the generator repeats them across the block) at any stride: the
// pixels two at a time, one in each half of the vector; pair i's first pixel's taps at
// tp[t] + at + i * step, its second's `half` further; their outputs y + i * ystep, whole.
template <int kPairs, bool kAway, typename B, typename Q, typename Y>
static void run_split(const B& k, const Q* const* tp, int64_t at, int64_t step, int64_t half, int32_t count, Y* y,
                      int64_t ystep, int32_t pairs) {
  if constexpr (kPairs > 0) pairs = kPairs;
  for (int32_t i = 0; i < count; ++i, y += ystep) {
    const int64_t off = at + i * step;
    __m512i a0 = k.bias[0], a1 = k.bias[1];
    const int16_t* w = k.s.w;
    for (int32_t q = 0; q < pairs; ++q, w += k.s.wstride) {
      const __m512i x0 = load_split(tp[2 * q] + off, half), x1 = load_split(tp[2 * q + 1] + off, half);
      a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(_mm512_unpacklo_epi16(x0, x1), _mm512_loadu_si512(w)));
      a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(_mm512_unpackhi_epi16(x0, x1), _mm512_loadu_si512(w + 32)));
    }
    finish<true, kAway>(k, a0, a1, kV, y);
  }
}
};
DLCODER_RT_TARGET_END

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
  Block(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0) : s(QDwSlice::at<kV>(k, p.out_c, c0)) {
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

static Block block(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0) { return Block(p, k, c0); }
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
  Block(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0)
      : s(QDwSlice::at<kV>(k, p.out_c, c0)), mult(k.mult + c0), shift(k.shift + c0),
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

static Block block(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0) { return Block(p, k, c0); }
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
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
struct vnni {
static constexpr int kV = kVnniLanes;
static constexpr int kGroup = 4;  // taps per multiply (vpdpbusd: quads)
static constexpr bool kMasked = true;
static constexpr bool kSplit = false;

struct Block {
  const int8_t* w;  // quad 0; quads `wstride` apart, accumulators 64 apart
  int64_t wstride;
  __m512i bias[4], left[4], mult[4][2], add[4][2], sh[4][2], away[4][2];
  __m512i zp, lo, hi;
  bool shl;  // some channel shifts left
  Block(const QDepthwiseParams& p, const QDwVnni& k, int32_t c0) {
    const int64_t b = c0 / kV;
    w = k.w + b * 256;
    wstride = int64_t{(p.out_c + kV - 1) / kV} * 256;
    __m512i any = _mm512_setzero_si512();
    for (int a = 0; a < 4; ++a) {
      bias[a] = _mm512_loadu_si512(k.bias + b * 64 + 16 * a);
      left[a] = _mm512_loadu_si512(k.left + b * 64 + 16 * a);
      any = _mm512_or_si512(any, left[a]);
      for (int q = 0; q < 2; ++q) {
        const int64_t* f = k.rq + b * 256 + 64 * a + 32 * q;
        mult[a][q] = _mm512_loadu_si512(f);
        add[a][q] = _mm512_loadu_si512(f + 8);
        sh[a][q] = _mm512_loadu_si512(f + 16);
        away[a][q] = _mm512_loadu_si512(f + 24);
      }
    }
    shl = _mm512_test_epi32_mask(any, any) != 0;
    zp = _mm512_set1_epi16(static_cast<int16_t>(p.out_zp));
    lo = _mm512_set1_epi8(static_cast<char>(p.lo));
    hi = _mm512_set1_epi8(static_cast<char>(p.hi));
  }
};

static Block block(const QDepthwiseParams& p, const QDwVnni& k, int32_t c0) { return Block(p, k, c0); }

// avx512::requant, for accumulator a
template <bool kAway>
static __m512i requant(const Block& k, int a, __m512i acc) {
  const __m512i x = k.shl ? _mm512_sllv_epi32(acc, k.left[a]) : acc;
  __m512i pe = _mm512_mul_epi32(x, k.mult[a][0]);
  __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), k.mult[a][1]);
  if constexpr (kAway) {
    const __m512i tie = _mm512_set1_epi64(-(int64_t{1} << 30));
    pe = _mm512_mask_sub_epi64(pe, _mm512_cmplt_epi64_mask(pe, tie), pe, k.away[a][0]);
    po = _mm512_mask_sub_epi64(po, _mm512_cmplt_epi64_mask(po, tie), po, k.away[a][1]);
  }
  pe = _mm512_srav_epi64(_mm512_add_epi64(pe, k.add[a][0]), k.sh[a][0]);
  po = _mm512_srav_epi64(_mm512_add_epi64(po, k.add[a][1]), k.sh[a][1]);
  return _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB);  // odd lanes: low halves of po
}

// 64 input bytes of one tap as unsigned (x ^ 0x80 for int8)
template <typename Q, bool kFull>
static __m512i load(const Q* p, __mmask64 m) {
  const __m512i b = kFull ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(m, p);
  return std::is_signed<Q>::value ? _mm512_xor_si512(b, _mm512_set1_epi8(static_cast<char>(0x80))) : b;
}

// The outputs of one pixel from its four accumulators, n channels to y.
template <bool kFull, bool kAway, typename Q>
static void finish(const Block& k, const __m512i* acc, int n, Q* y) {
  const __mmask64 m = kFull ? ~__mmask64{0} : static_cast<__mmask64>((uint64_t{1} << n) - 1);
  const __m512i v01 = _mm512_adds_epi16(
      _mm512_packs_epi32(requant<kAway>(k, 0, acc[0]), requant<kAway>(k, 1, acc[1])), k.zp);
  const __m512i v23 = _mm512_adds_epi16(
      _mm512_packs_epi32(requant<kAway>(k, 2, acc[2]), requant<kAway>(k, 3, acc[3])), k.zp);
  __m512i b;
  if constexpr (std::is_signed<Q>::value) {
    b = _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(v01, v23), k.lo), k.hi);
  } else {
    b = _mm512_min_epu8(_mm512_max_epu8(_mm512_packus_epi16(v01, v23), k.lo), k.hi);
  }
  if constexpr (kFull) {
    _mm512_storeu_si512(y, b);
  } else {
    _mm512_mask_storeu_epi8(y, m, b);
  }
}

template <int kQuads, bool kFull, bool kAway, typename Q>
static void run(const Block& k, const Q* const* tp, int64_t at, int64_t step, int32_t count, Q* y, int64_t ystep,
                int n, int32_t quads) {
  if constexpr (kQuads > 0) quads = kQuads;
  const __mmask64 m = kFull ? ~__mmask64{0} : static_cast<__mmask64>((uint64_t{1} << n) - 1);
  for (int32_t i = 0; i < count; ++i, y += ystep) {
    const int64_t off = at + i * step;
    __m512i acc[4] = {k.bias[0], k.bias[1], k.bias[2], k.bias[3]};
    const int8_t* w = k.w;
    for (int32_t q = 0; q < quads; ++q, w += k.wstride) {
      const Q* const* t = tp + 4 * q;
      const __m512i x0 = load<Q, kFull>(t[0] + off, m), x1 = load<Q, kFull>(t[1] + off, m);
      const __m512i x2 = load<Q, kFull>(t[2] + off, m), x3 = load<Q, kFull>(t[3] + off, m);
      const __m512i l01 = _mm512_unpacklo_epi8(x0, x1), h01 = _mm512_unpackhi_epi8(x0, x1);
      const __m512i l23 = _mm512_unpacklo_epi8(x2, x3), h23 = _mm512_unpackhi_epi8(x2, x3);
      acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(l01, l23), _mm512_loadu_si512(w));
      acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(l01, l23), _mm512_loadu_si512(w + 64));
      acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(h01, h23), _mm512_loadu_si512(w + 128));
      acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(h01, h23), _mm512_loadu_si512(w + 192));
    }
    finish<kFull, kAway>(k, acc, n, y);
  }
}
};
DLCODER_RT_TARGET_END

// Whether the VNNI kernels beat avx512's for these channels: a block of 64 costs about 3/2
// of one of 32 (measured: 72 channels, 5x5, ran 16% slower on two blocks of 64 than on
// three of 32); fewer channels that divide 64 fill whole blocks at stride 1 (row_block).
inline bool vnni_pays(const QDepthwiseParams& p) {
  const int32_t c = p.in_c;
  return 3 * ((c + 63) / 64) < 2 * ((c + 31) / 32) || (p.stride_w == 1 && 64 % c == 0);
}
#endif  // DLCODER_RT_X86

// ---- the driver ----------------------------------------------------------------------
// Scratch of a task (pointers, then bytes): the k_h input rows of an output row; the taps
// of its interior columns and of each of its other columns (`slots` = k_h * k_w rounded up
// to 4 each, out_w + 1 sets); the taps of a staged pixel; `slots` staged taps of kDwLanes
// bytes (dlcoder/ops/qdepthwise.py: _dw_task_scratch). A kernel set multiplies K::kGroup
// taps at once: `units` = k_h * k_w / kGroup rounded up; the slots past k_h * k_w repeat
// the first tap (their weights are zero).
inline int32_t dw_slots(const QDepthwiseParams& p) { return (p.k_h * p.k_w + 3) / 4 * 4; }

// Taps for the pointers of one output row (channel 0; the kernels add the block's c0).
template <typename Q>
struct DwRowTaps {
  const Q* const* rows;  // [k_h]: input rows, or the zero row outside the input
  const Q** base;        // the interior's first column; the next ones are `step` further
  const Q** edge;        // [columns outside [ox_lo, ox_hi)][taps]
  const Q** staged;      // [taps]
  Q* stage;              // [taps][kDwLanes]
  int32_t ox_lo, ox_hi;  // the columns whose taps all lie inside the row
};

template <class K, int kPairs, bool kFull, bool kAway, typename B, typename Q, typename Y>
inline void row_block(const QDepthwiseParams& p, int32_t pairs, const B& k, const DwRowTaps<Q>& r, int32_t c0, int n,
                      Y* yr) {
  const int32_t taps = K::kGroup * pairs, slots = dw_slots(p), C = p.in_c;
  const int64_t step = int64_t{p.stride_w} * C;
  // fewer channels than a vector that divide it, at stride 1: K::kV / C neighbouring pixels
  // side by side are one vector of channels (the generator repeats the channels' packed
  // values across the block), their taps the bytes that follow each other in the row
  const int32_t group = !kFull && p.stride_w == 1 && K::kV % C == 0 ? K::kV / C : 1;
  int32_t mid = r.ox_lo;  // the interior [ox_lo, mid) runs whole, [mid, ox_hi) pixel by pixel
  if (r.ox_lo < r.ox_hi && group > 1) {
    const int32_t groups = (r.ox_hi - r.ox_lo) / group;
    K::template run<kPairs, true, kAway>(k, r.base, c0, K::kV, groups, yr + int64_t{r.ox_lo} * C + c0, K::kV,
                                         K::kV, pairs);
    mid += groups * group;
  } else if (r.ox_lo < r.ox_hi && K::kSplit && !kFull && 2 * C == K::kV) {
    // at other strides, two pixels side by side from two loads (K::run_split)
    if constexpr (K::kSplit) {
      const int32_t groups = (r.ox_hi - r.ox_lo) / 2;
      K::template run_split<kPairs, kAway>(k, r.base, c0, 2 * step, step, groups, yr + int64_t{r.ox_lo} * C + c0,
                                           2 * C, pairs);
      mid += groups * 2;
    }
  } else if (r.ox_lo < r.ox_hi && (kFull || K::kMasked)) {
    K::template run<kPairs, kFull, kAway>(k, r.base, c0, step, r.ox_hi - r.ox_lo, yr + int64_t{r.ox_lo} * C + c0,
                                          C, n, pairs);
    mid = r.ox_hi;
  }
  for (int32_t ox = 0; ox < p.out_w; ++ox) {
    if (ox >= r.ox_lo && ox < mid) continue;
    const Q* const* tp = r.base;
    int64_t at = c0 + (ox - r.ox_lo) * step;
    if (ox < r.ox_lo || ox >= r.ox_hi) {
      tp = r.edge + int64_t{ox < r.ox_lo ? ox : r.ox_lo + ox - r.ox_hi} * slots;
      at = c0;
    }
    if (!kFull && !K::kMasked) {  // n < K::kV channels: copies that may be read whole
      for (int32_t t = 0; t < taps; ++t) {
        std::memcpy(r.stage + t * kDwLanes, tp[t] + at, n);
        r.staged[t] = r.stage + t * kDwLanes;
      }
      tp = r.staged;
      at = 0;
    }
    K::template run<kPairs, kFull, kAway>(k, tp, at, 0, 1, yr + int64_t{ox} * C + c0, C, n, pairs);
  }
}

// Output rows [r0, r1) (over batch * out_h) with kernel set K. `zrow`: in_w * in_c bytes of
// the input zero point, read in place of rows and columns outside the input. `k`: the
// packed constants, QDwPacked (y of Q) or QDwHybrid (y of float).
template <class K, int kPairs, typename Q, typename Pk, typename Y>
inline void depthwise_rows(const QDepthwiseParams& p, const Q* x, const Pk& k, Y* y, const Q* zrow, void* scratch,
                           int64_t r0, int64_t r1) {
  const int32_t pairs = (p.k_h * p.k_w + K::kGroup - 1) / K::kGroup, taps = dw_slots(p), C = p.in_c;
  const Q** rows = static_cast<const Q**>(scratch);
  const Q** base = rows + p.k_h;
  const Q** edge = base + taps;
  const Q** staged = edge + int64_t{p.out_w} * taps;
  DwRowTaps<Q> r{rows, base, edge, staged, reinterpret_cast<Q*>(staged + taps), 0, 0};
  const int32_t reach = (p.k_w - 1) * p.dil_w;
  r.ox_lo = std::min(p.out_w, std::max(0, (p.pad_left + p.stride_w - 1) / p.stride_w));
  const int32_t last = p.in_w - 1 - reach + p.pad_left;
  r.ox_hi = std::max(r.ox_lo, std::min(p.out_w, last >= 0 ? last / p.stride_w + 1 : 0));
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t b = row / p.out_h;
    const int32_t oy = static_cast<int32_t>(row % p.out_h);
    for (int32_t ky = 0; ky < p.k_h; ++ky) {
      const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
      rows[ky] = iy >= 0 && iy < p.in_h ? x + (b * p.in_h + iy) * p.in_w * C : zrow;
    }
    // the taps of every column, once for all channel blocks; the taps past k_h * k_w
    // (zero weights) repeat the first
    const auto column = [&](int32_t ox, const Q** tp) {
      const int32_t ix0 = ox * p.stride_w - p.pad_left;
      for (int32_t t = 0; t < p.k_h * p.k_w; ++t) {
        const int32_t ix = ix0 + (t % p.k_w) * p.dil_w;
        tp[t] = ix >= 0 && ix < p.in_w ? rows[t / p.k_w] + int64_t{ix} * C : zrow;
      }
      for (int32_t t = p.k_h * p.k_w; t < taps; ++t) tp[t] = tp[0];
    };
    if (r.ox_lo < r.ox_hi) column(r.ox_lo, base);
    int32_t e = 0;
    for (int32_t ox = 0; ox < p.out_w; ++ox)
      if (ox < r.ox_lo || ox >= r.ox_hi) column(ox, edge + int64_t{e++} * taps);
    Y* yr = y + row * p.out_w * C;
    for (int32_t c0 = 0; c0 < C; c0 += K::kV) {
      const int n = std::min<int32_t>(K::kV, C - c0);
      const auto blk = K::block(p, k, c0);
      const bool away = c0 + n > p.vec_channels;
      const auto go = [&](auto full, auto round_away) {
        row_block<K, kPairs, decltype(full)::value, decltype(round_away)::value>(p, pairs, blk, r, c0, n, yr);
      };
      using T = std::true_type;
      using F = std::false_type;
      if (n == K::kV) {
        away ? go(T{}, T{}) : go(T{}, F{});
      } else {
        away ? go(F{}, T{}) : go(F{}, F{});
      }
    }
  }
}

template <class K, typename Q, typename Pk, typename Y>
inline void depthwise(const Parallel& par, const QDepthwiseParams& p, const Q* x, const Pk& k, Y* y, void* scratch) {
  // the zero row is the task-0 scratch's head, written before the tasks start (they only read it)
  Q* zrow = static_cast<Q*>(scratch);
  const int64_t zbytes = (int64_t{p.in_w} * p.in_c + 63) / 64 * 64;
  std::memset(zrow, static_cast<uint8_t>(p.in_zp), static_cast<size_t>(int64_t{p.in_w} * p.in_c));
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int64_t macs = rows * p.out_w * p.out_c * p.k_h * p.k_w;
  const int32_t taps = p.k_h * p.k_w;
  parallel_ranges(par, rows, macs, [&](int32_t t, int64_t r0, int64_t r1) {
    void* own = static_cast<uint8_t*>(par.scratch(static_cast<uint8_t*>(scratch), t)) + zbytes;
    constexpr int g = K::kGroup;
    if (taps == 9) return depthwise_rows<K, (9 + g - 1) / g>(p, x, k, y, zrow, own, r0, r1);
    if (taps == 25) return depthwise_rows<K, (25 + g - 1) / g>(p, x, k, y, zrow, own, r0, r1);
    depthwise_rows<K, 0>(p, x, k, y, zrow, own, r0, r1);
  });
}

}  // namespace qdw

// The instruction set of the depthwise kernels: AVX-512 needs BW (its byte and word
// instructions); without it AVX2 runs.
enum class QDwPath : int { kScalar, kSse2, kAvx2, kAvx512 };

inline QDwPath qdepthwise_path() {
  switch (runtime_isa()) {
    case Isa::kAvx512: return runtime_avx512bw() ? QDwPath::kAvx512 : QDwPath::kAvx2;
    case Isa::kAvx2: return QDwPath::kAvx2;
    case Isa::kSse2: return QDwPath::kSse2;
    default: return QDwPath::kScalar;
  }
}

}  // namespace dlcoder_rt
