// MAXIMUM and MINIMUM of int8 and uint8 tensors (quantized or not), vectorised.
//
// TFLite's kernels (maximum_minimum.cc) compare the stored integers, whatever the
// quantization of the inputs and the output, el1 > el2 ? el1 : el2 (MINIMUM: <), with
// broadcasting: exactly a byte max/min lane by lane. elementwise.h's binary() hands such
// calls to byte_minmax() below, which picks the instruction set once per call: AVX-512 BW
// (64 bytes), AVX2 (32), SSE2 (16; it has only the unsigned byte max/min, so signed bytes
// are flipped by 0x80 around it) or NEON (16). Elsewhere it returns false and binary()
// keeps its plain loop. The kernel (simd_qminmax_kernel.h) is included once per ISA.
#pragma once

#include <type_traits>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

namespace dlcoder_rt {
namespace qminmax {

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx2")
namespace avx512 {
struct V {
  using T = __m512i;
  static constexpr int N = 64;
  static T load(const void* p) { return _mm512_loadu_si512(p); }
  static void store(void* p, T v) { _mm512_storeu_si512(p, v); }
  static T set1(char x) { return _mm512_set1_epi8(x); }
  template <bool kMax, bool kSigned> static T pick(T a, T b) {
    if constexpr (kSigned) return kMax ? _mm512_max_epi8(a, b) : _mm512_min_epi8(a, b);
    else return kMax ? _mm512_max_epu8(a, b) : _mm512_min_epu8(a, b);
  }
};
#include "dlcoder_rt/simd_qminmax_kernel.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
namespace avx2 {
struct V {
  using T = __m256i;
  static constexpr int N = 32;
  static T load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static void store(void* p, T v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
  static T set1(char x) { return _mm256_set1_epi8(x); }
  template <bool kMax, bool kSigned> static T pick(T a, T b) {
    if constexpr (kSigned) return kMax ? _mm256_max_epi8(a, b) : _mm256_min_epi8(a, b);
    else return kMax ? _mm256_max_epu8(a, b) : _mm256_min_epu8(a, b);
  }
};
#include "dlcoder_rt/simd_qminmax_kernel.h"
}  // namespace avx2
DLCODER_RT_TARGET_END

namespace sse2 {
struct V {
  using T = __m128i;
  static constexpr int N = 16;
  static T load(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
  static void store(void* p, T v) { _mm_storeu_si128(static_cast<__m128i*>(p), v); }
  static T set1(char x) { return _mm_set1_epi8(x); }
  template <bool kMax, bool kSigned> static T pick(T a, T b) {
    // signed bytes + 0x80 (xor) order as unsigned ones
    const T flip = kSigned ? _mm_set1_epi8(static_cast<char>(0x80)) : _mm_setzero_si128();
    a = _mm_xor_si128(a, flip);
    b = _mm_xor_si128(b, flip);
    return _mm_xor_si128(kMax ? _mm_max_epu8(a, b) : _mm_min_epu8(a, b), flip);
  }
};
#include "dlcoder_rt/simd_qminmax_kernel.h"
}  // namespace sse2
#endif

#if defined(DLCODER_RT_NEON)
namespace neon {
struct V {
  using T = uint8x16_t;
  static constexpr int N = 16;
  static T load(const void* p) { return vld1q_u8(static_cast<const uint8_t*>(p)); }
  static void store(void* p, T v) { vst1q_u8(static_cast<uint8_t*>(p), v); }
  static T set1(char x) { return vdupq_n_u8(static_cast<uint8_t>(x)); }
  template <bool kMax, bool kSigned> static T pick(T a, T b) {
    if constexpr (kSigned) {
      const int8x16_t x = vreinterpretq_s8_u8(a), y = vreinterpretq_s8_u8(b);
      return vreinterpretq_u8_s8(kMax ? vmaxq_s8(x, y) : vminq_s8(x, y));
    } else {
      return kMax ? vmaxq_u8(a, b) : vminq_u8(a, b);
    }
  }
};
#include "dlcoder_rt/simd_qminmax_kernel.h"
}  // namespace neon
#endif

// out = max(a, b) (kMax) or min(a, b) over `loop`; false where no vector path exists
// (the caller then loops itself).
template <bool kMax, typename T>
inline bool byte_minmax([[maybe_unused]] const Loop6& loop, [[maybe_unused]] const T* a,
                        [[maybe_unused]] const T* b, [[maybe_unused]] T* out) {
  static_assert(std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>, "bytes only");
  switch (runtime_byte_isa()) {
#if defined(DLCODER_RT_X86)
    case Isa::kAvx512: return avx512::minmax_loop<kMax>(loop, a, b, out), true;
    case Isa::kAvx2: return avx2::minmax_loop<kMax>(loop, a, b, out), true;
    case Isa::kSse2: return sse2::minmax_loop<kMax>(loop, a, b, out), true;
#endif
#if defined(DLCODER_RT_NEON)
    case Isa::kNeon: return neon::minmax_loop<kMax>(loop, a, b, out), true;
#endif
    default: return false;
  }
}

}  // namespace qminmax
}  // namespace dlcoder_rt
