// The direct int8 convolution kernel (AVX-512 VNNI, int8 weights): the GEMM of a KxK
// CONV_2D (and of TRANSPOSE_CONV's phases, qtransposeconv.h) without im2col.
//
// The input is copied into the unsigned domain (x ^ 0x80 for int8, simd_qlinear.h) with a
// border of the input zero point wide enough for every tap of every output pixel, so that
// every tap of a window is inside the copy. With in_c % 4 == 0 a group of 4 consecutive k
// of the packed weights (CONV_2D's [panels][kp/4][16][4], k = (ky * k_w + kx) * in_c + c)
// is 4 consecutive channels of one tap, i.e. 4 consecutive bytes of the copy: a tile of M
// output pixels x NP panels broadcasts each pixel's group straight from the copy (pixel r's
// window `pstep` bytes after pixel r - 1's: stride_w * in_c) and multiplies it with each
// panel's 16 x 4 weights (vpdpbusd), tap row by tap row (`rstride` bytes apart: dil_h rows
// of the copy); with dil_w == 1 a tap row's k_w taps are one run of k_w * in_c bytes, else
// tap by tap (`xstep` = dil_w * in_c bytes apart). The bias (folded with the input zero
// point's share, bias_u) starts the sums; the epilogue is the GEMM's (out512 / Out8), so the
// outputs are the GEMM's bytes, which are TFLite's.
//
// Tiles: 14 pixels x 2 panels (28 accumulators, 2 weight vectors and a broadcast in the 32
// registers: one broadcast feeds two vpdpbusd), then the odd panel in tiles of 12 pixels x
// 1 (ymm where it has at most 8 channels). Each zmm tile is a function of its own: inlined
// into the row loops, GCC ran out of general registers for the pixels' offsets and kept
// them in vector registers and on the stack (a 10-pixel tile ran at 76% of its speed).
//
// Where the time goes (Zen 4, one vpdpbusd zmm a cycle): the tile loops alone run at 98-99%
// of that peak (3x3 on 28x28x256 -> 64, k 2304); at k 576 (3x3 on 56x56x64 -> 64: 95.5%)
// the epilogue's about 7 cycles per 16 outputs (simd_qlinear_kernels.h) take about 4.5%
// and the copy about 1%. Measured no faster: Out512::four on zmm tiles (3% slower), tiles
// of 6 x 4 panels, the tap loops unrolled.
//
// CONV_2D (conv2d_direct): tasks take runs of output rows of one image; each copies the
// input rows its outputs reach (the padding rows included) into its own scratch, [rows]
// [pad_left + in_w + right][in_c] (qconv_direct_scratch: the most, a whole image's), then
// takes its panel pairs one by one, and each along its rows (the pair's weights stay in
// L1 or L2 along the rows: 7x7x512 -> 512 streamed the whole weights per output row
// otherwise), the row's pixels in blocks of at most 14 (12), sizes differing by one at
// most.
#pragma once

#include <cstring>
#include <type_traits>

#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

// A window's taps in the padded copy: k_h tap rows `rstride` bytes apart, each n_kx runs
// `xstep` bytes apart of `groups` groups of 4 bytes; pixels `pstep` bytes apart.
struct QDirectTaps {
  int32_t k_h, n_kx, groups;
  int64_t rstride, xstep, pstep;
};

// Whether conv2d_direct takes a CONV_2D of int8 weights (and the VNNI path): a window
// of more than one tap, in_c >= 8 and a multiple of 4 (ops/qlinear.py: direct_fits). It
// measured 1-2% faster than im2col + GEMM from 256 output channels too (3x3 on 7x7x512,
// 14x14x256 -> 256, 56x56x128 -> 256 stride 2), 2-15% below.
inline bool qconv_direct_fits(const QConvParams& p) {
  return p.k_h * p.k_w > 1 && p.in_c >= 8 && p.in_c % kQGroup == 0;
}

// The columns of the padded copy past the input that the last window reaches.
inline int32_t qconv_direct_right(const QConvParams& p) {
  return std::max(0, (p.out_w - 1) * p.stride_w + (p.k_w - 1) * p.dil_w + 1 - p.pad_left - p.in_w);
}

// Bytes of one task's copy: the rows of a whole image's windows (ops/qlinear.py: the same).
inline int64_t qconv_direct_scratch(const QConvParams& p) {
  const int64_t rows = int64_t{p.out_h - 1} * p.stride_h + int64_t{p.k_h - 1} * p.dil_h + 1;
  return rows * (p.pad_left + p.in_w + qconv_direct_right(p)) * p.in_c;
}

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
namespace qsimd {
namespace avx512vnni {

// dst[0..n) = src[0..n) ^ flip (the unsigned domain of a byte type): 64 bytes a vector,
// the tail by a masked load and store (no read past src + n).
inline void flip_copy(const void* src, int64_t n, uint8_t* dst, uint8_t flip) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  const __m512i f = _mm512_set1_epi8(static_cast<char>(flip));
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) _mm512_storeu_si512(dst + k, _mm512_xor_si512(_mm512_loadu_si512(s + k), f));
  if (k < n) {
    const __mmask64 m = _cvtu64_mask64(~uint64_t{0} >> (64 - (n - k)));
    _mm512_mask_storeu_epi8(dst + k, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, s + k), f));
  }
}

// Input rows [r0, r1) of image xb (in_h x in_w x in_c; rows outside it the zero point),
// `left` and `right` columns of the zero point either side, in the unsigned domain at dst.
template <typename Q>
inline void direct_pad_rows(const Q* xb, int32_t in_h, int32_t in_w, int32_t in_c, int32_t left, int32_t right,
                            int32_t r0, int32_t r1, int32_t in_zp, uint8_t* dst) {
  const uint8_t pad = static_cast<uint8_t>(static_cast<uint8_t>(in_zp) ^ kQFlip<Q>);
  const int64_t run = int64_t{in_w} * in_c, width = int64_t{left + in_w + right} * in_c;
  for (int32_t r = r0; r < r1; ++r, dst += width) {
    if (r < 0 || r >= in_h) {
      std::memset(dst, pad, static_cast<size_t>(width));
      continue;
    }
    std::memset(dst, pad, static_cast<size_t>(left) * in_c);
    uint8_t* d = dst + int64_t{left} * in_c;
    flip_copy(xb + r * run, run, d, kQFlip<Q>);
    std::memset(d + run, pad, static_cast<size_t>(right) * in_c);
  }
}

// The vectors of a tile: 16 channels (zmm) or 8 (ymm: the low half of each group of a
// panel of at most 8 channels), and the epilogue of each (out512, Out8 of simd_qlinear.h).
// vpdpbusd in inline assembly: with the intrinsic, GCC copies each accumulator out and
// back around every one (two register moves per multiply-add). kFour: rows narrowed four
// at a time (Out8::four); Out512::four measured up to 9% slower here than row by row (on
// TRANSPOSE_CONV's phases, whose short k make the epilogue a large share).
struct DirectZ16 {
  using T = __m512i;
  static constexpr bool kFour = false;
  static T bias(const int32_t* b) { return _mm512_loadu_si512(b); }
  static T wload(const int8_t* p) { return _mm512_loadu_si512(p); }
  static T bcast(int32_t x) { return _mm512_set1_epi32(x); }
  static T dot(T acc, T x, T w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
  }
  static auto out(const QEpilogue& e) { return out512(e); }
};
struct DirectZ8 {
  using T = __m256i;
  static constexpr bool kFour = true;
  static T bias(const int32_t* b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)); }
  static T wload(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static T bcast(int32_t x) { return _mm256_set1_epi32(x); }
  static T dot(T acc, T x, T w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
  }
  static k_avx512vnni::Out8 out(const QEpilogue& e) { return k_avx512vnni::Out8(e); }
};

// M pixels (windows at src + r * pstep) x NP panels of weights (w, w + wstep; panel n's
// epilogue args.panel(c0 + 16 n)), in vectors V; ch: the channels of the last panel.
template <typename V, int M, int NP, typename Args, typename Y>
inline void direct_tile(const QDirectTaps& t, const uint8_t* src, const int8_t* w, int64_t wstep, const Args& args,
                        int32_t c0, int ch, Y* y, int64_t ldy) {
  typename V::T acc[NP][M];
#pragma GCC unroll 2
  for (int n = 0; n < NP; ++n) {
    const typename V::T b = V::bias(args.panel(c0 + n * kQPanel, false).bias);
#pragma GCC unroll 14
    for (int r = 0; r < M; ++r) acc[n][r] = b;
  }
  const int64_t ps = t.pstep;
  for (int32_t ky = 0; ky < t.k_h; ++ky) {
    for (int32_t kx = 0; kx < t.n_kx; ++kx) {
      const uint8_t* s = src + ky * t.rstride + kx * t.xstep;
      for (int32_t g = 0; g < t.groups; ++g, s += kQGroup, w += kQPanel * kQGroup) {
        typename V::T wv[NP];
#pragma GCC unroll 2
        for (int n = 0; n < NP; ++n) wv[n] = V::wload(w + n * wstep);
#pragma GCC unroll 14
        for (int r = 0; r < M; ++r) {
          int32_t v;
          std::memcpy(&v, s + r * ps, sizeof v);
          const typename V::T x = V::bcast(v);
#pragma GCC unroll 2
          for (int n = 0; n < NP; ++n) acc[n][r] = V::dot(acc[n][r], x, wv[n]);
        }
      }
    }
  }
#pragma GCC unroll 2
  for (int n = 0; n < NP; ++n) {
    const auto out = V::out(args.panel(c0 + n * kQPanel, false));
    const int chn = n == NP - 1 ? ch : kQPanel;
    Y* yn = y + n * kQPanel;
    int r = 0;
    if constexpr (V::kFour) {
#pragma GCC unroll 3
      for (; r + 4 <= M; r += 4) out.four(acc[n][r], acc[n][r + 1], acc[n][r + 2], acc[n][r + 3], chn, yn + r * ldy, ldy);
    }
#pragma GCC unroll 14
    for (; r < M; ++r) out(acc[n][r], chn, yn + r * ldy);
  }
}

// A zmm tile as a function of its own (the top of the file: inlined, its pixels' offsets
// left the general registers); ymm tiles, of at most 8 channels, stay inline (out of line,
// a call per tile cost 2.5% on TRANSPOSE_CONV's 3x3 128x128x16 -> 8).
template <int M, int NP, typename Args, typename Y>
[[gnu::noinline]] void direct_tile_z16(const QDirectTaps& t, const uint8_t* src, const int8_t* w, int64_t wstep,
                                       const Args& args, int32_t c0, int ch, Y* y, int64_t ldy) {
  direct_tile<DirectZ16, M, NP>(t, src, w, wstep, args, c0, ch, y, ldy);
}

// The most pixels of a tile of NP panels: NP * M accumulators, NP weight vectors and a
// broadcast in the 32 vector registers (14 x 2 measured 1-2% faster than 12 x 2, and 6 x
// 4 as fast on 56x56 maps but 25% slower on 7x7 ones, whose rows split 4 + 3).
template <int NP>
constexpr int kDirectRows = NP == 1 ? 12 : 14;

template <int M, int NP, typename Args, typename Y>
inline void direct_upto(int m, const QDirectTaps& t, const uint8_t* src, const int8_t* w, int64_t wstep,
                        const Args& args, int32_t c0, int ch, Y* y, int64_t ldy) {
  if constexpr (M > 1) {
    if (m < M) return direct_upto<M - 1, NP>(m, t, src, w, wstep, args, c0, ch, y, ldy);
  }
  if constexpr (NP == 1) {
    if (ch <= kQPanel / 2) return direct_tile<DirectZ8, M, 1>(t, src, w, wstep, args, c0, ch, y, ldy);
  }
  direct_tile_z16<M, NP>(t, src, w, wstep, args, c0, ch, y, ldy);
}

// nx output pixels (windows at src + j * pstep, outputs at y + j * ldy) x the NP panels
// from channel c0 (ch channels in the last), weights w ([panels][kp/4][16][4]): blocks of
// at most kDirectRows<NP> pixels, sizes differing by one at most.
template <int NP, typename Args, typename Y>
inline void direct_group(const QDirectTaps& t, const uint8_t* src, int32_t nx, const int8_t* w, int32_t kp,
                         const Args& args, int32_t c0, int ch, Y* y, int64_t ldy) {
  constexpr int MR = kDirectRows<NP>;
  const int32_t blocks = (nx + MR - 1) / MR;
  for (int32_t blk = 0; blk < blocks; ++blk) {
    const int32_t j0 = blk * nx / blocks, m = (blk + 1) * nx / blocks - j0;
    direct_upto<MR, NP>(m, t, src + j0 * t.pstep, w + int64_t{c0} * kp, int64_t{kQPanel} * kp, args, c0, ch,
                        y + j0 * ldy + c0, ldy);
  }
}

// f(np, c0, ch) for each group of panels of out_c channels the tiles take: np (an
// integral_constant) panels from channel c0, ch channels in the last; pairs of whole
// panels, then single ones (24 channels: 16 + 8, the 8 in ymm at half the work).
template <typename F>
inline void direct_groups(int32_t out_c, const F& f) {
  int32_t c0 = 0;
  for (; c0 + 2 * kQPanel <= out_c; c0 += 2 * kQPanel) f(std::integral_constant<int, 2>{}, c0, kQPanel);
  for (; c0 < out_c; c0 += kQPanel) f(std::integral_constant<int, 1>{}, c0, std::min(kQPanel, out_c - c0));
}

// nx output pixels x out_c channels, as direct_group.
template <typename Args, typename Y>
inline void direct_row(const QDirectTaps& t, const uint8_t* src, int32_t nx, const int8_t* w, int32_t kp,
                       const Args& args, int32_t out_c, Y* y, int64_t ldy) {
  direct_groups(out_c, [&](auto np, int32_t c0, int ch) {
    direct_group<decltype(np)::value>(t, src, nx, w, kp, args, c0, ch, y, ldy);
  });
}

// CONV_2D (qconv_direct_fits) with the epilogue `args`; scratch per task as above.
template <typename Q, typename Args, typename Y>
inline void conv2d_direct(const Parallel& par, const QConvParams& p, const Q* x, const int8_t* w, const Args& args,
                          Y* y, uint8_t* scratch) {
  const int32_t right = qconv_direct_right(p), pw = p.pad_left + p.in_w + right;
  const int64_t width = int64_t{pw} * p.in_c;
  const QDirectTaps t{p.k_h, p.dil_w == 1 ? 1 : p.k_w, (p.dil_w == 1 ? p.k_w : 1) * p.in_c / kQGroup,
                      p.dil_h * width, int64_t{p.dil_w} * p.in_c, int64_t{p.stride_w} * p.in_c};
  const int32_t kp = qgemm_kp(p.k_h * p.k_w * p.in_c);
  const int64_t rows = int64_t{p.batch} * p.out_h, ocp = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  const int64_t macs = rows * p.out_w * p.k_h * p.k_w * p.in_c * ocp;
  parallel_ranges(par, rows, macs, [&](int32_t task, int64_t lo, int64_t hi) {
    uint8_t* img = par.scratch(scratch, task);
    while (lo < hi) {  // the rows of one image at a time
      const int32_t b = static_cast<int32_t>(lo / p.out_h), oy0 = static_cast<int32_t>(lo % p.out_h);
      const int32_t oy1 = static_cast<int32_t>(std::min<int64_t>(hi - int64_t{b} * p.out_h, p.out_h));
      const int32_t r0 = oy0 * p.stride_h - p.pad_top, r1 = (oy1 - 1) * p.stride_h - p.pad_top + (p.k_h - 1) * p.dil_h + 1;
      direct_pad_rows(x + int64_t{b} * p.in_h * p.in_w * p.in_c, p.in_h, p.in_w, p.in_c, p.pad_left, right, r0, r1,
                      p.in_zp, img);
      Y* yb = y + int64_t{b} * p.out_h * p.out_w * p.out_c;
      direct_groups(p.out_c, [&](auto np, int32_t c0, int ch) {
        for (int32_t oy = oy0; oy < oy1; ++oy)
          direct_group<decltype(np)::value>(t, img + int64_t{oy - oy0} * p.stride_h * width, p.out_w, w, kp, args,
                                            c0, ch, yb + int64_t{oy} * p.out_w * p.out_c, p.out_c);
      });
      lo += oy1 - oy0;
    }
  });
}

}  // namespace avx512vnni
}  // namespace qsimd
DLCODER_RT_TARGET_END
#endif

}  // namespace dlcoder_rt
