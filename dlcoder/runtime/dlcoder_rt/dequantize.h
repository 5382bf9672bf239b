// DEQUANTIZE (per-tensor affine int8/uint8/int16 -> float32, float16 -> float32) and
// QUANTIZE (float32 -> per-tensor affine int8/uint8/int16), bit-exact with TFLite.
#pragma once

#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct AffineParams {
  float scale;
  int32_t zero_point;
};

// TFLite's builtin DEQUANTIZE (optimized_ops::Dequantize) takes the elements in blocks of
// kAffineBlock in its vector loop and the rest in a scalar loop, and the two round
// differently:
//   vector: float(q) * scale + float(-zero_point * scale), a float multiply then a float add
//           (two roundings; no fused multiply-add);
//   scalar: scale * (q - zero_point) in double, rounded once to float. Both factors are exact
//           floats and their product has at most 41 significant bits, so the double product
//           is exact and a single float multiply rounds to the same value.
constexpr int32_t kAffineBlock = 8;

#if defined(DLCODER_RT_X86)
// The vector loops of both (the blocks of kAffineBlock) with AVX2, 8 lanes: the same float
// operations one by one (the target has no FMA to contract them into).
namespace affine {
DLCODER_RT_TARGET_BEGIN("avx2")
template <typename Q>
inline __m256i load8(const Q* x) {
  if constexpr (sizeof(Q) == 2) {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  } else {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x));
    return std::is_signed<Q>::value ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
  }
}

// 8 int32 values within Q's range to y
template <typename Q>
inline void store8(__m256i v, Q* y) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  if constexpr (sizeof(Q) == 2) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), w);
  } else {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), std::is_signed<Q>::value ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
  }
}

template <typename Q>
inline void dequantize_avx2(int64_t vec, const Q* in, float* out, float scale, float offset) {
  const __m256 s = _mm256_set1_ps(scale), o = _mm256_set1_ps(offset);
  for (int64_t i = 0; i < vec; i += kAffineBlock)
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(load8(in + i)), s), o));
}

// cvtps2dq rounds as nearbyint does (the current mode, to nearest even by default) and
// gives INT32_MIN where the value does not fit, as quantize_rounded does.
template <typename Q>
inline void quantize_avx2(int64_t vec, const float* in, Q* out, float inv_scale, int32_t zero_point) {
  const __m256 inv = _mm256_set1_ps(inv_scale);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  const __m256i lo = _mm256_set1_epi32(std::numeric_limits<Q>::min()), hi = _mm256_set1_epi32(std::numeric_limits<Q>::max());
  for (int64_t i = 0; i < vec; i += kAffineBlock) {
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(in + i), inv)), zp);
    store8(_mm256_min_epi32(_mm256_max_epi32(q, lo), hi), out + i);
  }
}
DLCODER_RT_TARGET_END

inline bool avx2() { return runtime_isa() == Isa::kAvx2 || runtime_isa() == Isa::kAvx512; }

// The elements of the vector loop [0, vec) these took: all of them, or none.
template <typename Q>
inline int64_t dequantize_vector(int64_t vec, const Q* in, float* out, float scale, float offset) {
  if (!avx2()) return 0;
  dequantize_avx2(vec, in, out, scale, offset);
  return vec;
}

template <typename Q>
inline int64_t quantize_vector(int64_t vec, const float* in, Q* out, float inv_scale, int32_t zero_point) {
  if (!avx2()) return 0;
  quantize_avx2(vec, in, out, inv_scale, zero_point);
  return vec;
}
}  // namespace affine
#else
namespace affine {
template <typename Q>
inline int64_t dequantize_vector(int64_t, const Q*, float*, float, float) { return 0; }
template <typename Q>
inline int64_t quantize_vector(int64_t, const float*, Q*, float, int32_t) { return 0; }
}  // namespace affine
#endif  // DLCODER_RT_X86

template <typename Q>
inline void dequantize_affine(int64_t n, const Q* in, float* out, AffineParams p) {
  const int64_t vec = n / kAffineBlock * kAffineBlock;
  const float offset = static_cast<float>(-p.zero_point) * p.scale;
  int64_t i = affine::dequantize_vector(vec, in, out, p.scale, offset);
  for (; i < vec; ++i) {
    const float product = static_cast<float>(in[i]) * p.scale;
    out[i] = product + offset;
  }
  for (i = vec; i < n; ++i) out[i] = static_cast<float>(int32_t{in[i]} - p.zero_point) * p.scale;
}

inline void dequantize_f16(int64_t n, const uint16_t* in, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

// round(x / scale) + zero_point, clamped to Q, as TFLite's builtin QUANTIZE
// (optimized_ops::AffineQuantize) computes it: its vector loop (blocks of kAffineBlock)
// multiplies by the reciprocal float(1.0 / double(scale)) and rounds half to even; its
// scalar loop (the rest) divides in double and rounds half away from zero. The two differ
// on ties and near-ties.
// The rounded value is converted to int32 before zero_point is added, and TFLite leaves
// that conversion undefined where it does not fit (NaN, inf, |x / scale| >= 2^31). x86
// gives INT32_MIN there (cvtps2dq), which is what the interpreter we check against
// computes and what we compute on every platform, without the undefined behaviour; the
// int32 addition of zero_point then wraps as it does there: NaN and inf become the lowest
// Q, or the highest for a negative zero_point (INT32_MIN - 3 wraps to INT32_MAX - 2).
template <typename Q>
inline Q quantize_rounded(double r, int32_t zero_point) {
  constexpr int32_t lo = std::numeric_limits<Q>::min();
  constexpr int32_t hi = std::numeric_limits<Q>::max();
  const int32_t t = r >= -2147483648.0 && r < 2147483648.0 ? static_cast<int32_t>(r) : INT32_MIN;
  const int32_t q = static_cast<int32_t>(static_cast<uint32_t>(t) + static_cast<uint32_t>(zero_point));
  return static_cast<Q>(std::min(std::max(q, lo), hi));
}

template <typename Q>
inline void quantize_affine(int64_t n, const float* in, Q* out, AffineParams p) {
  const int64_t vec = n / kAffineBlock * kAffineBlock;
  const float inv_scale = static_cast<float>(1.0 / static_cast<double>(p.scale));
  int64_t i = affine::quantize_vector(vec, in, out, inv_scale, p.zero_point);
  for (; i < vec; ++i) out[i] = quantize_rounded<Q>(std::nearbyint(in[i] * inv_scale), p.zero_point);
  for (i = vec; i < n; ++i)
    out[i] = quantize_rounded<Q>(std::round(static_cast<double>(in[i]) / static_cast<double>(p.scale)), p.zero_point);
}

// QUANTIZE of integer input (TFLite's Requantize): (x - in_zp) times in_scale / out_scale as
// a fixed-point multiplier, plus out_zp, clamped to Out. TFLite's vector loop (the first
// `vec` elements; 0 where it has none) rounds half up, its scalar loop half away.
struct RequantizeParams {
  int32_t in_zp, out_zp, multiplier, shift;
  int64_t vec;
};

template <typename In, typename Out>
inline void requantize_q(int64_t n, const In* x, Out* y, RequantizeParams p) {
  constexpr int32_t lo = std::numeric_limits<Out>::min();
  constexpr int32_t hi = std::numeric_limits<Out>::max();
  for (int64_t i = 0; i < p.vec; ++i)
    y[i] = requantize<Out, Rounding::kUp>(int32_t{x[i]} - p.in_zp, p.multiplier, p.shift, p.out_zp, lo, hi);
  for (int64_t i = p.vec; i < n; ++i)
    y[i] = requantize<Out, Rounding::kAway>(int32_t{x[i]} - p.in_zp, p.multiplier, p.shift, p.out_zp, lo, hi);
}

}  // namespace dlcoder_rt
