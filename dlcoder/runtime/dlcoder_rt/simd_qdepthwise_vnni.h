// The AVX-512 VNNI kernels of int8 DEPTHWISE_CONV_2D, depth multiplier 1: the kernel set
// qdw::vnni of the driver (simd_qdepthwise_driver.h), kVnniLanes = 64 channels per block,
// four taps to a multiply (vpdpbusd: unsigned input bytes, signed weights; the inputs
// enter as x ^ 0x80 = x + 128).
//
// Their filter is the one int8 filter of the op (dlcoder/ops/qdepthwise.py: pack_vnni;
// the kernels of int16 pairs rebuild theirs from it, simd_qdepthwise.h: quads_to_pairs):
//   w  int8 [quads][blocks][4 accumulators][16 lanes][4 taps]; lane i of accumulator a is
//      channel 16 * (i / 4) + 4 * a + i % 4 of the block: what unpacklo/unpackhi_epi8 of
//      taps 4q, 4q + 1 (and of 4q + 2, 4q + 3), then unpacklo/unpackhi_epi16 of those, give
//      within each 128-bit lane, and what packs_epi32 (0, 1), (2, 3) and packs_epi16 of the
//      two put back in channel order.
// Everything else they read from the layout all kernels share (simd_qdepthwise.h: bias,
// left, rq of the two blocks of 32 channels under a block of 64; the generator pads those
// to whole blocks of 64). Both layouts move channels in groups of four (one 128-bit lane of
// int32, or two int64 per parity): the setup of a block gathers accumulator a's groups,
// lane j of it from block j / 2 of 32, half a % 2, lane 2 * (j % 2) + a / 2, with one
// two-source permute per vector, and takes 128 * (the sum of the weights) off the bias
// (vpdpbusd of 0x80 bytes with the filter). It runs once per block and group of output
// rows (simd_qdepthwise_driver.h: kDwRowGroup).
#pragma once

#include "dlcoder_rt/simd_qdepthwise.h"

namespace dlcoder_rt {

#if defined(DLCODER_RT_X86)
namespace qdw {

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
  Block(const QDepthwiseParams& p, const QDwQuads& v, int32_t c0) {
    const int64_t b = c0 / kV;
    const int32_t quads = (p.k_h * p.k_w + 3) / 4;
    w = v.w + b * 256;
    wstride = int64_t{(p.out_c + kV - 1) / kV} * 256;
    // the shared layout's vectors: 16 lanes of half h of block 2b + s at 16 * (2s + h)
    const int32_t* bias32 = v.k.bias + b * 64;
    const int32_t* left32 = v.k.left + b * 64;
    const int64_t* rq32 = v.k.rq + b * 256;
    const __m512i one = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512i any = _mm512_setzero_si512();
    for (int a = 0; a < 4; ++a) {
      const int h = a % 2, g = a / 2;  // accumulator a: groups g and g + 2 of half h of both blocks
      const __m512i i32 = _mm512_setr_epi32(4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3, 4 * g + 8, 4 * g + 9,
                                            4 * g + 10, 4 * g + 11, 16 + 4 * g, 17 + 4 * g, 18 + 4 * g,
                                            19 + 4 * g, 24 + 4 * g, 25 + 4 * g, 26 + 4 * g, 27 + 4 * g);
      const __m512i i64 = _mm512_setr_epi64(2 * g, 2 * g + 1, 2 * g + 4, 2 * g + 5, 8 + 2 * g, 9 + 2 * g,
                                            12 + 2 * g, 13 + 2 * g);
      const auto gather32 = [&](const int32_t* t) {
        return _mm512_permutex2var_epi32(_mm512_loadu_si512(t + 16 * h), i32, _mm512_loadu_si512(t + 32 + 16 * h));
      };
      __m512i sum = _mm512_setzero_si512();
      for (int32_t q = 0; q < quads; ++q) sum = _mm512_dpbusd_epi32(sum, one, _mm512_loadu_si512(w + q * wstride + 64 * a));
      bias[a] = _mm512_sub_epi32(gather32(bias32), sum);
      left[a] = gather32(left32);
      any = _mm512_or_si512(any, left[a]);
      for (int q = 0; q < 2; ++q) {
        const int64_t* f = rq32 + 64 * h + 32 * q;
        const auto gather64 = [&](int field) {
          return _mm512_permutex2var_epi64(_mm512_loadu_si512(f + 8 * field), i64,
                                           _mm512_loadu_si512(f + 128 + 8 * field));
        };
        mult[a][q] = gather64(0);
        add[a][q] = gather64(1);
        sh[a][q] = gather64(2);
        away[a][q] = gather64(3);
      }
    }
    shl = _mm512_test_epi32_mask(any, any) != 0;
    zp = _mm512_set1_epi16(static_cast<int16_t>(p.out_zp));
    lo = _mm512_set1_epi8(static_cast<char>(p.lo));
    hi = _mm512_set1_epi8(static_cast<char>(p.hi));
  }
};

static Block block(const QDepthwiseParams& p, const QDwQuads& v, int32_t c0) { return Block(p, v, c0); }

// avx512::requant, for accumulator a
template <bool kAway>
static __m512i requant(const Block& k, int a, __m512i acc) {
  return avx512::requant16<kAway>(k.shl ? _mm512_sllv_epi32(acc, k.left[a]) : acc, k.mult[a], k.add[a], k.sh[a],
                                  k.away[a]);
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

}  // namespace qdw
#endif  // DLCODER_RT_X86

}  // namespace dlcoder_rt
