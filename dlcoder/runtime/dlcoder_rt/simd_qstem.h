// The quantized CONV_2D of a network's stem (few input channels: a 3x3 or 7x7 window on an
// RGB image) on AVX-512 VNNI + VBMI, with output pixels in the lanes instead of the GEMM's
// per-pixel im2col (simd_qlinear_driver.h: conv_rows), whose k of 27 leaves the GEMM's
// tiles mostly copying and requantizing. qlinear.h: conv2d_gemm picks it (qstem_fits).
//
// It reads the GEMM's own constants (qlinear.h: the packed weights [panels][kp / 4][16][4],
// k in the order (ky, kx, c), bias_u, mult, shift), so the generator lays out nothing new.
// Per output row:
//  1. each of the k_h input rows of the window, in the unsigned domain (x ^ 0x80 for int8),
//     is copied into the task's scratch behind pad_left columns of the input zero point and
//     followed by more of it, so nothing below has a border (a row outside the input is all
//     zero point, which the folded bias cancels, as in the GEMM);
//  2. for 16 output pixels at a time, each group of 4 consecutive k (one int32 lane per
//     pixel) is one vpermt2b of 128 bytes of a tap row: byte 4p + i of the vector is the
//     byte p * stride_w * in_c + i past the group's first tap; a group that runs into the
//     next tap row takes its last 1 to 3 bytes from that row, by a second vpermt2b and a
//     byte blend (a row of k_w * in_c >= 3 bytes: a group spans at most two);
//  3. for each output channel c, acc[c] = bias_u[c] + sum over groups of vpdpbusd(group,
//     broadcast of c's 4 weights of it): the sum of the GEMM's tile, in the same int32;
//  4. the 16 pixels of 4 channels are requantized as Rq512 does (simd_qlinear.h: the same
//     steps with one channel's constants in every lane), narrowed together as Out512::four
//     narrows four rows, and transposed with byte and dword shuffles into NHWC bytes.
// Output channels go in the GEMM's panels of 16 (4 quads; the tail panel only its quads).
// Tasks take whole output rows; every output is computed the same way whatever the split.
#pragma once

#include <cstring>

#include "dlcoder_rt/simd_qconv_direct.h"
#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

constexpr int32_t kQStemPixels = 16;  // output pixels per vector
constexpr int32_t kQStemSlack = 128;  // bytes past a copied row that the permutes read

// Whether the stem kernel takes the conv p: up to 4 input channels, no dilation, 16 pixels'
// taps of a row within the 128 bytes of two vectors (stride_w * in_c <= 8), and tap rows of
// at least 3 bytes (a group of 4 k spans at most two of them).
inline bool qstem_fits(const QConvParams& p) {
  return p.in_c <= 4 && p.dil_h == 1 && p.dil_w == 1 && p.stride_w * p.in_c <= 8 && p.k_w * p.in_c >= 3;
}

// Bytes of one copied tap row: the columns of 16-pixel blocks from -pad_left on, and slack.
inline int64_t qstem_row_bytes(const QConvParams& p) {
  const int64_t w16 = (p.out_w + kQStemPixels - 1) / kQStemPixels * kQStemPixels;
  return (((w16 - 1) * p.stride_w + p.k_w) * p.in_c + kQStemSlack + 63) & ~int64_t{63};
}

// One task's scratch (ops/qlinear.py: _stem_scratch): the group vectors of 16 pixels
// (64 bytes per group), the channels' requantization constants (32 bytes per channel of
// whole panels), the groups' table (16 bytes each) and the k_h copied rows.
inline int64_t qstem_scratch(const QConvParams& p) {
  const int64_t groups = (int64_t{p.k_h} * p.k_w * p.in_c + kQGroup - 1) / kQGroup;
  const int64_t panels = (p.out_c + kQPanel - 1) / kQPanel;
  return groups * 64 + panels * kQPanel * 32 + groups * 16 + p.k_h * qstem_row_bytes(p);
}

#if defined(DLCODER_RT_X86)
namespace qstem {

// One channel's Rq512 constants (its comment), the same in every lane.
struct Rq1 {
  int32_t mult, left, zpc, unused;
  int64_t rnd, sh;
};

inline Rq1 rq1(int32_t mult, int32_t shift, int32_t zero_point) {
  const int32_t left = std::max(shift, 0), rs = std::max(-shift, 0);
  const int64_t rnd = (int64_t{1} << 62) + (int64_t{1} << 30) + (rs > 0 ? int64_t{1} << (30 + rs) : 0);
  const int32_t zpc = static_cast<int32_t>(static_cast<uint32_t>(zero_point) - (uint32_t{1} << (31 - rs)));
  return {mult, left, zpc, 0, rnd, int64_t{rs} + 31};
}

// A group of 4 k: its first tap's byte in the copied rows, and, when it runs into the next
// tap row, that row's first byte and how many of its 4 bytes lie before it (1 to 3; 0: none).
struct Group {
  int32_t off_a, off_b, split, unused;
};

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx512vbmi,avx2,fma")

// 16 lanes of x requantized with r (Rq512::operator()), plus the zero point, not clamped;
// Left: whether any channel's multiplier shifts left (else r.left is 0).
template <bool Left>
[[gnu::always_inline]] inline __m512i requant(__m512i x, const Rq1& r) {
  // every constant a broadcast (which the instructions take as a memory operand)
  if constexpr (Left) x = _mm512_sllv_epi32(x, _mm512_set1_epi32(r.left));
  const __m512i m = _mm512_set1_epi32(r.mult), rnd = _mm512_set1_epi64(r.rnd), sh = _mm512_set1_epi64(r.sh);
  const __m512i pe = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, m), rnd), sh);
  const __m512i po = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m), rnd), sh);
  return _mm512_add_epi32(_mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB), _mm512_set1_epi32(r.zpc));
}

// Channels c..c+3 of 16 pixels (one vector each) requantized, narrowed with saturation and
// clamped (Out512::four's steps); then dword p holds pixel p's 4 channel bytes (the packs
// leave 128-bit lane L as 4 channels x pixels 4L..4L+3, which a byte permute transposes).
template <typename Q, bool Left>
[[gnu::always_inline]] inline __m512i quad(const __m512i* acc, const Rq1* rq, __m512i lo, __m512i hi, __m512i tr) {
  const __m512i w01 = _mm512_packs_epi32(requant<Left>(acc[0], rq[0]), requant<Left>(acc[1], rq[1]));
  const __m512i w23 = _mm512_packs_epi32(requant<Left>(acc[2], rq[2]), requant<Left>(acc[3], rq[3]));
  __m512i b;
  if constexpr (std::is_signed<Q>::value) {
    b = _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(w01, w23), lo), hi);
  } else {
    b = _mm512_min_epu8(_mm512_max_epu8(_mm512_packus_epi16(w01, w23), lo), hi);
  }
  return _mm512_permutexvar_epi8(tr, b);
}

// Mask of the first n bytes of a vector (none for n <= 0, all for n >= 64).
inline __mmask64 first_bytes(int64_t n) {
  return n >= 64 ? ~__mmask64{0} : n <= 0 ? __mmask64{0} : (__mmask64{1} << n) - 1;
}

template <int L, typename Q>
[[gnu::always_inline]] inline void store_lane(__m512i u, int n, int p, int ch, Q* y, int32_t ldy) {
  if (p < n) _mm_mask_storeu_epi8(y + int64_t{p} * ldy, static_cast<__mmask16>((1u << ch) - 1u),
                                  _mm512_extracti32x4_epi32(u, L));
}

// The bytes of n <= 16 pixels x ch <= 16 channels from the quads' vectors b[0..4) (dword p
// of b[q]: pixel p's channels 4q..4q+3) at y (pixel stride ldy). Panels that are the whole
// output row of a pixel (8 or 16 channels) store whole vectors; others pixel by pixel.
template <typename Q>
[[gnu::always_inline]] inline void store_pixels(const __m512i* b, int n, int ch, Q* y, int32_t ldy) {
  const __m512i t0 = _mm512_unpacklo_epi32(b[0], b[1]), t1 = _mm512_unpackhi_epi32(b[0], b[1]);
  if (ldy == 8 && ch == 8) {  // lane L of t0: pixels 4L, 4L+1; of t1: 4L+2, 4L+3
    const __m512i z0 = _mm512_permutex2var_epi64(t0, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), t1);
    const __m512i z1 = _mm512_permutex2var_epi64(t0, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), t1);
    _mm512_mask_storeu_epi8(y, first_bytes(int64_t{n} * 8), z0);
    _mm512_mask_storeu_epi8(y + 64, first_bytes(int64_t{n} * 8 - 64), z1);
    return;
  }
  const __m512i t2 = _mm512_unpacklo_epi32(b[2], b[3]), t3 = _mm512_unpackhi_epi32(b[2], b[3]);
  // lane L of u[k]: pixel 4L + k's 16 channels
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  if (ldy == 16 && ch == 16) {  // a 4 x 4 transpose of 128-bit lanes: pixels 4j..4j+3 in z_j
    const __m512i a0 = _mm512_shuffle_i64x2(u0, u1, 0x44), a1 = _mm512_shuffle_i64x2(u2, u3, 0x44);
    const __m512i a2 = _mm512_shuffle_i64x2(u0, u1, 0xEE), a3 = _mm512_shuffle_i64x2(u2, u3, 0xEE);
    const __m512i z[4] = {_mm512_shuffle_i64x2(a0, a1, 0x88), _mm512_shuffle_i64x2(a0, a1, 0xDD),
                          _mm512_shuffle_i64x2(a2, a3, 0x88), _mm512_shuffle_i64x2(a2, a3, 0xDD)};
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) _mm512_mask_storeu_epi8(y + 64 * j, first_bytes(int64_t{n} * 16 - 64 * j), z[j]);
    return;
  }
  store_lane<0>(u0, n, 0, ch, y, ldy);
  store_lane<0>(u1, n, 1, ch, y, ldy);
  store_lane<0>(u2, n, 2, ch, y, ldy);
  store_lane<0>(u3, n, 3, ch, y, ldy);
  store_lane<1>(u0, n, 4, ch, y, ldy);
  store_lane<1>(u1, n, 5, ch, y, ldy);
  store_lane<1>(u2, n, 6, ch, y, ldy);
  store_lane<1>(u3, n, 7, ch, y, ldy);
  store_lane<2>(u0, n, 8, ch, y, ldy);
  store_lane<2>(u1, n, 9, ch, y, ldy);
  store_lane<2>(u2, n, 10, ch, y, ldy);
  store_lane<2>(u3, n, 11, ch, y, ldy);
  store_lane<3>(u0, n, 12, ch, y, ldy);
  store_lane<3>(u1, n, 13, ch, y, ldy);
  store_lane<3>(u2, n, 14, ch, y, ldy);
  store_lane<3>(u3, n, 15, ch, y, ldy);
}

// acc + vpdpbusd(v, the 4 weight bytes at w in every lane): the broadcast as the
// instruction's memory operand ({1to16}), which GCC does not fold from the intrinsics
// (nor does it keep a loop's accumulators in place without it: a copy of each per step).
[[gnu::always_inline]] inline __m512i dot(__m512i acc, __m512i v, const int8_t* w) {
  __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(v), "m"(*reinterpret_cast<const int32_t*>(w)));
  return acc;
}

// One panel's NQ quads of channels for 16 pixels: the sums over the `groups` vectors at a
// (weights: the panel's [groups][16][4] bytes at w), requantized, stored.
template <int NQ, bool Left, typename Q>
inline void panel(const __m512i* a, int32_t groups, const int8_t* w, const int32_t* bias, const Rq1* rq,
                  __m512i lo, __m512i hi, __m512i tr, int n, int ch, Q* y, int32_t ldy) {
  __m512i acc[4 * NQ];
#pragma GCC unroll 16
  for (int c = 0; c < 4 * NQ; ++c) acc[c] = _mm512_set1_epi32(bias[c]);
  for (int32_t g = 0; g < groups; ++g) {
    const __m512i v = _mm512_loadu_si512(a + g);
    const int8_t* wg = w + int64_t{g} * kQPanel * kQGroup;
#pragma GCC unroll 16
    for (int c = 0; c < 4 * NQ; ++c) acc[c] = dot(acc[c], v, wg + c * kQGroup);
  }
  __m512i b[4];
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) b[q] = q < NQ ? quad<Q, Left>(acc + 4 * q, rq + 4 * q, lo, hi, tr) : _mm512_setzero_si512();
  store_pixels(b, n, ch, y, ldy);
}

// The rows of the kernel, in a task's scratch.
struct Work {
  __m512i* a;     // the group vectors of 16 pixels
  Rq1* rq;        // per channel, whole panels
  Group* groups;  // per group
  uint8_t* rows;  // k_h copied rows of row_bytes
  int64_t row_bytes;
  bool left;  // whether any channel's multiplier shifts left
};

// Output row oy of image xb (unsigned-domain pad byte `pad`, flip: Q's xor) into yr.
template <typename Q>
inline void output_row(const QConvParams& p, const Work& wk, const uint8_t* xb, int32_t oy, uint8_t pad, const int8_t* w,
                       const int32_t* bias, Q* yr) {
  constexpr uint8_t flip = kQFlip<Q>;
  const int64_t rb = wk.row_bytes, lead = int64_t{p.pad_left} * p.in_c;
  const int64_t cols = std::min<int64_t>(p.in_w, rb / p.in_c - p.pad_left);  // input columns copied
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    uint8_t* dst = wk.rows + ky * rb;
    const int32_t iy = oy * p.stride_h - p.pad_top + ky;
    if (iy < 0 || iy >= p.in_h) {
      std::memset(dst, pad, static_cast<size_t>(rb));
      continue;
    }
    std::memset(dst, pad, static_cast<size_t>(lead));
    qsimd::avx512vnni::flip_copy(xb + int64_t{iy} * p.in_w * p.in_c, cols * p.in_c, dst + lead, flip);
    std::memset(dst + lead + cols * p.in_c, pad, static_cast<size_t>(rb - lead - cols * p.in_c));
  }
  const int32_t groups = (p.k_h * p.k_w * p.in_c + kQGroup - 1) / kQGroup, step = p.stride_w * p.in_c;
  // byte 4p + i of a group's permute: tap byte p * step + i (the second row's: minus split)
  alignas(64) uint8_t idx[64];
  for (int i = 0; i < 64; ++i) idx[i] = static_cast<uint8_t>(i / 4 * step + i % 4);
  const __m512i ia = _mm512_load_si512(idx);
  __m512i next[kQGroup];  // [split]: the permute of the next tap row's bytes
  __mmask64 next_mask[kQGroup];
  for (int split = 0; split < kQGroup; ++split) {
    next[split] = _mm512_sub_epi8(ia, _mm512_set1_epi8(static_cast<char>(split)));
    next_mask[split] = 0x1111111111111111ull * ((0xFull << split) & 0xFull);
  }
  const __m512i tr = _mm512_set_epi8(63, 59, 55, 51, 62, 58, 54, 50, 61, 57, 53, 49, 60, 56, 52, 48,  //
                                     47, 43, 39, 35, 46, 42, 38, 34, 45, 41, 37, 33, 44, 40, 36, 32,  //
                                     31, 27, 23, 19, 30, 26, 22, 18, 29, 25, 21, 17, 28, 24, 20, 16,  //
                                     15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(p.lo)), hi = _mm512_set1_epi8(static_cast<char>(p.hi));
  const int32_t panels = (p.out_c + kQPanel - 1) / kQPanel, kp = qgemm_kp(p.k_h * p.k_w * p.in_c);
  for (int32_t ox0 = 0; ox0 < p.out_w; ox0 += kQStemPixels) {
    const uint8_t* base = wk.rows + int64_t{ox0} * step;
    for (int32_t g = 0; g < groups; ++g) {
      const Group& gr = wk.groups[g];
      const uint8_t* ra = base + gr.off_a;
      __m512i v = _mm512_permutex2var_epi8(_mm512_loadu_si512(ra), ia, _mm512_loadu_si512(ra + 64));
      if (gr.split != 0) {  // bytes split..3 of each pixel from the next tap row, from its byte 0
        const uint8_t* rn = base + gr.off_b;
        v = _mm512_mask_mov_epi8(v, next_mask[gr.split],
                                 _mm512_permutex2var_epi8(_mm512_loadu_si512(rn), next[gr.split], _mm512_loadu_si512(rn + 64)));
      }
      _mm512_storeu_si512(wk.a + g, v);
    }
    const int n = std::min(kQStemPixels, p.out_w - ox0);
    Q* y = yr + int64_t{ox0} * p.out_c;
    for (int32_t pn = 0; pn < panels; ++pn) {
      const int32_t c0 = pn * kQPanel, ch = std::min(kQPanel, p.out_c - c0);
      const int8_t* wp = w + int64_t{c0} * kp;
      const int32_t* bp = bias + c0;
      const Rq1* rq = wk.rq + c0;
      switch ((ch + 3) / 4 + (wk.left ? 4 : 0)) {
        case 1: panel<1, false>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        case 2: panel<2, false>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        case 3: panel<3, false>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        case 4: panel<4, false>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        case 5: panel<1, true>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        case 6: panel<2, true>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        case 7: panel<3, true>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
        default: panel<4, true>(wk.a, groups, wp, bp, rq, lo, hi, tr, n, ch, y + c0, p.out_c); break;
      }
    }
  }
}

template <typename Q>
inline void conv2d(const Parallel& par, const QConvParams& p, const Q* x, const int8_t* w, const QRequantArgs& args,
                   Q* y, void* scratch) {
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int32_t k = p.k_h * p.k_w * p.in_c, groups = (k + kQGroup - 1) / kQGroup, run = p.k_w * p.in_c;
  const int32_t panels = (p.out_c + kQPanel - 1) / kQPanel;
  const uint8_t pad = static_cast<uint8_t>(static_cast<uint8_t>(p.in_zp) ^ kQFlip<Q>);
  const int64_t macs = rows * p.out_w * p.out_c * k;
  parallel_ranges(par, rows, macs, [&](int32_t t, int64_t lo, int64_t hi) {
    uint8_t* s = par.scratch(static_cast<uint8_t*>(scratch), t);
    Work wk;
    wk.a = reinterpret_cast<__m512i*>(s);
    wk.rq = reinterpret_cast<Rq1*>(s + int64_t{groups} * 64);
    wk.groups = reinterpret_cast<Group*>(s + int64_t{groups} * 64 + int64_t{panels} * kQPanel * 32);
    wk.rows = s + int64_t{groups} * 80 + int64_t{panels} * kQPanel * 32;
    wk.row_bytes = qstem_row_bytes(p);
    wk.left = false;
    for (int32_t c = 0; c < panels * kQPanel; ++c) {
      wk.rq[c] = rq1(args.mult[c], args.shift[c], args.zero_point);
      wk.left = wk.left || wk.rq[c].left > 0;
    }
    for (int32_t g = 0; g < groups; ++g) {
      const int32_t ky = g * kQGroup / run, j = g * kQGroup % run;
      const bool split = j + kQGroup > run && ky + 1 < p.k_h;
      wk.groups[g] = {static_cast<int32_t>(ky * wk.row_bytes + j), static_cast<int32_t>((ky + 1) * wk.row_bytes),
                      split ? run - j : 0, 0};
    }
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t b = r / p.out_h;
      const int32_t oy = static_cast<int32_t>(r % p.out_h);
      output_row(p, wk, reinterpret_cast<const uint8_t*>(x) + b * p.in_h * p.in_w * p.in_c, oy, pad, w, args.bias_u,
                 y + r * p.out_w * p.out_c);
    }
  });
}

DLCODER_RT_TARGET_END
}  // namespace qstem
#endif  // DLCODER_RT_X86

}  // namespace dlcoder_rt
