// Quantized CONV_2D and FULLY_CONNECTED (DEPTHWISE_CONV_2D: qdepthwise.h; BATCH_MATMUL:
// qbatchmatmul.h): 8-bit activations, integer weights, int32 accumulators, requantized per
// output channel (requantize.h). The kernels are in simd_qlinear.h, one per instruction
// set, and simd_qamx.h (AMX), picked at run time (qlinear_path); every one of them gives
// the same bytes. They split their rows (or output channels) over the threads of `par`.
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
//     panels of kQPanel = 16, k = k_h * k_w * in_c (in that order) padded to kp =
//     qgemm_kp(k) (a multiple of kQGroup = 4 that the AMX kernels can block), in groups of 4
//     consecutive k per channel; zeros in the padding.
//     bias_u, bias_s, mult, shift: padded to whole panels.
// Scratch (per task): the kernels' A rows, the larger of min(rows, kQMaxRows) * kp * 2
// bytes and, for more than 2 rows, amx_buffer(kp, rows) (simd_qamx.h).
//
// Requantization rounds as TFLite's kernels do (requantize.h): half up on every channel.
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_qamx.h"
#include "dlcoder_rt/simd_qconv_direct.h"
#include "dlcoder_rt/simd_qlinear.h"
#include "dlcoder_rt/simd_qstem.h"

namespace dlcoder_rt {

// Whether the AMX kernels take a GEMM of rows x k: int8 weights only, a k they can block,
// and more than two rows (for one or two, tiles of 16 rows stream the weights no faster
// than the VNNI kernels, measured).
template <typename W>
inline bool use_amx(int64_t rows, int32_t k) {
  return sizeof(W) == 1 && rows > 2 && qlinear_path<W>() == QPath::kAmx &&
         amx_block(qgemm_kp(k)) > 0;
}

// The kernel family of an int8 CONV_2D, which the generator picks from the geometry
// (ops/qlinear.py: _conv_kernel, the same tests as qconv_direct_fits and qstem_fits), so
// that a library compiles only the families its convolutions use. kDirect
// (simd_qconv_direct.h) and kStem (simd_qstem.h) need VNNI (and VBMI); on a CPU without,
// and if the geometry does not fit after all, they run as kGemm, the im2col + GEMM of
// every instruction set.
enum class QConvKernel : int { kGemm = 0, kDirect = 1, kStem = 2 };

// The GEMM of CONV_2D with the epilogue `args` (QRequantArgs: y of Q; QFloatArgs: float y).
template <QConvKernel K = QConvKernel::kGemm, typename Q, typename W, typename Args, typename Y>
inline void conv2d_gemm(const Parallel& par, const QConvParams& p, const Q* x, const W* w, const Args& args, Y* y,
                        int16_t* scratch) {
#if defined(DLCODER_RT_AMX)
  if constexpr (sizeof(W) == 1) {
    if (use_amx<W>(int64_t{p.batch} * p.out_h * p.out_w, p.k_h * p.k_w * p.in_c))
      return qamx::conv2d(par, p, x, w, args, y, scratch);
  }
#endif
#if defined(DLCODER_RT_X86)
  // a KxK window (simd_qconv_direct.h): no im2col; the scratch holds its copy (qlinear.py)
  if constexpr (K == QConvKernel::kDirect && sizeof(W) == 1 && std::is_same<Args, QRequantArgs>::value) {
    if (qlinear_path<W>() == QPath::kAvx512Vnni && qconv_direct_fits(p))
      return qsimd::avx512vnni::conv2d_direct(par, p, x, w, args, y, reinterpret_cast<uint8_t*>(scratch));
  }
  // a stem of few input channels (simd_qstem.h): pixels in lanes; its scratch: qlinear.py
  if constexpr (K == QConvKernel::kStem && sizeof(W) == 1 && sizeof(Q) == 1 &&
                std::is_same<Args, QRequantArgs>::value) {
    if (qlinear_path<W>() == QPath::kAvx512Vnni && runtime_avx512vbmi() && qstem_fits(p))
      return qstem::conv2d(par, p, x, w, args, y, scratch);
  }
#endif
  DLCODER_RT_QDISPATCH(W, conv2d(par, p, x, w, args, y, scratch))
}

template <typename Q, typename W, typename Args, typename Y>
inline void fully_connected_gemm(const Parallel& par, const QFullyConnectedParams& p, const Q* x, const W* w,
                                 const Args& args, Y* y, int16_t* scratch) {
#if defined(DLCODER_RT_AMX)
  if constexpr (sizeof(W) == 1) {
    if (use_amx<W>(p.rows, p.k)) return qamx::fully_connected(par, p, x, w, args, y, scratch);
  }
#endif
  DLCODER_RT_QDISPATCH(W, fully_connected(par, p, x, w, args, y, scratch))
}

template <QConvKernel K, typename Q, typename W>
inline void conv2d_q(const Parallel& par, const QConvParams& p, const Q* x, const W* w, const int32_t* bias_u,
                     const int32_t* bias_s, const int32_t* mult, const int32_t* shift, Q* y, int16_t* scratch) {
  conv2d_gemm<K>(par, p, x, w, QRequantArgs{bias_u, bias_s, mult, shift, p.out_zp, p.lo, p.hi}, y, scratch);
}

template <typename Q, typename W>
inline void fully_connected_q(const Parallel& par, const QFullyConnectedParams& p, const Q* x, const W* w,
                              const int32_t* bias_u, const int32_t* bias_s, const int32_t* mult,
                              const int32_t* shift, Q* y, int16_t* scratch) {
  fully_connected_gemm(par, p, x, w, QRequantArgs{bias_u, bias_s, mult, shift, p.out_zp, p.lo, p.hi}, y, scratch);
}

}  // namespace dlcoder_rt
