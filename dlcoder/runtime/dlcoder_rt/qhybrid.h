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
// is rounded before its zero point is added.
// The row sums are TFLite's x86 ReductionSumVector's (generation time, int16 lanes that
// wrap), and FULLY_CONNECTED / CONV_2D's per-tensor SSE path form the products as SSSE3
// does (hybrid_dot_sse) when the weights hold -128.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

// Symmetric: scale = max|x| / 127, q = round(x * 127 / max|x|) in [-127, 127]; an all-zero
// row gets scale 1.
inline void hybrid_quantize_symmetric(const float* x, int64_t n, int8_t* q, float* scale) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(n));
    *scale = 1.0f;
    return;
  }
  *scale = range / 127.0f;
  const float inv = 127.0f / range;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = static_cast<int32_t>(std::round(x[i] * inv));
    q[i] = static_cast<int8_t>(std::min(127, std::max(-127, v)));
  }
}

// Asymmetric over [min(0, min x), max(0, max x)] onto [-128, 127]: float32 scale, the zero
// point nudged from whichever end has the smaller error; q = round(x / scale) + zp.
inline void hybrid_quantize_asymmetric(const float* x, int64_t n, int8_t* q, float* scale,
                                       int32_t* zero_point) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
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
  const float inv = 1.0f / s;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = static_cast<int32_t>(std::round(x[i] * inv)) + zp;
    q[i] = static_cast<int8_t>(std::min(127, std::max(-128, v)));
  }
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

// One row's outputs from its quantized input row (k values): weights [out_c][k],
// row_sums[c] = sum of weights row c as TFLite computes it (for the zero point), scales
// per channel. As TFLite's kernels: int32 dot - zp * row_sum (in int32, wrapping), then
// float(that) * (weight scale * input scale) + bias, then the clamp. `sse_dot` takes the
// products as TFLite's x86 SSE kernel does (hybrid_dot_sse).
inline void hybrid_row(const int8_t* q, int32_t k, float in_scale, int32_t zp, const int8_t* w,
                       const int32_t* row_sums, const float* w_scale, const float* bias,
                       int32_t out_c, float lo, float hi, float* y, bool sse_dot = false) {
  for (int32_t c = 0; c < out_c; ++c) {
    const int8_t* wc = w + int64_t{c} * k;
    const int32_t dot = sse_dot ? hybrid_dot_sse(q, wc, k) : hybrid_dot(q, wc, k);
    const int32_t acc = static_cast<int32_t>(
        static_cast<uint32_t>(dot) - static_cast<uint32_t>(zp) * static_cast<uint32_t>(row_sums[c]));
    const float v = static_cast<float>(acc) * (w_scale[c] * in_scale) + (bias ? bias[c] : 0.0f);
    y[c] = std::min(std::max(v, lo), hi);
  }
}

struct HybridFullyConnectedParams {
  int32_t rows, k, out_c, asymmetric;
  int32_t sse_dot;   // the weights hold -128 where TFLite's SSE dot takes it as +128 (hybrid_dot_sse)
  float lo, hi;
};

// y[r] = act(bias + dequant(w * quantize(x[r]))) for each of `rows` rows of k inputs;
// `q` holds k int8 (scratch).
inline void fully_connected_hybrid(const HybridFullyConnectedParams& p, const float* x,
                                   const int8_t* w, const int32_t* row_sums, const float* w_scale,
                                   const float* bias, float* y, int8_t* q) {
  for (int32_t r = 0; r < p.rows; ++r) {
    float s;
    int32_t zp;
    hybrid_quantize(p.asymmetric != 0, x + int64_t{r} * p.k, p.k, q, &s, &zp);
    hybrid_row(q, p.k, s, zp, w, row_sums, w_scale, bias, p.out_c, p.lo, p.hi,
               y + int64_t{r} * p.out_c, p.sse_dot != 0);
  }
}

struct HybridConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t asymmetric;
  int32_t sse_dot;   // TFLite's SSE dot (hybrid_dot_sse) on weights holding -128: its
                     // symmetric path with out_c % 4 != 0 (else ruy's exact int8 GEMM)
  float lo, hi;
};

// NHWC input, weights [out_c][k_h][k_w][in_c]. Each image is quantized as one row; a tap
// in the padding holds the zero point (it adds nothing once zp * row_sums is taken off).
// `scratch` holds in_h * in_w * in_c + k_h * k_w * in_c int8.
inline void conv2d_hybrid(const HybridConvParams& p, const float* x, const int8_t* w,
                          const int32_t* row_sums, const float* w_scale, const float* bias,
                          float* y, int8_t* scratch) {
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
        hybrid_row(patch, k, s, zp, w, row_sums, w_scale, bias, p.out_c, p.lo, p.hi, yp, p.sse_dot != 0);
      }
  }
}

struct HybridDepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier;
  float lo, hi;
};

// NHWC input, weights [k_h][k_w][out_c]; each image quantized asymmetrically as one row,
// taps in the padding skipped. `scratch` holds in_h * in_w * in_c int8, then out_c int32
// (at a 4-byte aligned offset).
inline void depthwise_conv2d_hybrid(const HybridDepthwiseParams& p, const float* x, const int8_t* w,
                                    const float* w_scale, const float* bias, float* y,
                                    int8_t* scratch) {
  const int64_t image = int64_t{p.in_h} * p.in_w * p.in_c;
  int8_t* qx = scratch;
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + ((image + 3) / 4) * 4);
  const int32_t m = p.depth_multiplier;
  for (int32_t b = 0; b < p.batch; ++b) {
    float s;
    int32_t zp;
    hybrid_quantize_asymmetric(x + b * image, image, qx, &s, &zp);
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        std::fill(acc, acc + p.out_c, 0);
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          if (iy < 0 || iy >= p.in_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (ix < 0 || ix >= p.in_w) continue;
            const int8_t* xp = qx + (int64_t{iy} * p.in_w + ix) * p.in_c;
            const int8_t* wp = w + (int64_t{ky} * p.k_w + kx) * p.out_c;
            for (int32_t ic = 0; ic < p.in_c; ++ic) {
              const int32_t v = int32_t{xp[ic]} - zp;
              for (int32_t j = 0; j < m; ++j) acc[ic * m + j] += v * int32_t{wp[ic * m + j]};
            }
          }
        }
        float* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        for (int32_t c = 0; c < p.out_c; ++c) {
          // TFLite's depthwise kernel scales by the channel's scale, then the input's
          const float v = static_cast<float>(acc[c]) * w_scale[c] * s + (bias ? bias[c] : 0.0f);
          yp[c] = std::min(std::max(v, p.lo), p.hi);
        }
      }
  }
}

}  // namespace dlcoder_rt
