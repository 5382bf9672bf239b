// SIMD integer kernels of the quantized CONV_2D and FULLY_CONNECTED (qlinear.h has the
// entry points and the layouts; AMX: simd_qamx.h), one namespace per instruction set:
//   avx512vnni  AVX-512 VNNI: vpdpbusd, u8 activations x s8 weights, 4 k per int32 lane
//   avx512      AVX-512 BW:   activations widened to int16, vpmaddwd (no saturation)
//   avx2        AVX2:         the same on 256 bits
//   sse2        SSE2:         the same on 128 bits, requantized in scalar code
//   neondot     NEON + dotprod (sdot): s8 activations x s8 weights
//   neon        NEON:         widened to int16, vmlal by lane
//   scalar      portable code
// All of them read the one packed layout that the generator writes, and all of them sum
// products exactly in int32, so every path gives the same accumulators; the requantization
// is multiply_by_quantized_multiplier<kUp> (requantize.h) lane by lane, bit for bit (the
// vector versions below reproduce it), or the hybrid ops' float epilogue.
//
// Activations. The GEMM kernels (CONV_2D, FULLY_CONNECTED) read rows of an "A" buffer that
// the driver fills from the input (im2col for a conv), in the namespace's element type:
// the activation as an unsigned byte u = x ^ 0x80 for int8 (x + 128), u = x for uint8, then
// u as uint8 (VNNI), as int16 (the vpmaddwd and scalar paths), or as int8 u ^ 0x80 (sdot,
// which takes signed bytes only). The generator folds both domains' zero-point terms into
// two biases: bias_u = bias - zp_u * sum(w) for the unsigned domain, bias_s = bias - (zp_u -
// 128) * sum(w) for the signed one, with zp_u the input zero point in the unsigned domain.
// Padding taps hold the input zero point, which the folded bias cancels exactly.
//
// Files: simd_qlinear_types.h (layout constants, params, epilogue structs, QPath),
// simd_qrequant.h (the vector requantization: Rq512, Out512, Rq256, Out256, RqNeon...),
// simd_qlinear_kernels.h (the micro-kernels), simd_qlinear_driver.h (the loops around them,
// instantiated below once per ISA).
#pragma once

#include "dlcoder_rt/simd_qlinear_kernels.h"

namespace dlcoder_rt {
namespace qsimd {

// ---- drivers, one instantiation per ISA --------------------------------------------------
// (simd_qlinear_driver.h, included in each namespace with the micro-kernels as `K`)
namespace scalar {
namespace K = portable;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace scalar

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
namespace avx512vnni {
namespace K = k_avx512vnni;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace avx512vnni
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
namespace avx512 {
namespace K = k_avx512;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
namespace avx2 {
namespace K = k_avx2;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace avx2
DLCODER_RT_TARGET_END

namespace sse2 {
namespace K = k_sse2;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace sse2
#endif

#if defined(DLCODER_RT_NEON)
namespace neon {
namespace K = k_neon;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace neon

DLCODER_RT_TARGET_BEGIN(DLCODER_RT_DOTPROD_TARGET)
namespace neondot {
namespace K = k_neondot;
#include "dlcoder_rt/simd_qlinear_driver.h"
}  // namespace neondot
DLCODER_RT_TARGET_END
#endif

}  // namespace qsimd

// Calls qsimd::<path>::call for the path qlinear_path<W>() picks.
#if defined(DLCODER_RT_X86)
#define DLCODER_RT_QDISPATCH(W, call)                                   \
  switch (qlinear_path<W>()) {                                          \
    case QPath::kAmx:                                                   \
    case QPath::kAvx512Vnni:                                            \
      if constexpr (sizeof(W) == 1) return qsimd::avx512vnni::call;     \
      return qsimd::avx512::call;                                       \
    case QPath::kAvx512: return qsimd::avx512::call;                    \
    case QPath::kAvx2: return qsimd::avx2::call;                        \
    case QPath::kSse2: return qsimd::sse2::call;                        \
    default: return qsimd::scalar::call;                                \
  }
#elif defined(DLCODER_RT_NEON)
#define DLCODER_RT_QDISPATCH(W, call)                                   \
  switch (qlinear_path<W>()) {                                          \
    case QPath::kNeonDot:                                               \
      if constexpr (sizeof(W) == 1) return qsimd::neondot::call;        \
      return qsimd::neon::call;                                         \
    case QPath::kNeon: return qsimd::neon::call;                        \
    default: return qsimd::scalar::call;                                \
  }
#else
#define DLCODER_RT_QDISPATCH(W, call) return qsimd::scalar::call;
#endif

}  // namespace dlcoder_rt
