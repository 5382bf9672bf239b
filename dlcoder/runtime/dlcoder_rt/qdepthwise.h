// Quantized DEPTHWISE_CONV_2D: 8-bit activations, integer weights (int8, or uint8 with its
// zero point subtracted), int32 accumulators, requantized per output channel.
//
// The generator packs the weights once: int8 as the int8 quads of the AVX-512 VNNI kernels
// (simd_qdepthwise_vnni.h), which the other kernels widen (the portable loop by index, the
// x86 kernels of int16 pairs a block at a time), uint8 as int16 pairs; and bias and
// requantization constants per block of 32 output channels (simd_qdepthwise.h; the bias
// there is folded with the input zero point, and taps outside the input read the zero
// point). Scratch: a row of in_w * in_c
// bytes (the zero row) rounded up to 64, then a task's pointers and staged taps
// (simd_qdepthwise.h).
//
// Requantization rounds as TFLite's kernels do (requantize.h): half up on the channels of
// TFLite's vector loop ([0, vec_channels)) and half away on the rest.
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_qdepthwise_driver.h"

namespace dlcoder_rt {

// The weight of tap t for output channel c in either filter layout (simd_qdepthwise.h).
struct DwPairWeight {
  const int16_t* w;
  int32_t blocks;  // of kDwLanes channels
  int32_t operator()(int32_t t, int32_t c) const {
    const int32_t blk = c / kDwLanes, j = c % kDwLanes, half = j % 8 / 4, lane = j / 8 * 4 + j % 4;
    return w[((int64_t{t / 2} * blocks + blk) * 2 + half) * 32 + 2 * lane + t % 2];
  }
};
struct DwQuadWeight {
  const int8_t* w;
  int32_t blocks;  // of kVnniLanes channels
  int32_t operator()(int32_t t, int32_t c) const {
    const int32_t j = c % kVnniLanes, acc = j % 16 / 4, lane = j / 16 * 4 + j % 4;
    return w[((int64_t{t / 4} * blocks + c / kVnniLanes) * 4 + acc) * 64 + 4 * lane + t % 4];
  }
};

// Any depth multiplier, portable: output channel c reads input channel c / multiplier.
template <typename Q, typename W>
inline void depthwise_conv2d_q_any(const QDepthwiseParams& p, const Q* x, const QDwPacked& k, const W& weight, Q* y,
                                   int64_t r0, int64_t r1) {
  const int32_t m = p.depth_multiplier;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / p.out_h;
    const int32_t oy = static_cast<int32_t>(r % p.out_h);
    for (int32_t ox = 0; ox < p.out_w; ++ox) {
      Q* yp = y + (r * p.out_w + ox) * p.out_c;
      for (int32_t c = 0; c < p.out_c; ++c) {
        // c's lane in its block of the tables (simd_qdepthwise.h)
        const int32_t blk = c / kDwLanes, j = c % kDwLanes, half = j % 8 / 4, lane = j / 8 * 4 + j % 4;
        int32_t acc = k.bias[blk * 32 + half * 16 + lane];
        for (int32_t t = 0; t < p.k_h * p.k_w; ++t) {
          const int32_t iy = oy * p.stride_h - p.pad_top + t / p.k_w * p.dil_h;
          const int32_t ix = ox * p.stride_w - p.pad_left + t % p.k_w * p.dil_w;
          const int32_t v = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w
                                ? int32_t{x[((b * p.in_h + iy) * p.in_w + ix) * p.in_c + c / m]}
                                : p.in_zp;
          acc = static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(v * weight(t, c)));
        }
        yp[c] = c < p.vec_channels
                    ? requantize<Q, Rounding::kUp>(acc, k.mult[c], k.shift[c], p.out_zp, p.lo, p.hi)
                    : requantize<Q, Rounding::kAway>(acc, k.mult[c], k.shift[c], p.out_zp, p.lo, p.hi);
      }
    }
  }
}

// NHWC input; the packed arrays of simd_qdepthwise.h with one filter: `w` (int16 pairs,
// uint8) or `w8` (the VNNI kernels' int8 quads, int8), the other null (each Q compiles
// the kernels of its own filter only).
template <typename Q>
inline void depthwise_conv2d_q(const Parallel& par, const QDepthwiseParams& p, const Q* x, const int16_t* w,
                               const int8_t* w8, const int32_t* bias, const int32_t* left, const int64_t* rq,
                               const int32_t* mult, const int32_t* shift, Q* y, void* scratch) {
  const QDwPacked k{w, bias, left, rq, mult, shift};
  const QDwQuads k8{w8, k, nullptr};  // (the driver gives each task its `pairs`)
  const QDwPath path = p.depth_multiplier == 1 ? qdepthwise_path() : QDwPath::kScalar;
#if defined(DLCODER_RT_X86)
  if constexpr (std::is_signed<Q>::value) {
    if (path == QDwPath::kAvx512 && runtime_int8_dot() && qdw::vnni_pays(p))
      return qdw::depthwise<qdw::vnni>(par, p, x, k8, y, scratch);
    switch (path) {
      case QDwPath::kAvx512: return qdw::depthwise<qdw::avx512>(par, p, x, k8, y, scratch);
      case QDwPath::kAvx2: return qdw::depthwise<qdw::avx2>(par, p, x, k8, y, scratch);
      case QDwPath::kSse2: return qdw::depthwise<qdw::sse2>(par, p, x, k8, y, scratch);
      default: break;
    }
  } else {
    switch (path) {
      case QDwPath::kAvx512: return qdw::depthwise<qdw::avx512>(par, p, x, k, y, scratch);
      case QDwPath::kAvx2: return qdw::depthwise<qdw::avx2>(par, p, x, k, y, scratch);
      case QDwPath::kSse2: return qdw::depthwise<qdw::sse2>(par, p, x, k, y, scratch);
      default: break;
    }
  }
#endif
  (void)path;
  (void)k8;
  (void)scratch;  // the portable loop needs none
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int64_t work = rows * p.out_w * p.out_c * p.k_h * p.k_w;
  const DwPairWeight pw{w, (p.out_c + kDwLanes - 1) / kDwLanes};
  const DwQuadWeight qw{w8, (p.out_c + kVnniLanes - 1) / kVnniLanes};
  (void)pw;
  (void)qw;
  parallel_ranges(par, rows, work, [&](int32_t, int64_t r0, int64_t r1) {
    if constexpr (std::is_signed<Q>::value) {
      depthwise_conv2d_q_any(p, x, k, qw, y, r0, r1);
    } else {
      depthwise_conv2d_q_any(p, x, k, pw, y, r0, r1);
    }
  });
}

}  // namespace dlcoder_rt
