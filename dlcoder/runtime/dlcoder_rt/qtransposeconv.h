// Quantized TRANSPOSE_CONV: 8-bit activations, 8-bit weights (int8 symmetric per tensor or
// per output channel; uint8 per tensor with a zero point), int32 bias, int32 accumulators
// requantized per output channel.
//
// As TFLite's kernels (transpose_conv.cc, optimized TransposeConvV2): every input pixel's
// products with the filter are scattered into an int32 image the size of the output
// (col2im); taps that land outside the output are dropped; the bias is added; then each
// accumulator is requantized. The generator passes weights with their zero point
// subtracted ([k_h][k_w][out_c][in_c], int8 as they are, uint8 as int16) and, per tap and
// output channel, in_zp * sum over in_c of the weights, so that sum((x - in_zp) * w) is
// sum(x * w) - that term.
//
// Rounding of the requantization, found by experiment against the pip build (requantize.h):
// element i (flat index, channel c) rounds half up when c < vec_channels and i < vec_elems,
// half away otherwise. int8: vec_channels = 8 * floor(out_c / 8) (TFLite's per-channel
// Quantize takes channels in NEON blocks of 8, then a scalar tail), vec_elems = all.
// uint8: vec_channels = out_c, vec_elems = 16 * floor(size / 16) (its per-tensor Quantize
// walks the flat output in blocks of 16, then a scalar tail).
#pragma once

#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct QTransposeConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t out_zp, lo, hi;
  int32_t vec_channels;
  int64_t vec_elems;
};

// NHWC input x, output y; w [k_h][k_w][out_c][in_c] (zero point subtracted); zp_w
// [k_h][k_w][out_c] = in_zp * sum of that tap's weights; bias [out_c] or nullptr;
// `acc` holds out_h * out_w * out_c int32 (scratch).
template <typename Q, typename W>
inline void transpose_conv2d_q(const QTransposeConvParams& p, const Q* x, const W* w,
                               const int32_t* zp_w, const int32_t* bias, const int32_t* mult,
                               const int32_t* shift, Q* y, int32_t* acc) {
  const int64_t image = int64_t{p.out_h} * p.out_w * p.out_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int64_t i = 0; i < image; i += p.out_c)
      for (int32_t c = 0; c < p.out_c; ++c) acc[i + c] = bias ? bias[c] : 0;
    const Q* xb = x + int64_t{b} * p.in_h * p.in_w * p.in_c;
    for (int32_t iy = 0; iy < p.in_h; ++iy)
      for (int32_t ix = 0; ix < p.in_w; ++ix) {
        const Q* xp = xb + (int64_t{iy} * p.in_w + ix) * p.in_c;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t oy = iy * p.stride_h - p.pad_top + ky;
          if (oy < 0 || oy >= p.out_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ox = ix * p.stride_w - p.pad_left + kx;
            if (ox < 0 || ox >= p.out_w) continue;
            const int64_t tap = int64_t{ky} * p.k_w + kx;
            const W* wt = w + tap * p.out_c * p.in_c;
            const int32_t* zt = zp_w + tap * p.out_c;
            int32_t* ap = acc + (int64_t{oy} * p.out_w + ox) * p.out_c;
            for (int32_t c = 0; c < p.out_c; ++c) {
              const W* wc = wt + int64_t{c} * p.in_c;
              int32_t s = 0;
              for (int32_t k = 0; k < p.in_c; ++k) s += int32_t{xp[k]} * int32_t{wc[k]};
              ap[c] += s - zt[c];
            }
          }
        }
      }
    Q* yb = y + b * image;
    const int64_t base = b * image;
    for (int64_t i = 0; i < image; i += p.out_c)
      for (int32_t c = 0; c < p.out_c; ++c) {
        const bool up = c < p.vec_channels && base + i + c < p.vec_elems;
        yb[i + c] = up ? requantize<Q, Rounding::kUp>(acc[i + c], mult[c], shift[c], p.out_zp, p.lo, p.hi)
                       : requantize<Q, Rounding::kAway>(acc[i + c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
      }
  }
}

}  // namespace dlcoder_rt
