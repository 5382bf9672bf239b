// Quantized CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: 8-bit activations, integer
// weights, int32 accumulators, requantized per output channel (requantize.h). The kernels
// are in simd_qlinear.h, one per instruction set, picked at run time (qlinear_path); every
// one of them gives the same bytes.
//
// The generator prepares the weights so that the kernels do no zero-point arithmetic of
// their own: weights arrive with their zero point already subtracted (int8 as they are,
// uint8 as int16), packed, and the bias arrives with the input zero point's share folded
// in (simd_qlinear.h: bias_u, bias_s), so sum((x - in_zp) * w) + bias is sum(x' * w) plus
// the folded bias, x' the activation in the kernel's domain. A tap in the padding then has
// to contribute nothing, which an input of in_zp does: the GEMM kernels pad with in_zp.
//
// Layouts (the same for every instruction set, scalar included):
//   CONV_2D / FULLY_CONNECTED weights: [panels][kp / 4][16][4] (W), output channels in
//     panels of kQPanel = 16, k = k_h * k_w * in_c (in that order) padded to kp, a multiple
//     of kQGroup = 4, in groups of 4 consecutive k per channel; zeros in the padding.
//     bias_u, bias_s, mult, shift: padded to whole panels.
//   DEPTHWISE_CONV_2D weights: [k_h * k_w][ldw] (W), ldw = out_c padded to a multiple of 16
//     with zeros; bias (as the model has it: padding taps are skipped), mult, shift padded
//     to ldw.
// Scratch: CONV_2D and FULLY_CONNECTED kQMaxRows * kp * 2 bytes (the kernels' A rows);
// DEPTHWISE_CONV_2D out_c int32 (the portable loop of depth multipliers other than 1).
//
// Requantization rounds as TFLite's kernels do (requantize.h): CONV_2D and FULLY_CONNECTED
// half up on every channel, DEPTHWISE_CONV_2D half up on the channels of its vector loop
// ([0, vec_channels)) and half away on the rest, BATCH_MATMUL half away.
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

template <typename Q, typename W>
inline void conv2d_q(const QConvParams& p, const Q* x, const W* w, const int32_t* bias_u, const int32_t* bias_s,
                     const int32_t* mult, const int32_t* shift, Q* y, int16_t* scratch) {
  DLCODER_RT_QDISPATCH(W, conv2d(p, x, w, bias_u, bias_s, mult, shift, y, scratch))
}

template <typename Q, typename W>
inline void fully_connected_q(const QFullyConnectedParams& p, const Q* x, const W* w, const int32_t* bias_u,
                              const int32_t* bias_s, const int32_t* mult, const int32_t* shift, Q* y,
                              int16_t* scratch) {
  DLCODER_RT_QDISPATCH(W, fully_connected(p, x, w, bias_u, bias_s, mult, shift, y, scratch))
}

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

// BATCH_MATMUL of two quantized operands (views as BatchMatMulParams describes them):
// out = requantize(sum_k (a - a_zp) * (b - b_zp)), one multiplier for the whole output.
struct QMatMulParams {
  int32_t a_zp, b_zp, multiplier, shift, out_zp, lo, hi;
};

template <typename Q>
inline void batch_matmul_q(const BatchMatMulParams& p, const QMatMulParams& q, const Q* lhs, const Q* rhs,
                           Q* out) {
  const int64_t batches = batch_count(p);
  const int64_t a_i = p.adj_x ? 1 : p.lda, a_k = p.adj_x ? p.lda : 1;   // element (i, k) of lhs
  const int64_t b_k = p.adj_y ? 1 : p.ldb, b_j = p.adj_y ? p.ldb : 1;   // element (k, j) of rhs
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    for (int32_t i = 0; i < p.m; ++i)
      for (int32_t j = 0; j < p.n; ++j) {
        const Q* a = lhs + ia + i * a_i;
        const Q* b = rhs + ib + j * b_j;
        int32_t acc = 0;
        for (int32_t k = 0; k < p.k; ++k)
          acc += (int32_t{a[k * a_k]} - q.a_zp) * (int32_t{b[k * b_k]} - q.b_zp);
        out[io + int64_t{i} * p.ldc + j] = requantize<Q>(acc, q.multiplier, q.shift, q.out_zp, q.lo, q.hi);
      }
  }
}

}  // namespace dlcoder_rt
