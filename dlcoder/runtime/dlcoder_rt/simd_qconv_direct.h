// The direct int8 convolution kernel (AVX-512 VNNI, int8 weights): the GEMM of a KxK
// CONV_2D (and of TRANSPOSE_CONV's phases, qtransposeconv.h) without im2col.
//
// The input is copied into the unsigned domain (x ^ 0x80 for int8, simd_qlinear.h) with a
// border of the input zero point wide enough for every tap of every output pixel, so that
// every tap of a window is inside the copy. With in_c % 4 == 0 a group of 4 consecutive k
// of the packed weights (CONV_2D's [panels][kp/4][16][4], k = (ky * k_w + kx) * in_c + c)
// is 4 consecutive channels of one tap, i.e. 4 consecutive bytes of the copy: a tile of M
// output pixels x one panel broadcasts each pixel's group straight from the copy (pixel r's
// window `pstep` bytes after pixel r - 1's: stride_w * in_c) and multiplies it with the
// panel's 16 x 4 weights (vpdpbusd), tap row by tap row (`rstride` bytes apart: dil_h rows
// of the copy); with dil_w == 1 a tap row's k_w taps are one run of k_w * in_c bytes, else
// tap by tap (`xstep` = dil_w * in_c bytes apart). The bias (folded with the input zero
// point's share, bias_u) starts the sums; the epilogue is the GEMM's (out512 / Out8), so the
// outputs are the GEMM's bytes, which are TFLite's.
//
// CONV_2D (conv2d_direct): tasks take runs of output rows of one image; each copies the
// input rows its outputs reach (the padding rows included) into its own scratch, [rows]
// [pad_left + in_w + right][in_c] (qconv_direct_scratch: the most, a whole image's), then
// takes its rows one by one, panel by panel (the panel's weights stay in L1 along the
// row), the row's pixels in blocks of at most 12, sizes differing by one at most.
#pragma once

#include <cstring>

#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

// A window's taps in the padded copy: k_h tap rows `rstride` bytes apart, each n_kx runs
// `xstep` bytes apart of `groups` groups of 4 bytes; pixels `pstep` bytes apart.
struct QDirectTaps {
  int32_t k_h, n_kx, groups;
  int64_t rstride, xstep, pstep;
};

// Whether conv2d_direct takes a CONV_2D of int8 weights (and the VNNI path): a window
// of more than one tap, in_c >= 8, a multiple of 4, and out_c < 256 (ops/qlinear.py:
// _direct_scratch). From 256 output channels im2col is a small share of the GEMM, whose
// tiles of 12 rows run across output rows, and the GEMM measured as fast or 1% faster
// (3x3 on 7x7x512, 14x14x256, 28x28x128 -> 256); below, the direct kernel 2-15% faster.
inline bool qconv_direct_fits(const QConvParams& p) {
  return p.k_h * p.k_w > 1 && p.in_c >= 8 && p.in_c % kQGroup == 0 && p.out_c < 256;
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
  static T dot(T acc, int32_t x, T w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(_mm512_set1_epi32(x)), "v"(w));
    return acc;
  }
  static auto out(const QEpilogue& e) { return out512(e); }
};
struct DirectZ8 {
  using T = __m256i;
  static constexpr bool kFour = true;
  static T bias(const int32_t* b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)); }
  static T wload(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static T dot(T acc, int32_t x, T w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(_mm256_set1_epi32(x)), "v"(w));
    return acc;
  }
  static k_avx512vnni::Out8 out(const QEpilogue& e) { return k_avx512vnni::Out8(e); }
};

// M pixels (windows at src + r * pstep) x one panel of weights w, in vectors V.
template <typename V, int M, typename E, typename Y>
inline void direct_tile(const QDirectTaps& t, const uint8_t* src, const int8_t* w, const E& e, int ch, Y* y,
                        int64_t ldy) {
  typename V::T acc[M];
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) acc[r] = V::bias(e.bias);
  const int64_t ps = t.pstep;
  for (int32_t ky = 0; ky < t.k_h; ++ky) {
    for (int32_t kx = 0; kx < t.n_kx; ++kx) {
      const uint8_t* s = src + ky * t.rstride + kx * t.xstep;
      for (int32_t g = 0; g < t.groups; ++g, s += kQGroup, w += kQPanel * kQGroup) {
        const typename V::T wv = V::wload(w);
#pragma GCC unroll 12
        for (int r = 0; r < M; ++r) {
          int32_t v;
          std::memcpy(&v, s + r * ps, sizeof v);
          acc[r] = V::dot(acc[r], v, wv);
        }
      }
    }
  }
  const auto out = V::out(e);
  int r = 0;
  if constexpr (V::kFour) {
#pragma GCC unroll 3
    for (; r + 4 <= M; r += 4) out.four(acc[r], acc[r + 1], acc[r + 2], acc[r + 3], ch, y + r * ldy, ldy);
  }
#pragma GCC unroll 12
  for (; r < M; ++r) out(acc[r], ch, y + r * ldy);
}

constexpr int kDirectRows = 12;

template <int M, typename E, typename Y>
inline void direct_upto(int m, const QDirectTaps& t, const uint8_t* src, const int8_t* w, const E& e, int ch, Y* y,
                        int64_t ldy) {
  if constexpr (M > 1) {
    if (m < M) return direct_upto<M - 1>(m, t, src, w, e, ch, y, ldy);
  }
  if (ch <= kQPanel / 2) return direct_tile<DirectZ8, M>(t, src, w, e, ch, y, ldy);
  direct_tile<DirectZ16, M>(t, src, w, e, ch, y, ldy);
}

// nx output pixels (windows at src + j * pstep, outputs at y + j * ldy) x out_c channels,
// weights w ([panels][kp/4][16][4]); blocks of at most kDirectRows pixels, sizes differing
// by one at most.
template <typename Args, typename Y>
inline void direct_row(const QDirectTaps& t, const uint8_t* src, int32_t nx, const int8_t* w, int32_t kp,
                       const Args& args, int32_t out_c, Y* y, int64_t ldy) {
  const int32_t blocks = (nx + kDirectRows - 1) / kDirectRows;
  for (int32_t c0 = 0; c0 < out_c; c0 += kQPanel) {
    for (int32_t blk = 0; blk < blocks; ++blk) {
      const int32_t j0 = blk * nx / blocks, m = (blk + 1) * nx / blocks - j0;
      direct_upto<kDirectRows>(m, t, src + j0 * t.pstep, w + int64_t{c0} * kp, args.panel(c0, false),
                               std::min(kQPanel, out_c - c0), y + j0 * ldy + c0, ldy);
    }
  }
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
      for (int32_t oy = oy0; oy < oy1; ++oy)
        direct_row(t, img + int64_t{oy - oy0} * p.stride_h * width, p.out_w, w, kp, args, p.out_c,
                   y + (int64_t{b} * p.out_h + oy) * p.out_w * p.out_c, p.out_c);
      lo += oy1 - oy0;
    }
  });
}

}  // namespace avx512vnni
}  // namespace qsimd
DLCODER_RT_TARGET_END
#endif

}  // namespace dlcoder_rt
