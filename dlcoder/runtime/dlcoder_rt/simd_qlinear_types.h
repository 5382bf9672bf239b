// The shared types of the quantized CONV_2D / FULLY_CONNECTED / DEPTHWISE_CONV_2D kernels
// (simd_qlinear.h describes the kernels and their activation domains): the packed layout's
// constants, the params and epilogue structs, the ISA path choice.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

constexpr int32_t kQPanel = 16;    // output channels per weight panel
constexpr int32_t kQGroup = 4;     // consecutive k per int32 lane of a panel
constexpr int32_t kQMaxRows = 12;  // A rows a GEMM kernel fills at once (scratch: kQMaxRows * kp * 2 bytes)
// The most weight bytes of the panels that the row blocks of a GEMM pass over before the
// next ones (simd_qlinear_driver.h: gemm_rows): about 3/4 of a 1 MB L2, the rest for the
// A rows and the outputs. The tests shrink it so that small GEMMs take many chunks.
#ifndef DLCODER_RT_QGEMM_CHUNK_BYTES
#define DLCODER_RT_QGEMM_CHUNK_BYTES (768 * 1024)
#endif
constexpr int64_t kQChunkBytes = DLCODER_RT_QGEMM_CHUNK_BYTES;

// The k block of the AMX kernels (simd_qamx.h) for kp (a multiple of kQGroup): bytes per
// block, the least number of blocks of at most 64 bytes that divides kp evenly, or 0
// where that would take more than twice the blocks of 64 bytes (kp / 4 with a large prime
// factor).
constexpr int32_t amx_block(int32_t kp) {
  const int32_t groups = kp / kQGroup, least = (groups + 15) / 16;
  for (int32_t nb = least; nb <= 2 * least; ++nb)
    if (groups % nb == 0) return groups / nb * kQGroup;
  return 0;
}

// The k of the packed weights (and of the kernels' A rows): k rounded up to kQGroup, and
// on to the next length the AMX kernels can block when that adds at most an eighth, with
// zero weights in the padding (a 7x7 stem on 3 channels, k 147, packs as 156 instead of
// 148, whose 37 groups no block size divides). ops/qlinear.py: packed_k.
constexpr int32_t qgemm_kp(int32_t k) {
  const int32_t kp = (std::max(k, 1) + kQGroup - 1) / kQGroup * kQGroup;
  for (int32_t p = kp; p <= kp + kp / 8; p += kQGroup)
    if (amx_block(p) > 0) return p;
  return kp;
}

struct QConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t in_zp, out_zp, lo, hi;
};

struct QDepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier, vec_channels;
  int32_t in_zp, out_zp, lo, hi;
};

struct QFullyConnectedParams {
  int32_t rows, k, out_c;
  int32_t out_zp, lo, hi;
};

// The shape of a GEMM besides its rows: the weight panels are [panels][kp/4][16][4] (zero
// padded) for out_c channels.
struct QGemmArgs {
  int32_t kp, out_c;
};

// One panel's epilogue.
struct QEpilogue {
  const int32_t* bias;
  const int32_t* mult;
  const int32_t* shift;
  int32_t zero_point, lo, hi;
};

// One panel's epilogue of the dynamic-range ops (qhybrid.h), float outputs:
// y = min(max(float(acc + bias) * scale + fbias, lo), hi), a float multiply then a float
// add, never fused (DLCODER_RT_UNFUSED), as TFLite's hybrid kernels round.
struct QFloatEpilogue {
  const int32_t* bias;
  const float* scale;
  const float* fbias;
  float lo, hi;
};

// The epilogue arguments of a whole GEMM, per-channel arrays padded to whole panels, and
// the panel at c0 of them; `signed_a`: the kernel's activation domain (bias_s or bias_u).
struct QRequantArgs {
  const int32_t* bias_u;
  const int32_t* bias_s;
  const int32_t* mult;
  const int32_t* shift;
  int32_t zero_point, lo, hi;
  QEpilogue panel(int32_t c0, bool signed_a) const {
    return {(signed_a ? bias_s : bias_u) + c0, mult + c0, shift + c0, zero_point, lo, hi};
  }
};

struct QFloatArgs {
  const int32_t* bias_u;
  const int32_t* bias_s;
  const float* scale;
  const float* fbias;
  float lo, hi;
  QFloatEpilogue panel(int32_t c0, bool signed_a) const {
    return {(signed_a ? bias_s : bias_u) + c0, scale + c0, fbias + c0, lo, hi};
  }
};

// Keeps a float product (a scalar or a vector in a SIMD register) from being fused with
// the add that follows: GCC contracts a * b + c into an FMA across statements (its GNU
// modes' default -ffp-contract=fast) where the target has one, which rounds once, not
// twice.
#if defined(__GNUC__) && defined(DLCODER_RT_X86)
#define DLCODER_RT_UNFUSED(v) __asm__("" : "+v"(v))
#elif defined(__GNUC__) && defined(DLCODER_RT_NEON)
#define DLCODER_RT_UNFUSED(v) __asm__("" : "+w"(v))
#else
#define DLCODER_RT_UNFUSED(v) (void)(v)
#endif

// Which kernels run: the instruction set of runtime_isa() and, within it, the integer
// extensions of isa.h. The dot-product kernels take int8 weights only (uint8 weights, zero
// point subtracted, are int16): those go to the same ISA's plain kernels. kAmx: the AMX
// kernels of CONV_2D and FULLY_CONNECTED (simd_qamx.h; runtime_amx() there), on top of
// VNNI, which every other kernel of that path uses.
enum class QPath : int { kScalar, kSse2, kAvx2, kAvx512, kAvx512Vnni, kNeon, kNeonDot, kAmx };

template <typename W>
inline QPath qlinear_path() {
  const bool dot = sizeof(W) == 1 && runtime_int8_dot();
  switch (runtime_isa()) {
    case Isa::kAvx512:
      if (!runtime_avx512bw()) return QPath::kAvx2;
      if (dot && runtime_amx()) return QPath::kAmx;
      return dot ? QPath::kAvx512Vnni : QPath::kAvx512;
    case Isa::kAvx2: return QPath::kAvx2;
    case Isa::kSse2: return QPath::kSse2;
    case Isa::kNeon: return dot ? QPath::kNeonDot : QPath::kNeon;
    default: return QPath::kScalar;
  }
}

// Unsigned-domain xor of an activation type: int8 x -> x + 128.
template <typename Q>
constexpr uint8_t kQFlip = std::is_signed<Q>::value ? 0x80 : 0x00;

}  // namespace dlcoder_rt
