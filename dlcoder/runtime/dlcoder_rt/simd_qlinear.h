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
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

constexpr int32_t kQPanel = 16;    // output channels per weight panel
constexpr int32_t kQGroup = 4;     // consecutive k per int32 lane of a panel
constexpr int32_t kQMaxRows = 12;  // A rows a GEMM kernel fills at once (scratch: kQMaxRows * kp * 2 bytes)

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

// ---------------------------------------------------------------------------------------
namespace dlcoder_rt {
namespace qsimd {

// Scalar epilogue of 16 accumulators (bias not yet added): half up.
template <typename Q>
inline void epilogue_scalar(const int32_t* acc, const QEpilogue& e, int ch, Q* y) {
  for (int c = 0; c < ch; ++c)
    y[c] = requantize<Q, Rounding::kUp>(acc[c] + e.bias[c], e.mult[c], e.shift[c], e.zero_point, e.lo, e.hi);
}

// The float epilogue of ch accumulators (bias not yet added; the int32 sum wraps).
inline void epilogue_scalar(const int32_t* acc, const QFloatEpilogue& e, int ch, float* y) {
  for (int c = 0; c < ch; ++c) {
    float v = static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(acc[c]) + static_cast<uint32_t>(e.bias[c])));
    v *= e.scale[c];
    DLCODER_RT_UNFUSED(v);
    y[c] = std::min(std::max(v + e.fbias[c], e.lo), e.hi);
  }
}

#if defined(DLCODER_RT_X86)
// ---- AVX-512 requantization: multiply_by_quantized_multiplier<kUp>, 16 lanes -----------
// high = SRDHM(x << left, m) is floor((x * m + 2^30) / 2^31) (the gemmlowp nudge rounds half
// up; m >= 0 never saturates), and the half-up shift by rs > 0 is floor((high + 2^(rs-1)) /
// 2^rs). As floor(floor(a / b) / c) = floor(a / (b c)) for integers b, c > 0, the two are
// one 64-bit step: floor((x * m + rnd) / 2^(31+rs)), rnd = 2^30 + [rs > 0] 2^(30+rs). With
// |x * m| < 2^62 and rs <= 31 (quant.py: shift >= -31), the sum plus 2^62 lies in (0, 2^64):
// a logical shift of it is the floor plus 2^(31-rs), which the zero point's lanes take off
// (zpc, in wrapping int32 arithmetic, as the result fits int32).
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
struct Rq512 {
  __m512i mult, mult_o, left, rnd_e, rnd_o, sh_e, sh_o, zpc, lo;
  __m128i lo8, hi8;
  bool any_left;
  explicit Rq512(const QEpilogue& e) {
    const __m512i s = _mm512_loadu_si512(e.shift);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
    mult = _mm512_loadu_si512(e.mult);
    mult_o = _mm512_srli_epi64(mult, 32);
    left = _mm512_max_epi32(s, zero);
    any_left = _mm512_test_epi32_mask(left, left) != 0;
    const __m512i rs = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    const __m512i sh = _mm512_add_epi32(rs, _mm512_set1_epi32(31));
    sh_e = _mm512_and_si512(sh, low);
    sh_o = _mm512_srli_epi64(sh, 32);
    const __m512i radd = _mm512_min_epi32(rs, _mm512_set1_epi32(1));
    const __m512i base = _mm512_set1_epi64((int64_t{1} << 62) + (int64_t{1} << 30));
    const __m512i one = _mm512_set1_epi64(1);
    rnd_e = _mm512_add_epi64(base, _mm512_sllv_epi64(_mm512_and_si512(radd, low), _mm512_sub_epi64(sh_e, one)));
    rnd_o = _mm512_add_epi64(base, _mm512_sllv_epi64(_mm512_srli_epi64(radd, 32), _mm512_sub_epi64(sh_o, one)));
    const __m512i off = _mm512_sllv_epi32(_mm512_set1_epi32(1), _mm512_sub_epi32(_mm512_set1_epi32(31), rs));
    zpc = _mm512_sub_epi32(_mm512_set1_epi32(e.zero_point), off);
    lo = _mm512_set1_epi32(e.lo);
    lo8 = _mm_set1_epi8(static_cast<char>(e.lo));
    hi8 = _mm_set1_epi8(static_cast<char>(e.hi));
  }
  // x requantized plus the zero point, not clamped
  __m512i operator()(__m512i x) const {
    if (any_left) x = _mm512_sllv_epi32(x, left);
    const __m512i pe = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), rnd_e), sh_e);
    const __m512i po = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_o), rnd_o), sh_o);
    return _mm512_add_epi32(_mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB), zpc);
  }
  // The 16 results clamped to [lo, hi] (within Q's range) as bytes: a saturating narrowing,
  // then the clamp on bytes (uint8: lo first, as the narrowing is unsigned).
  template <typename Q>
  __m128i bytes(__m512i x) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m512i h = (*this)(x);
    if constexpr (std::is_signed<Q>::value) {
      return _mm_min_epi8(_mm_max_epi8(_mm512_cvtsepi32_epi8(h), lo8), hi8);
    } else {
      return _mm_min_epu8(_mm512_cvtusepi32_epi8(_mm512_max_epi32(h, lo)), hi8);
    }
  }
};

template <typename Q>
inline void store16(__m128i b, int ch, Q* y) {
  if (ch == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
  } else {
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << ch) - 1u), b);
  }
}

// A panel's outputs from its 16 sums (bias added): out512(e) of the panel's epilogue,
// called with (sums, ch, y).
struct Out512 {
  Rq512 rq;
  template <typename Q>
  void operator()(__m512i s, int ch, Q* y) const { store16(rq.bytes<Q>(s), ch, y); }
  // Four rows' outputs (row stride ldy) narrowed together: two saturating packs (int32 ->
  // int16 -> 8 bits, as the single row's narrowing) leave 128-bit lane L holding channels
  // 4L..4L+3 of rows 0, 1, 2, 3; one clamp on the 64 bytes, one permute to rows in order.
  template <typename Q>
  [[gnu::always_inline]] void four(__m512i s0, __m512i s1, __m512i s2, __m512i s3, int ch, Q* y, int64_t ldy) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m512i w01 = _mm512_packs_epi32(rq(s0), rq(s1)), w23 = _mm512_packs_epi32(rq(s2), rq(s3));
    const __m512i lo = _mm512_broadcast_i32x4(rq.lo8), hi = _mm512_broadcast_i32x4(rq.hi8);
    __m512i b;
    if constexpr (std::is_signed<Q>::value) {
      b = _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(w01, w23), lo), hi);
    } else {
      b = _mm512_min_epu8(_mm512_max_epu8(_mm512_packus_epi16(w01, w23), lo), hi);
    }
    b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
    store16(_mm512_castsi512_si128(b), ch, y);
    store16(_mm512_extracti32x4_epi32(b, 1), ch, y + ldy);
    store16(_mm512_extracti32x4_epi32(b, 2), ch, y + 2 * ldy);
    store16(_mm512_extracti32x4_epi32(b, 3), ch, y + 3 * ldy);
  }
};

struct Out512F {
  __m512 scale, fbias, lo, hi;
  void operator()(__m512i s, int ch, float* y) const {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(s), scale);
    DLCODER_RT_UNFUSED(v);
    // max(lo, v), min(hi, v): std::max(v, lo), std::min(v, hi) (ties and NaN give v)
    v = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(v, fbias)));
    if (ch == 16) {
      _mm512_storeu_ps(y, v);
    } else {
      _mm512_mask_storeu_ps(y, static_cast<__mmask16>((1u << ch) - 1u), v);
    }
  }
  void four(__m512i s0, __m512i s1, __m512i s2, __m512i s3, int ch, float* y, int64_t ldy) const {
    (*this)(s0, ch, y);
    (*this)(s1, ch, y + ldy);
    (*this)(s2, ch, y + 2 * ldy);
    (*this)(s3, ch, y + 3 * ldy);
  }
};

inline Out512 out512(const QEpilogue& e) { return {Rq512(e)}; }
inline Out512F out512(const QFloatEpilogue& e) {
  return {_mm512_loadu_ps(e.scale), _mm512_loadu_ps(e.fbias), _mm512_set1_ps(e.lo), _mm512_set1_ps(e.hi)};
}
DLCODER_RT_TARGET_END

// ---- AVX2 requantization, 8 lanes ------------------------------------------------------
DLCODER_RT_TARGET_BEGIN("avx2,fma")
// The same steps as Rq512 (its comment) on 8 lanes of e's channels off..off+7.
struct Rq256 {
  __m256i mult, mult_o, left, rnd_e, rnd_o, sh_e, sh_o, zpc;
  bool any_left;
  Rq256(const QEpilogue& e, int off) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.shift + off));
    const __m256i zero = _mm256_setzero_si256();
    const __m256i low = _mm256_set1_epi64x(0xFFFFFFFF);
    mult = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.mult + off));
    mult_o = _mm256_srli_epi64(mult, 32);
    left = _mm256_max_epi32(s, zero);
    any_left = !_mm256_testz_si256(left, left);
    const __m256i rs = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i sh = _mm256_add_epi32(rs, _mm256_set1_epi32(31));
    sh_e = _mm256_and_si256(sh, low);
    sh_o = _mm256_srli_epi64(sh, 32);
    const __m256i radd = _mm256_min_epi32(rs, _mm256_set1_epi32(1));
    const __m256i base = _mm256_set1_epi64x((int64_t{1} << 62) + (int64_t{1} << 30));
    const __m256i one = _mm256_set1_epi64x(1);
    rnd_e = _mm256_add_epi64(base, _mm256_sllv_epi64(_mm256_and_si256(radd, low), _mm256_sub_epi64(sh_e, one)));
    rnd_o = _mm256_add_epi64(base, _mm256_sllv_epi64(_mm256_srli_epi64(radd, 32), _mm256_sub_epi64(sh_o, one)));
    const __m256i offs = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(_mm256_set1_epi32(31), rs));
    zpc = _mm256_sub_epi32(_mm256_set1_epi32(e.zero_point), offs);
  }
  // x requantized plus the zero point, not clamped (store16 clamps)
  __m256i operator()(__m256i x) const {
    if (any_left) x = _mm256_sllv_epi32(x, left);
    const __m256i pe = _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, mult), rnd_e), sh_e);
    const __m256i po = _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mult_o), rnd_o), sh_o);
    return _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_shuffle_epi32(po, 0xB1), 0xAA), zpc);
  }
};

// 16 lanes (a: 0..7, b: 8..15) clamped to [lo, hi] (bytes of Q's range, lo8 and hi8) as ch
// bytes: saturating packs, then the clamp on bytes.
template <typename Q>
inline void store16(__m256i a, __m256i b, __m128i lo8, __m128i hi8, int ch, Q* y) {
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);  // int16, in order
  const __m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
  const __m128i bytes = std::is_signed<Q>::value ? _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(lo, hi), lo8), hi8)
                                                 : _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(lo, hi), lo8), hi8);
  if (ch == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), bytes);
  } else {
    alignas(16) uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(y, tmp, ch);
  }
}

// A panel's outputs from its 16 sums (bias added, channels 0-7 in a, 8-15 in b), as out512.
struct Out256 {
  Rq256 rq0, rq1;
  __m128i lo8, hi8;
  template <typename Q>
  void operator()(__m256i a, __m256i b, int ch, Q* y) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    store16(rq0(a), rq1(b), lo8, hi8, ch, y);
  }
};

struct Out256F {
  __m256 scale[2], fbias[2], lo, hi;
  void operator()(__m256i a, __m256i b, int ch, float* y) const {
    alignas(32) float tmp[16];
    float* dst = ch == 16 ? y : tmp;
    for (int h = 0; h < 2; ++h) {
      __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(h == 0 ? a : b), scale[h]);
      DLCODER_RT_UNFUSED(v);
      _mm256_storeu_ps(dst + 8 * h, _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(v, fbias[h]))));
    }
    if (ch < 16) std::memcpy(y, tmp, sizeof(float) * ch);
  }
};

inline Out256 out256(const QEpilogue& e) {
  return {Rq256(e, 0), Rq256(e, 8), _mm_set1_epi8(static_cast<char>(e.lo)), _mm_set1_epi8(static_cast<char>(e.hi))};
}
inline Out256F out256(const QFloatEpilogue& e) {
  return {{_mm256_loadu_ps(e.scale), _mm256_loadu_ps(e.scale + 8)},
          {_mm256_loadu_ps(e.fbias), _mm256_loadu_ps(e.fbias + 8)},
          _mm256_set1_ps(e.lo),
          _mm256_set1_ps(e.hi)};
}
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_X86

#if defined(DLCODER_RT_NEON)
// ---- NEON requantization: vqrdmulh is SRDHM, vrshl by -rs the half-up shift -------------
struct RqNeon {
  int32x4_t mult[4], left[4], right[4];
  int32x4_t zp, lo, hi;
  explicit RqNeon(const QEpilogue& e) {
    for (int q = 0; q < 4; ++q) {
      const int32x4_t s = vld1q_s32(e.shift + 4 * q);
      mult[q] = vld1q_s32(e.mult + 4 * q);
      left[q] = vmaxq_s32(s, vdupq_n_s32(0));
      right[q] = vminq_s32(s, vdupq_n_s32(0));
    }
    zp = vdupq_n_s32(e.zero_point);
    lo = vdupq_n_s32(e.lo);
    hi = vdupq_n_s32(e.hi);
  }
  int32x4_t operator()(int32x4_t x, int q) const {
    const int32x4_t h = vrshlq_s32(vqrdmulhq_s32(vshlq_s32(x, left[q]), mult[q]), right[q]);
    return vminq_s32(vmaxq_s32(vaddq_s32(h, zp), lo), hi);
  }
};

template <typename Q>
inline void store16(const int32x4_t* v, int ch, Q* y) {
  const int16x8_t a = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
  const int16x8_t b = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
  const uint8x16_t bytes = vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(a), vmovn_s16(b)));
  if (ch == 16) {
    vst1q_u8(reinterpret_cast<uint8_t*>(y), bytes);
  } else {
    uint8_t tmp[16];
    vst1q_u8(tmp, bytes);
    std::memcpy(y, tmp, ch);
  }
}

// A panel's outputs from its 16 sums (bias added, 4 per vector), as out512.
struct OutNeon {
  RqNeon rq;
  template <typename Q>
  void operator()(const int32x4_t* s, int ch, Q* y) const {
    int32x4_t v[4];
    for (int q = 0; q < 4; ++q) v[q] = rq(s[q], q);
    store16(v, ch, y);
  }
};

struct OutNeonF {
  float32x4_t scale[4], fbias[4], lo, hi;
  void operator()(const int32x4_t* s, int ch, float* y) const {
    float tmp[16];
    float* dst = ch == 16 ? y : tmp;
    for (int q = 0; q < 4; ++q) {
      float32x4_t v = vmulq_f32(vcvtq_f32_s32(s[q]), scale[q]);
      DLCODER_RT_UNFUSED(v);
      v = vaddq_f32(v, fbias[q]);
      // std::max(v, lo), std::min(v, hi): v unless it lies past the bound
      v = vbslq_f32(vcltq_f32(v, lo), lo, v);
      vst1q_f32(dst + 4 * q, vbslq_f32(vcltq_f32(hi, v), hi, v));
    }
    if (ch < 16) std::memcpy(y, tmp, sizeof(float) * ch);
  }
};

inline OutNeon out_neon(const QEpilogue& e) { return {RqNeon(e)}; }
inline OutNeonF out_neon(const QFloatEpilogue& e) {
  OutNeonF o;
  for (int q = 0; q < 4; ++q) {
    o.scale[q] = vld1q_f32(e.scale + 4 * q);
    o.fbias[q] = vld1q_f32(e.fbias + 4 * q);
  }
  o.lo = vdupq_n_f32(e.lo);
  o.hi = vdupq_n_f32(e.hi);
  return o;
}
#endif  // DLCODER_RT_NEON

#if defined(DLCODER_RT_NEON)
// The dot-product kernels' target. GCC 12 refuses to inline vdotq_s32 (defined under
// "arch=armv8.2-a+dotprod") into some "+dotprod" functions; every CPU with the dot
// product is ARMv8.2 or later.
#if defined(__clang__)
#define DLCODER_RT_DOTPROD_TARGET "dotprod"
#else
#define DLCODER_RT_DOTPROD_TARGET "arch=armv8.2-a+dotprod"
#endif
#endif

// ---- the GEMM micro-kernels: M rows of A x one panel of 16 channels ---------------------
// Each `tile<M>` reads A rows [M][kp] and panel [kp/4][16][4], adds the panel's bias,
// requantizes and stores ch <= 16 channels of each row (row stride ldy).

namespace portable {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 1;

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  for (int r = 0; r < M; ++r) {
    int32_t acc[kQPanel];
    for (int j = 0; j < kQPanel; ++j) acc[j] = 0;
    const A* ar = a + int64_t{r} * kp;
    for (int32_t g = 0; g < kp / kQGroup; ++g) {
      const W* wg = w + int64_t{g} * kQPanel * kQGroup;
      const A* x = ar + g * kQGroup;
      for (int j = 0; j < kQPanel; ++j)
        acc[j] += int32_t{x[0]} * wg[4 * j] + int32_t{x[1]} * wg[4 * j + 1] + int32_t{x[2]} * wg[4 * j + 2] +
                  int32_t{x[3]} * wg[4 * j + 3];
    }
    epilogue_scalar(acc, e, ch, y + r * ldy);
  }
}

}  // namespace portable

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
namespace k_avx512 {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 8;

// 8 channels x 4 k of the panel as 32 int16
template <typename W>
inline __m512i wload(const W* p) {
  if constexpr (sizeof(W) == 1) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else {
    return _mm512_loadu_si512(p);
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  // acc[r][h]: channels 8h..8h+7, lane 2c holds k 0-1 of channel c, lane 2c+1 k 2-3
  __m512i acc[M][2];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    const W* wg = w + int64_t{g} * kQPanel * kQGroup;
    const __m512i w0 = wload(wg), w1 = wload(wg + 32);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      int64_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      const __m512i x = _mm512_set1_epi64(v);
      acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_madd_epi16(x, w0));
      acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_madd_epi16(x, w1));
    }
  }
  const auto out = out512(e);
  const __m512i bias = _mm512_loadu_si512(e.bias);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
    const __m512i s0 = _mm512_add_epi32(acc[r][0], _mm512_srli_epi64(acc[r][0], 32));
    const __m512i s1 = _mm512_add_epi32(acc[r][1], _mm512_srli_epi64(acc[r][1], 32));
    const __m512i s = _mm512_add_epi32(_mm512_permutex2var_epi32(s0, even, s1), bias);
    out(s, ch, y + r * ldy);
  }
}

}  // namespace k_avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
namespace k_avx512vnni {
using A = uint8_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 12;

template <typename Q>
inline void store8(__m128i b, int ch, Q* y) {
  if (ch == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), b);
  } else {
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << ch) - 1u), b);
  }
}

// The outputs of a panel's first ch <= 8 channels from their 8 sums (bias added): Out512's
// steps on ymm vectors (Rq256), half the work where zmm operations take two passes.
struct Out8 {
  Rq256 rq;
  __m128i lo8, hi8;
  explicit Out8(const QEpilogue& e)
      : rq(e, 0), lo8(_mm_set1_epi8(static_cast<char>(e.lo))), hi8(_mm_set1_epi8(static_cast<char>(e.hi))) {}
  template <typename Q>
  void operator()(__m256i s, int ch, Q* y) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m256i h = rq(s);
    if constexpr (std::is_signed<Q>::value) {
      store8(_mm_min_epi8(_mm_max_epi8(_mm256_cvtsepi32_epi8(h), lo8), hi8), ch, y);
    } else {
      const __m128i b = _mm256_cvtusepi32_epi8(_mm256_max_epi32(h, _mm256_setzero_si256()));
      store8(_mm_min_epu8(_mm_max_epu8(b, lo8), hi8), ch, y);
    }
  }
  // four rows as Out512::four: lane 0 of the packs holds channels 0-3 of rows 0..3, lane 1
  // channels 4-7; a permute puts row r at bytes 8r..8r+7
  template <typename Q>
  [[gnu::always_inline]] void four(__m256i s0, __m256i s1, __m256i s2, __m256i s3, int ch, Q* y, int64_t ldy) const {
    static_assert(sizeof(Q) == 1, "8-bit outputs");
    const __m256i w01 = _mm256_packs_epi32(rq(s0), rq(s1)), w23 = _mm256_packs_epi32(rq(s2), rq(s3));
    const __m256i lo = _mm256_broadcastsi128_si256(lo8), hi = _mm256_broadcastsi128_si256(hi8);
    __m256i b;
    if constexpr (std::is_signed<Q>::value) {
      b = _mm256_min_epi8(_mm256_max_epi8(_mm256_packs_epi16(w01, w23), lo), hi);
    } else {
      b = _mm256_min_epu8(_mm256_max_epu8(_mm256_packus_epi16(w01, w23), lo), hi);
    }
    b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    const __m128i r01 = _mm256_castsi256_si128(b), r23 = _mm256_extracti128_si256(b, 1);
    store8(r01, ch, y);
    store8(_mm_unpackhi_epi64(r01, r01), ch, y + ldy);
    store8(r23, ch, y + 2 * ldy);
    store8(_mm_unpackhi_epi64(r23, r23), ch, y + 3 * ldy);
  }
};

// The float epilogue of at most 8 channels: Out512F's.
struct Out8F {
  Out512F f;
  void operator()(__m256i s, int ch, float* y) const { f(_mm512_zextsi256_si512(s), ch, y); }
  void four(__m256i s0, __m256i s1, __m256i s2, __m256i s3, int ch, float* y, int64_t ldy) const {
    f.four(_mm512_zextsi256_si512(s0), _mm512_zextsi256_si512(s1), _mm512_zextsi256_si512(s2),
           _mm512_zextsi256_si512(s3), ch, y, ldy);
  }
};

// The vectors of one tile: 16 channels (zmm), or 8 (ymm, the low half of each group of a
// panel whose channels past 8 are padding: half the vpdpbusd work of a zmm tile), and the
// epilogue of each.
struct V512 {
  using T = __m512i;
  static T bias(const int32_t* b) { return _mm512_loadu_si512(b); }
  static T zero() { return _mm512_setzero_si512(); }
  static T wload(const int8_t* p) { return _mm512_loadu_si512(p); }
  static T dot(T acc, int32_t x, T w) { return _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(x), w); }
  static T add(T a, T b) { return _mm512_add_epi32(a, b); }
  template <typename E>
  static auto out(const E& e) { return out512(e); }
};
struct V256 {
  using T = __m256i;
  static T bias(const int32_t* b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)); }
  static T zero() { return _mm256_setzero_si256(); }
  static T wload(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static T dot(T acc, int32_t x, T w) { return _mm256_dpbusd_epi32(acc, _mm256_set1_epi32(x), w); }
  static T add(T a, T b) { return _mm256_add_epi32(a, b); }
  static Out8 out(const QEpilogue& e) { return Out8(e); }
  static Out8F out(const QFloatEpilogue& e) { return {out512(e)}; }
};

// M rows x one panel in vectors V. Rows of fewer than 4 take the groups of k in S
// interleaved chains of accumulators (g mod S), summed at the end, so that 4 vpdpbusd
// are in flight whatever M (one chain per row waits out each one's latency).
template <typename V, int M, typename E, typename Y>
inline void tile_v(const A* a, int32_t kp, const int8_t* w, const E& e, int ch, Y* y, int64_t ldy) {
  constexpr int S = M >= 4 ? 1 : M == 1 ? 4 : 2;
  typename V::T acc[S][M];  // the loops unrolled (GCC -O2 does not): acc stays in registers
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) {
    acc[0][r] = V::bias(e.bias);
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s) acc[s][r] = V::zero();
  }
  const int32_t groups = kp / kQGroup;
  int32_t g = 0;
  for (; g + S <= groups; g += S) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      const typename V::T wv = V::wload(w + int64_t{g + s} * kQPanel * kQGroup);
#pragma GCC unroll 12
      for (int r = 0; r < M; ++r) {
        int32_t v;
        std::memcpy(&v, a + int64_t{r} * kp + (g + s) * kQGroup, sizeof v);
        acc[s][r] = V::dot(acc[s][r], v, wv);
      }
    }
  }
  for (; g < groups; ++g) {  // S > 1: the groups past a multiple of S
    const typename V::T wv = V::wload(w + int64_t{g} * kQPanel * kQGroup);
#pragma GCC unroll 12
    for (int r = 0; r < M; ++r) {
      int32_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      acc[0][r] = V::dot(acc[0][r], v, wv);
    }
  }
  const auto out = V::out(e);
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s) acc[0][r] = V::add(acc[0][r], acc[s][r]);
  }
  int r = 0;  // rows in fours, then one by one
#pragma GCC unroll 3
  for (; r + 4 <= M; r += 4) out.four(acc[0][r], acc[0][r + 1], acc[0][r + 2], acc[0][r + 3], ch, y + r * ldy, ldy);
#pragma GCC unroll 3
  for (; r < M; ++r) out(acc[0][r], ch, y + r * ldy);
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  static_assert(sizeof(W) == 1, "vpdpbusd takes int8 weights (qlinear_path sends int16 elsewhere)");
  if (ch <= kQPanel / 2) return tile_v<V256, M>(a, kp, w, e, ch, y, ldy);
  tile_v<V512, M>(a, kp, w, e, ch, y, ldy);
}
}  // namespace k_avx512vnni
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
namespace k_avx2 {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 2;

// 4 channels x 4 k as 16 int16
template <typename W>
inline __m256i wload(const W* p) {
  if constexpr (sizeof(W) == 1) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  // acc[r][q]: channels 4q..4q+3, lane 2c k 0-1, lane 2c+1 k 2-3
  __m256i acc[M][4];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = _mm256_setzero_si256();
  }
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    const W* wg = w + int64_t{g} * kQPanel * kQGroup;
    __m256i wv[4];
#pragma GCC unroll 16
    for (int q = 0; q < 4; ++q) wv[q] = wload(wg + 16 * q);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      int64_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      const __m256i x = _mm256_set1_epi64x(v);
#pragma GCC unroll 16
      for (int q = 0; q < 4; ++q) acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(x, wv[q]));
    }
  }
  const auto out = out256(e);
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias + 8));
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
    // hadd: [c0 c1 c4 c5 | c2 c3 c6 c7] -> in order by 64-bit lanes 0 2 1 3
    const __m256i s0 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
    const __m256i s1 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);
    out(_mm256_add_epi32(s0, b0), _mm256_add_epi32(s1, b1), ch, y + r * ldy);
  }
}

}  // namespace k_avx2
DLCODER_RT_TARGET_END

namespace k_sse2 {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 1;

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  for (int r = 0; r < M; ++r) {
    __m128i acc[8];  // acc[q]: channels 2q, 2q+1 (lanes: k 0-1, k 2-3 of each)
#pragma GCC unroll 16
    for (int q = 0; q < 8; ++q) acc[q] = _mm_setzero_si128();
    const A* ar = a + int64_t{r} * kp;
    for (int32_t g = 0; g < kp / kQGroup; ++g) {
      const W* wg = w + int64_t{g} * kQPanel * kQGroup;
      int64_t v;
      std::memcpy(&v, ar + g * kQGroup, sizeof v);
      const __m128i x = _mm_set1_epi64x(v);
#pragma GCC unroll 16
      for (int h = 0; h < 4; ++h) {
        __m128i lo, hi;
        if constexpr (sizeof(W) == 1) {
          const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + 16 * h));
          lo = _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8);
          hi = _mm_srai_epi16(_mm_unpackhi_epi8(b, b), 8);
        } else {
          lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + 16 * h));
          hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + 16 * h + 8));
        }
        acc[2 * h] = _mm_add_epi32(acc[2 * h], _mm_madd_epi16(x, lo));
        acc[2 * h + 1] = _mm_add_epi32(acc[2 * h + 1], _mm_madd_epi16(x, hi));
      }
    }
    alignas(16) int32_t lanes[32];
#pragma GCC unroll 16
    for (int q = 0; q < 8; ++q) _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 4 * q), acc[q]);
    int32_t sums[kQPanel];
    for (int c = 0; c < kQPanel; ++c) sums[c] = lanes[2 * c] + lanes[2 * c + 1];
    epilogue_scalar(sums, e, ch, y + r * ldy);
  }
}

}  // namespace k_sse2
#endif  // DLCODER_RT_X86

#if defined(DLCODER_RT_NEON)
namespace k_neon {
using A = int16_t;
constexpr uint8_t kAXor = 0x00;
constexpr bool kSignedA = false;
constexpr int kMR = 4;

// the panel's group g as wk[t][h]: k t of channels 8h..8h+7
template <typename W>
inline void wload(const W* p, int16x8_t wk[4][2]) {
  if constexpr (sizeof(W) == 1) {
    const int8x16x4_t v = vld4q_s8(p);
    for (int t = 0; t < 4; ++t) {
      wk[t][0] = vmovl_s8(vget_low_s8(v.val[t]));
      wk[t][1] = vmovl_high_s8(v.val[t]);
    }
  } else {
    const int16x8x4_t v0 = vld4q_s16(p), v1 = vld4q_s16(p + 32);
    for (int t = 0; t < 4; ++t) {
      wk[t][0] = v0.val[t];
      wk[t][1] = v1.val[t];
    }
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  int32x4_t acc[M][4];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = vld1q_s32(e.bias + 4 * q);
  }
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    int16x8_t wk[4][2];
    wload(w + int64_t{g} * kQPanel * kQGroup, wk);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      const int16x4_t x = vld1_s16(a + int64_t{r} * kp + g * kQGroup);
#define DLCODER_RT_QNEON_K(t)                                                   \
      acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(wk[t][0]), x, t);   \
      acc[r][1] = vmlal_high_lane_s16(acc[r][1], wk[t][0], x, t);             \
      acc[r][2] = vmlal_lane_s16(acc[r][2], vget_low_s16(wk[t][1]), x, t);   \
      acc[r][3] = vmlal_high_lane_s16(acc[r][3], wk[t][1], x, t);
      DLCODER_RT_QNEON_K(0)
      DLCODER_RT_QNEON_K(1)
      DLCODER_RT_QNEON_K(2)
      DLCODER_RT_QNEON_K(3)
#undef DLCODER_RT_QNEON_K
    }
  }
  const auto out = out_neon(e);
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) out(acc[r], ch, y + r * ldy);
}

}  // namespace k_neon

DLCODER_RT_TARGET_BEGIN(DLCODER_RT_DOTPROD_TARGET)
namespace k_neondot {
using A = int8_t;
constexpr uint8_t kAXor = 0x80;  // sdot takes signed bytes: the unsigned domain minus 128
constexpr bool kSignedA = true;
constexpr int kMR = 4;

// acc + the 4-byte dot products of a and b, lane by lane (sdot). Clang before 16 declares
// vdotq_s32 only for a translation unit built with the dot product: an instruction there.
inline int32x4_t sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__clang__)
  __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
  return acc;
#else
  return vdotq_s32(acc, a, b);
#endif
}

template <int M, typename W, typename E, typename Y>
inline void tile(const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  static_assert(sizeof(W) == 1, "sdot takes int8 weights (qlinear_path sends int16 elsewhere)");
  int32x4_t acc[M][4];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = vld1q_s32(e.bias + 4 * q);
  }
  const int32_t groups = kp / kQGroup;
  for (int32_t g = 0; g < groups; ++g) {
    const W* wg = w + int64_t{g} * kQPanel * kQGroup;
    int8x16_t wv[4];
#pragma GCC unroll 16
    for (int q = 0; q < 4; ++q) wv[q] = vld1q_s8(wg + 16 * q);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      int32_t v;
      std::memcpy(&v, a + int64_t{r} * kp + g * kQGroup, sizeof v);
      const int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(v));
#pragma GCC unroll 16
      for (int q = 0; q < 4; ++q) acc[r][q] = sdot(acc[r][q], wv[q], x);
    }
  }
  const auto out = out_neon(e);
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) out(acc[r], ch, y + r * ldy);
}

}  // namespace k_neondot
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_NEON

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
