// Quantized DEPTHWISE_CONV_2D: 8-bit activations, integer weights (int8, or uint8 with its
// zero point subtracted as int16), int32 accumulators, requantized per output channel.
//
// Layout: weights [k_h * k_w][ldw], ldw = out_c padded to a multiple of 16 with zeros; bias
// (as the model has it: padding taps are skipped, as TFLite skips them), mult, shift padded
// to ldw. Scratch: out_c int32 (the portable loop of depth multipliers other than 1).
//
// Requantization rounds as TFLite's kernels do (requantize.h): half up on the channels of
// TFLite's vector loop ([0, vec_channels)) and half away on the rest.
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

// Any depth multiplier, portable: output channel c reads input channel c / multiplier.
template <typename Q, typename W>
inline void depthwise_conv2d_q_any(const QDepthwiseParams& p, const Q* x, const W* w, const int32_t* bias,
                                   const int32_t* mult, const int32_t* shift, Q* y, int32_t* acc) {
  const int32_t m = p.depth_multiplier;
  const int32_t ldw = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        for (int32_t c = 0; c < p.out_c; ++c) acc[c] = bias[c];
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          if (iy < 0 || iy >= p.in_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (ix < 0 || ix >= p.in_w) continue;
            const Q* xp = x + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
            const W* wp = w + (int64_t{ky} * p.k_w + kx) * ldw;
            for (int32_t c = 0; c < p.out_c; ++c) acc[c] += (int32_t{xp[c / m]} - p.in_zp) * int32_t{wp[c]};
          }
        }
        Q* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        for (int32_t c = 0; c < p.vec_channels; ++c)
          yp[c] = requantize<Q, Rounding::kUp>(acc[c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
        for (int32_t c = p.vec_channels; c < p.out_c; ++c)
          yp[c] = requantize<Q, Rounding::kAway>(acc[c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
      }
}

// NHWC input, weights [k_h * k_w][ldw] (see above); `acc` out_c int32 (scratch).
template <typename Q, typename W>
inline void depthwise_conv2d_q(const QDepthwiseParams& p, const Q* x, const W* w, const int32_t* bias,
                               const int32_t* mult, const int32_t* shift, Q* y, int32_t* acc) {
  if (p.depth_multiplier != 1) return depthwise_conv2d_q_any(p, x, w, bias, mult, shift, y, acc);
  DLCODER_RT_QDISPATCH(W, depthwise(p, x, w, bias, mult, shift, y))
}

}  // namespace dlcoder_rt
