// Dynamic-range ("hybrid") FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D: float32
// activations, constant int8 weights (symmetric, per tensor or per output channel), float
// bias. As TFLite's hybrid kernels do: each batch row of the input is quantized on the fly
// to int8 (symmetrically, or asymmetrically with a zero point), the products are summed in
// int32 against the int8 weights, and the sum goes back to float as
//   y = float(sum((q - zp) * w)) * (weight_scale[c] * input_scale) + bias[c]
// then the fused activation's clamp (DEPTHWISE_CONV_2D: float(sum) * weight_scale[c] *
// input_scale, left to right). The weights are never dequantized.
//
// The input quantization is that of the pip build of ai-edge-litert, found by experiment
// (tests/test_quantized_hybrid.py): the asymmetric scale is computed in float32 and a value
// is rounded (half away from zero) before its zero point is added.
// The row sums are TFLite's x86 ReductionSumVector's (generation time, int16 lanes that
// wrap), and FULLY_CONNECTED / CONV_2D's per-tensor SSE path form the products as SSSE3
// does (hybrid_dot_sse) when the weights hold -128.
//
// The integer sums run on the int8 kernels: CONV_2D and FULLY_CONNECTED on the GEMMs of
// qlinear.h (packed weights; AMX, VNNI, ...), DEPTHWISE_CONV_2D on those of qdepthwise.h,
// with their float epilogues (QFloatArgs, QDwHybrid). The input's zero point is known
// only per row, so its share is folded into their int32 bias per row: -zp * row_sums[c]
// (and -128 * sum(w) for the GEMMs' unsigned domain), and padding taps hold zp, which that
// fold cancels (for row sums that wrapped, as TFLite's im2col pads with zp too). The
// weights holding -128 where TFLite's SSE dot differs (sse_dot) take the scalar loops
// (conv2d_hybrid_sse, fully_connected_hybrid_sse).
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/qdepthwise.h"
#include "dlcoder_rt/qlinear.h"

namespace dlcoder_rt {

// q[i] = clamp(round(x[i] * inv) + zp, qmin, 127), the float product rounded half away.
inline void hybrid_quantize_scalar(const float* x, int64_t n, float inv, int32_t zp, int32_t qmin, int8_t* q) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t r = static_cast<int32_t>(std::round(x[i] * inv)) + zp;
    q[i] = static_cast<int8_t>(std::min(127, std::max(qmin, r)));
  }
}

#if defined(DLCODER_RT_X86)
namespace hybrid_simd {
// AVX-512F only (runtime_isa()'s kAvx512 promises no more)
DLCODER_RT_TARGET_BEGIN("avx512f,avx2,fma")
inline void minmax_avx512(const float* x, int64_t n, float* lo, float* hi) {
  __m512 mn = _mm512_set1_ps(x[0]), mx = mn;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    mn = _mm512_min_ps(mn, v);
    mx = _mm512_max_ps(mx, v);
  }
  if (i < n) {
    const __m512 v = _mm512_mask_loadu_ps(mn, static_cast<__mmask16>((1u << (n - i)) - 1u), x + i);
    mn = _mm512_min_ps(mn, v);
    mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, static_cast<__mmask16>((1u << (n - i)) - 1u), x + i));
  }
  *lo = _mm512_reduce_min_ps(mn);
  *hi = _mm512_reduce_max_ps(mx);
}

// hybrid_quantize_scalar, 16 at a time: round half away is trunc(v), plus v's sign where
// the dropped fraction v - trunc(v) (exact) is at least 1/2.
inline void quantize_avx512(const float* x, int64_t n, float inv, int32_t zp, int32_t qmin, int8_t* q) {
  const __m512 vinv = _mm512_set1_ps(inv), half = _mm512_set1_ps(0.5f);
  const __m512i one = _mm512_castps_si512(_mm512_set1_ps(1.0f)), sign = _mm512_set1_epi32(INT32_MIN);
  const __m512i vzp = _mm512_set1_epi32(zp), vmin = _mm512_set1_epi32(qmin);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1u);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vinv);
    DLCODER_RT_UNFUSED(v);
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
    const __m512 step = _mm512_castsi512_ps(_mm512_or_si512(one, _mm512_and_si512(_mm512_castps_si512(v), sign)));
    t = _mm512_mask_add_ps(t, up, t, step);
    const __m512i r = _mm512_max_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(t), vzp), vmin);
    _mm512_mask_cvtsepi32_storeu_epi8(q + i, m, r);
  }
}
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
inline void minmax_avx2(const float* x, int64_t n, float* lo, float* hi) {
  __m256 mn = _mm256_set1_ps(x[0]), mx = mn;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    mn = _mm256_min_ps(mn, v);
    mx = _mm256_max_ps(mx, v);
  }
  alignas(32) float a[8], b[8];
  _mm256_store_ps(a, mn);
  _mm256_store_ps(b, mx);
  for (; i < n; ++i) {
    a[0] = std::min(a[0], x[i]);
    b[0] = std::max(b[0], x[i]);
  }
  for (int j = 1; j < 8; ++j) {
    a[0] = std::min(a[0], a[j]);
    b[0] = std::max(b[0], b[j]);
  }
  *lo = a[0];
  *hi = b[0];
}

inline void quantize_avx2(const float* x, int64_t n, float inv, int32_t zp, int32_t qmin, int8_t* q) {
  const __m256 vinv = _mm256_set1_ps(inv), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i vzp = _mm256_set1_epi32(zp), vmin = _mm256_set1_epi32(qmin), vmax = _mm256_set1_epi32(127);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv);
    DLCODER_RT_UNFUSED(v);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
    t = _mm256_add_ps(t, _mm256_and_ps(up, _mm256_or_ps(one, _mm256_and_ps(v, sign))));
    __m256i r = _mm256_add_epi32(_mm256_cvttps_epi32(t), vzp);
    r = _mm256_min_epi32(_mm256_max_epi32(r, vmin), vmax);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packs_epi16(w, w));
  }
  hybrid_quantize_scalar(x + i, n - i, inv, zp, qmin, q + i);
}
DLCODER_RT_TARGET_END
}  // namespace hybrid_simd
#endif

// lo, hi = min and max of x[0..n), n >= 1.
inline void hybrid_minmax(const float* x, int64_t n, float* lo, float* hi) {
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512: return hybrid_simd::minmax_avx512(x, n, lo, hi);
    case Isa::kAvx2: return hybrid_simd::minmax_avx2(x, n, lo, hi);
    default: break;
  }
#endif
  float a = x[0], b = x[0];
  for (int64_t i = 1; i < n; ++i) {
    a = std::min(a, x[i]);
    b = std::max(b, x[i]);
  }
  *lo = a;
  *hi = b;
}

inline void hybrid_quantize_values(const float* x, int64_t n, float inv, int32_t zp, int32_t qmin, int8_t* q) {
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512: return hybrid_simd::quantize_avx512(x, n, inv, zp, qmin, q);
    case Isa::kAvx2: return hybrid_simd::quantize_avx2(x, n, inv, zp, qmin, q);
    default: break;
  }
#endif
  hybrid_quantize_scalar(x, n, inv, zp, qmin, q);
}

// Symmetric: scale = max|x| / 127, q = round(x * 127 / max|x|) in [-127, 127]; an all-zero
// row gets scale 1.
inline void hybrid_quantize_symmetric(const float* x, int64_t n, int8_t* q, float* scale) {
  float lo, hi;
  hybrid_minmax(x, n, &lo, &hi);
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(n));
    *scale = 1.0f;
    return;
  }
  *scale = range / 127.0f;
  hybrid_quantize_values(x, n, 127.0f / range, 0, -127, q);
}

// Asymmetric over [min(0, min x), max(0, max x)] onto [-128, 127]: float32 scale, the zero
// point nudged from whichever end has the smaller error; q = round(x / scale) + zp.
inline void hybrid_quantize_asymmetric(const float* x, int64_t n, int8_t* q, float* scale,
                                       int32_t* zero_point) {
  float lo, hi;
  hybrid_minmax(x, n, &lo, &hi);
  const float rmin = std::min(0.0f, lo), rmax = std::max(0.0f, hi);
  if (rmin == rmax) {
    std::memset(q, 0, static_cast<size_t>(n));
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  const float s = (rmax - rmin) / 255.0f;
  const double sd = s;
  const double from_min = -128.0 - rmin / sd, from_max = 127.0 - rmax / sd;
  const double err_min = 128.0 + std::fabs(rmin / sd), err_max = 127.0 + std::fabs(rmax / sd);
  const double zd = err_min < err_max ? from_min : from_max;
  const int32_t zp = zd <= -128.0 ? -128 : zd >= 127.0 ? 127 : static_cast<int32_t>(std::round(zd));
  *scale = s;
  *zero_point = zp;
  hybrid_quantize_values(x, n, 1.0f / s, zp, -128, q);
}

inline void hybrid_quantize(bool asymmetric, const float* x, int64_t n, int8_t* q, float* scale,
                            int32_t* zero_point) {
  if (asymmetric) {
    hybrid_quantize_asymmetric(x, n, q, scale, zero_point);
  } else {
    hybrid_quantize_symmetric(x, n, q, scale);
    *zero_point = 0;
  }
}

// sum(a[i] * b[i]) of int8 vectors.
inline int32_t hybrid_dot(const int8_t* a, const int8_t* b, int32_t n) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += int32_t{a[i]} * int32_t{b[i]};
    s1 += int32_t{a[i + 1]} * int32_t{b[i + 1]};
    s2 += int32_t{a[i + 2]} * int32_t{b[i + 2]};
    s3 += int32_t{a[i + 3]} * int32_t{b[i + 3]};
  }
  for (; i < n; ++i) s0 += int32_t{a[i]} * int32_t{b[i]};
  return (s0 + s1) + (s2 + s3);
}

// sum(q[i] * w[i]) as TFLite's x86 (SSSE3) hybrid kernel forms it
// (SseMatrixBatchVectorMultiplyAccumulateImpl, DotProdInt8x4x4): over the first n & ~15
// values each product is |q| * (w with q's sign put on it by _mm_sign_epi8), and there a
// weight -128 stays -128 when negated, so -128 against a negative q gives 128 * q instead
// of -128 * q; the 8- and 4-wide postambles and the scalar tail are exact. The products
// never leave int16 in _mm_maddubs_epi16 (at most 2 * 128 * 128), so nothing else differs.
// Only weights holding -128 in the first n & ~15 places need this over hybrid_dot.
inline int32_t hybrid_dot_sse(const int8_t* q, const int8_t* w, int32_t n) {
  int32_t fix = 0;
  const int32_t blocks = n & ~15;
  for (int32_t i = 0; i < blocks; ++i) {
    if (w[i] == -128 && q[i] < 0) fix += q[i];
  }
  return static_cast<int32_t>(static_cast<uint32_t>(hybrid_dot(q, w, n)) +
                              static_cast<uint32_t>(fix) * 256u);
}

// One row's outputs from its quantized input row (k values) as TFLite's x86 SSE kernel
// forms them (hybrid_dot_sse): weights [out_c][k], row_sums[c] = sum of weights row c as
// TFLite computes it (for the zero point), scales per channel. int32 dot - zp * row_sum
// (wrapping), then float(that) * (weight scale * input scale) + bias, then the clamp.
inline void hybrid_row_sse(const int8_t* q, int32_t k, float in_scale, int32_t zp, const int8_t* w,
                           const int32_t* row_sums, const float* w_scale, const float* bias, int32_t out_c,
                           float lo, float hi, float* y) {
  for (int32_t c = 0; c < out_c; ++c) {
    const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(hybrid_dot_sse(q, w + int64_t{c} * k, k)) -
                                             static_cast<uint32_t>(zp) * static_cast<uint32_t>(row_sums[c]));
    float v = static_cast<float>(acc) * (w_scale[c] * in_scale);
    DLCODER_RT_UNFUSED(v);
    y[c] = std::min(std::max(v + (bias ? bias[c] : 0.0f), lo), hi);
  }
}

// The int32 bias and float scale of the GEMMs' float epilogue (QFloatArgs) for an input
// row quantized with scale s and zero point zp, n channels (whole panels): bias_s[c] =
// -zp * row_sums[c] (wrapping), bias_u[c] = that - 128 * w_sums[c] (the unsigned domain's
// q + 128, simd_qlinear.h), scale[c] = w_scale[c] * s.
inline void hybrid_gemm_fold(float s, int32_t zp, int32_t n, const int32_t* row_sums, const int32_t* w_sums,
                             const float* w_scale, int32_t* bias_u, int32_t* bias_s, float* scale) {
  for (int32_t c = 0; c < n; ++c) {
    const uint32_t b = 0u - static_cast<uint32_t>(zp) * static_cast<uint32_t>(row_sums[c]);
    bias_s[c] = static_cast<int32_t>(b);
    bias_u[c] = static_cast<int32_t>(b - 128u * static_cast<uint32_t>(w_sums[c]));
    scale[c] = w_scale[c] * s;
  }
}

// The head of a GEMM op's scratch: the quantized row (n bytes, rounded up to 64), then
// bias_u, bias_s and scale of ocp channels each; the GEMM's own scratch follows.
struct HybridGemmScratch {
  int8_t* q;
  int32_t* bias_u;
  int32_t* bias_s;
  float* scale;
  int16_t* gemm;
  HybridGemmScratch(void* scratch, int64_t n, int32_t out_c) {
    const int32_t ocp = (out_c + kQPanel - 1) / kQPanel * kQPanel;
    q = static_cast<int8_t*>(scratch);
    bias_u = reinterpret_cast<int32_t*>(q + (n + 63) / 64 * 64);
    bias_s = bias_u + ocp;
    scale = reinterpret_cast<float*>(bias_s + ocp);
    gemm = reinterpret_cast<int16_t*>(scale + ocp);
  }
};

struct HybridFullyConnectedParams {
  int32_t rows, k, out_c, asymmetric;
  float lo, hi;
};

// y[r] = act(bias + dequant(w * quantize(x[r]))) for each of `rows` rows of k inputs: the
// GEMM of qlinear.h on each row (its own scale and zero point) with packed weights
// (ops/qlinear.py pack_panels); row_sums, w_sums (true sums), w_scale and bias padded to
// whole panels. `scratch`: HybridGemmScratch of k.
inline void fully_connected_hybrid(const Parallel& par, const HybridFullyConnectedParams& p, const float* x,
                                   const int8_t* w, const int32_t* row_sums, const int32_t* w_sums,
                                   const float* w_scale, const float* bias, float* y, void* scratch) {
  const HybridGemmScratch t(scratch, p.k, p.out_c);
  const QFullyConnectedParams q{1, p.k, p.out_c, 0, 0, 0};
  const int32_t ocp = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  for (int32_t r = 0; r < p.rows; ++r) {
    float s;
    int32_t zp;
    hybrid_quantize(p.asymmetric != 0, x + int64_t{r} * p.k, p.k, t.q, &s, &zp);
    hybrid_gemm_fold(s, zp, ocp, row_sums, w_sums, w_scale, t.bias_u, t.bias_s, t.scale);
    fully_connected_gemm(par, q, t.q, w, QFloatArgs{t.bias_u, t.bias_s, t.scale, bias, p.lo, p.hi},
                         y + int64_t{r} * p.out_c, t.gemm);
  }
}

// The same, weights [out_c][k] as they are, the products as TFLite's SSE kernel forms them
// (hybrid_dot_sse: weights holding -128 where that differs); `q` holds k int8 (scratch).
inline void fully_connected_hybrid_sse(const HybridFullyConnectedParams& p, const float* x, const int8_t* w,
                                       const int32_t* row_sums, const float* w_scale, const float* bias, float* y,
                                       int8_t* q) {
  for (int32_t r = 0; r < p.rows; ++r) {
    float s;
    int32_t zp;
    hybrid_quantize(p.asymmetric != 0, x + int64_t{r} * p.k, p.k, q, &s, &zp);
    hybrid_row_sse(q, p.k, s, zp, w, row_sums, w_scale, bias, p.out_c, p.lo, p.hi, y + int64_t{r} * p.out_c);
  }
}

struct HybridConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t asymmetric;
  float lo, hi;
};

// NHWC input, packed weights as fully_connected_hybrid's (k = k_h * k_w * in_c). Each image
// is quantized as one row, then goes through qlinear.h's GEMM, padding taps holding the
// zero point. `scratch`: HybridGemmScratch of in_h * in_w * in_c.
inline void conv2d_hybrid(const Parallel& par, const HybridConvParams& p, const float* x, const int8_t* w,
                          const int32_t* row_sums, const int32_t* w_sums, const float* w_scale, const float* bias,
                          float* y, void* scratch) {
  const int64_t image = int64_t{p.in_h} * p.in_w * p.in_c, out_image = int64_t{p.out_h} * p.out_w * p.out_c;
  const HybridGemmScratch t(scratch, image, p.out_c);
  QConvParams q{1, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.k_h, p.k_w, p.stride_h, p.stride_w,
                p.dil_h, p.dil_w, p.pad_top, p.pad_left, 0, 0, 0, 0};
  const int32_t ocp = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  for (int32_t b = 0; b < p.batch; ++b) {
    float s;
    hybrid_quantize(p.asymmetric != 0, x + b * image, image, t.q, &s, &q.in_zp);
    hybrid_gemm_fold(s, q.in_zp, ocp, row_sums, w_sums, w_scale, t.bias_u, t.bias_s, t.scale);
    conv2d_gemm(par, q, t.q, w, QFloatArgs{t.bias_u, t.bias_s, t.scale, bias, p.lo, p.hi}, y + b * out_image,
                t.gemm);
  }
}

// The same, weights [out_c][k_h][k_w][in_c] as they are, the products as TFLite's SSE
// kernel forms them (hybrid_dot_sse; its symmetric per-tensor path with out_c % 4 != 0,
// weights holding -128). `scratch` holds in_h * in_w * in_c + k_h * k_w * in_c int8.
inline void conv2d_hybrid_sse(const HybridConvParams& p, const float* x, const int8_t* w, const int32_t* row_sums,
                              const float* w_scale, const float* bias, float* y, int8_t* scratch) {
  const int64_t image = int64_t{p.in_h} * p.in_w * p.in_c;
  const int32_t k = p.k_h * p.k_w * p.in_c;
  int8_t* qx = scratch;
  int8_t* patch = scratch + image;
  for (int32_t b = 0; b < p.batch; ++b) {
    float s;
    int32_t zp;
    hybrid_quantize(p.asymmetric != 0, x + b * image, image, qx, &s, &zp);
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        int8_t* dst = patch;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          for (int32_t kx = 0; kx < p.k_w; ++kx, dst += p.in_c) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
              std::memset(dst, static_cast<int8_t>(zp), static_cast<size_t>(p.in_c));
            } else {
              std::memcpy(dst, qx + (int64_t{iy} * p.in_w + ix) * p.in_c, static_cast<size_t>(p.in_c));
            }
          }
        }
        float* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        hybrid_row_sse(patch, k, s, zp, w, row_sums, w_scale, bias, p.out_c, p.lo, p.hi, yp);
      }
  }
}

struct HybridDepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier;
  int32_t vec_channels;  // TFLite's vector loop's channels (whole groups of 4): see below
  float lo, hi;
};

// Output rows [r0, r1) of one image, any depth multiplier, portable: the loop of
// depthwise_conv2d_q_any (qdepthwise.h) with the float epilogue of QDwHybrid.
inline void depthwise_hybrid_any(const QDepthwiseParams& p, const int8_t* x, const QDwHybrid& k, float* y, int64_t r0,
                                 int64_t r1) {
  const int32_t m = p.depth_multiplier;
  const int32_t blocks = (p.out_c + kDwLanes - 1) / kDwLanes;
  for (int64_t oy = r0; oy < r1; ++oy) {
    for (int32_t ox = 0; ox < p.out_w; ++ox) {
      float* yp = y + (oy * p.out_w + ox) * p.out_c;
      for (int32_t c = 0; c < p.out_c; ++c) {
        // c's lane in its block (simd_qdepthwise.h)
        const int32_t blk = c / kDwLanes, j = c % kDwLanes, half = j % 8 / 4, lane = j / 8 * 4 + j % 4;
        uint32_t acc = static_cast<uint32_t>(k.packed.bias[blk * 32 + half * 16 + lane]);
        for (int32_t t = 0; t < p.k_h * p.k_w; ++t) {
          const int64_t iy = oy * p.stride_h - p.pad_top + t / p.k_w * p.dil_h;
          const int32_t ix = ox * p.stride_w - p.pad_left + t % p.k_w * p.dil_w;
          const int32_t v = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w
                                ? int32_t{x[(iy * p.in_w + ix) * p.in_c + c / m]}
                                : p.in_zp;
          const int16_t wt = k.packed.w[((int64_t{t / 2} * blocks + blk) * 2 + half) * 32 + 2 * lane + t % 2];
          acc += static_cast<uint32_t>(v * wt);
        }
        float v = static_cast<float>(static_cast<int32_t>(acc)) * k.scale1[c] * k.scale2[c];
        DLCODER_RT_UNFUSED(v);
        yp[c] = std::min(std::max(v + k.fbias[c], k.lo), k.hi);
      }
    }
  }
}

// NHWC input, each image quantized asymmetrically as one row; the packed weights of
// qdepthwise.h (ops/qdepthwise.py), lane_sums their sums over the taps in the packed bias's
// lane order (the fold of the zero point: bias = -zp * lane_sums, padding taps reading zp),
// w_scale and bias per channel padded (or repeated) to whole blocks as the lanes are.
// TFLite scales float(acc) by the weight's scale, then the input's, on the channels below
// vec_channels, and the other way round on the rest (measured: tests/test_quantized_hybrid.py).
// `scratch`: the quantized image (rounded up to 64 bytes), the bias (int32), scale1 and
// scale2 (float), each of the packed layout's channel count, then the scratch of
// qdepthwise.h's kernels.
inline void depthwise_conv2d_hybrid(const Parallel& par, const HybridDepthwiseParams& p, const float* x,
                                    const int16_t* w, const int32_t* lane_sums, const float* w_scale,
                                    const float* bias, float* y, void* scratch) {
  const int64_t image = int64_t{p.in_h} * p.in_w * p.in_c, out_image = int64_t{p.out_h} * p.out_w * p.out_c;
  const int32_t lanes = (p.out_c + kDwLanes - 1) / kDwLanes * kDwLanes;
  int8_t* qx = static_cast<int8_t*>(scratch);
  int32_t* folded = reinterpret_cast<int32_t*>(qx + (image + 63) / 64 * 64);
  float* scale1 = reinterpret_cast<float*>(folded + lanes);
  float* scale2 = scale1 + lanes;
  void* rest = scale2 + lanes;
  const bool repeated = kDwLanes % p.out_c == 0;  // the lanes repeat the channels (qdepthwise.py)
  QDepthwiseParams q{1, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.k_h, p.k_w, p.stride_h, p.stride_w,
                     p.dil_h, p.dil_w, p.pad_top, p.pad_left, p.depth_multiplier, p.out_c, 0, 0, 0, 0};
  const QDwPath path = p.depth_multiplier == 1 ? qdepthwise_path() : QDwPath::kScalar;
  for (int32_t b = 0; b < p.batch; ++b) {
    float s;
    hybrid_quantize_asymmetric(x + b * image, image, qx, &s, &q.in_zp);
    for (int32_t i = 0; i < lanes; ++i) {
      folded[i] = static_cast<int32_t>(0u - static_cast<uint32_t>(q.in_zp) * static_cast<uint32_t>(lane_sums[i]));
      const bool vec = (repeated ? i % p.out_c : i) < p.vec_channels;
      scale1[i] = vec ? w_scale[i] : s;
      scale2[i] = vec ? s : w_scale[i];
    }
    const QDwHybrid k{{w, folded, nullptr, nullptr, nullptr, nullptr}, scale1, scale2, bias, p.lo, p.hi};
    float* yb = y + b * out_image;
#if defined(DLCODER_RT_X86)
    switch (path) {
      case QDwPath::kAvx512: qdw::depthwise<qdw::avx512>(par, q, qx, k, yb, rest); continue;
      case QDwPath::kAvx2: qdw::depthwise<qdw::avx2>(par, q, qx, k, yb, rest); continue;
      case QDwPath::kSse2: qdw::depthwise<qdw::sse2>(par, q, qx, k, yb, rest); continue;
      default: break;
    }
#endif
    (void)path;
    parallel_ranges(par, p.out_h, int64_t{p.out_h} * p.out_w * p.out_c * p.k_h * p.k_w,
                    [&](int32_t, int64_t r0, int64_t r1) { depthwise_hybrid_any(q, qx, k, yb, r0, r1); });
  }
}

}  // namespace dlcoder_rt
