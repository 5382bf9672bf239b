// Quantized DEPTHWISE_CONV_2D kernels, depth multiplier 1: the AVX-512 ones of int16 pairs
// (AVX2 and SSE2: simd_qdepthwise_avx2.h; VNNI: simd_qdepthwise_vnni.h; the driver:
// simd_qdepthwise_driver.h; qdepthwise.h has the entry point and the portable loop of the
// other multipliers).
//
// The generator packs everything per block of kDwLanes = 32 channels (dlcoder/ops/qdepthwise.py):
//   weights  int16 [pairs][blocks][2 halves][16 lanes][2 taps]: taps 2p and 2p+1 side by side,
//            so that one vpmaddwd multiplies both (an odd tap count ends with zero weights);
//            uint8 only: int8 keeps its weights once, as the VNNI kernels' int8 quads
//            (QDwQuads), from which these kernels rebuild a block's pairs per group of
//            output rows (quads_to_pairs);
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
// matching slice of each: the layout serves every vector width. The AVX-512 VNNI kernels
// read bias, left and rq too, per block of 64 channels (the generator pads them to whole
// blocks of 64 for int8).
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

// int8 keeps its filter in the layout of the VNNI kernels (simd_qdepthwise_vnni.h: int8
// quads, blocks of kVnniLanes channels) and the rest in QDwPacked (its w null; the
// generator pads the tables to whole blocks of kVnniLanes). The kernels of int16 pairs
// rebuild their block's filter in `pairs`, a task's scratch of (k_h * k_w + 3) / 4 * 256
// bytes (quads_to_pairs; the driver sets it).
constexpr int32_t kVnniLanes = 64;

struct QDwQuads {
  const int8_t* w;
  QDwPacked k;
  int16_t* pairs;
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

#if defined(DLCODER_RT_X86)
// The int16 pairs of the block of kDwLanes channels at c0 (the layout at the top, that
// block alone: pairs 64 apart) from the VNNI filter: channels 4u .. 4u + 3 of the block
// (lane u / 2 of half u % 2) are group g = 8 * (c0 % 64 / 32) + u of the block of 64 there,
// lane g / 4 of accumulator g % 4, four taps each.
inline void quads_to_pairs(const QDwQuads& k, int32_t out_c, int32_t taps, int32_t c0) {
  const int64_t qstride = int64_t{(out_c + kVnniLanes - 1) / kVnniLanes} * 256;
  const int8_t* src = k.w + c0 / kVnniLanes * 256;
  for (int32_t q = 0; q < (taps + 3) / 4; ++q, src += qstride) {
    for (int32_t u = 0; u < 8; ++u) {
      const int32_t g = 8 * (c0 % kVnniLanes / kDwLanes) + u;
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + g % 4 * 64 + g / 4 * 16));
      // channels 0 and 1 of the group, then 2 and 3: as dwords, taps (4q, 4q + 1), (4q + 2, 4q + 3)
      const __m128i lo = _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8), hi = _mm_srai_epi16(_mm_unpackhi_epi8(b, b), 8);
      const __m128i l = _mm_shuffle_epi32(lo, _MM_SHUFFLE(3, 1, 2, 0)), h = _mm_shuffle_epi32(hi, _MM_SHUFFLE(3, 1, 2, 0));
      int16_t* d = k.pairs + 2 * q * 64 + u % 2 * 32 + u / 2 * 8;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi64(l, h));       // pair 2q
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 64), _mm_unpackhi_epi64(l, h));  // pair 2q + 1
    }
  }
}

// The sub-block of V channels at c0 (a new block of kDwLanes rebuilds its filter first).
template <int V>
inline QDwSlice slice(const QDepthwiseParams& p, const QDwPacked& k, int32_t c0) {
  return QDwSlice::at<V>(k, p.out_c, c0);
}
template <int V>
inline QDwSlice slice(const QDepthwiseParams& p, const QDwQuads& k, int32_t c0) {
  if (c0 % kDwLanes == 0) quads_to_pairs(k, p.out_c, p.k_h * p.k_w, c0);
  const int32_t b = c0 / kDwLanes, s = c0 % kDwLanes / V;
  return {k.pairs + s * V, 64, k.k.bias + b * 32 + s * V / 2, k.k.left + b * 32 + s * V / 2,
          k.k.rq + b * 128 + s * V / 4};
}
inline const QDwPacked& tables(const QDwPacked& k) { return k; }
inline const QDwPacked& tables(const QDwQuads& k) { return k.k; }
#endif  // DLCODER_RT_X86

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
  template <typename Pk>
  Block(const QDepthwiseParams& p, const Pk& k, int32_t c0) : s(slice<kV>(p, k, c0)) {
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

template <typename Pk>
static Block block(const QDepthwiseParams& p, const Pk& k, int32_t c0) { return Block(p, k, c0); }
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
  return requant16<kAway>(_mm512_sllv_epi32(acc, k.left[h]), k.mult[h], k.add[h], k.sh[h], k.away[h]);
}

// The requantization (see the top) of 16 lanes x = acc << left, from their constants by
// parity (the VNNI kernels' too).
template <bool kAway>
static __m512i requant16(__m512i x, const __m512i* mult, const __m512i* add, const __m512i* sh, const __m512i* away) {
  __m512i pe = _mm512_mul_epi32(x, mult[0]);
  __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult[1]);
  if constexpr (kAway) {
    const __m512i tie = _mm512_set1_epi64(-(int64_t{1} << 30));
    pe = _mm512_mask_sub_epi64(pe, _mm512_cmplt_epi64_mask(pe, tie), pe, away[0]);
    po = _mm512_mask_sub_epi64(po, _mm512_cmplt_epi64_mask(po, tie), po, away[1]);
  }
  pe = _mm512_srav_epi64(_mm512_add_epi64(pe, add[0]), sh[0]);
  po = _mm512_srav_epi64(_mm512_add_epi64(po, add[1]), sh[1]);
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
#endif  // DLCODER_RT_X86

}  // namespace qdw
}  // namespace dlcoder_rt
