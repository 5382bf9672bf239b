// Quantized CONV_2D and FULLY_CONNECTED (DEPTHWISE_CONV_2D: qdepthwise.h; BATCH_MATMUL:
// qbatchmatmul.h): 8-bit activations, integer weights, int32 accumulators, requantized per
// output channel (requantize.h). The kernels are in simd_qlinear.h, one per instruction set, picked at run time (qlinear_path); every
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
// Scratch: kQMaxRows * kp * 2 bytes (the kernels' A rows).
//
// Requantization rounds as TFLite's kernels do (requantize.h): half up on every channel.
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

}  // namespace dlcoder_rt
