// L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION (float32), both along the last dim
// of a [rows][depth] view of the tensor.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

struct NormRows {
  int64_t rows;
  int32_t depth;
};

// x / max(||x||_2, 1e-6). TFLite floors the norm itself (not the sum of squares), with a
// fixed epsilon; TF's l2_normalize(epsilon=1e-12) floors the sum, the same threshold.
inline void l2_normalization_f32(const NormRows& p, const float* in, float* out) {
  constexpr float kEpsilon = 1e-6f;
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* x = in + r * p.depth;
    float* o = out + r * p.depth;
    float sum = 0.0f;
    for (int32_t c = 0; c < p.depth; ++c) sum += x[c] * x[c];
    const float norm = std::max(std::sqrt(sum), kEpsilon);
    for (int32_t c = 0; c < p.depth; ++c) o[c] = x[c] / norm;
  }
}

struct LrnParams {
  NormRows shape;
  int32_t radius;
  float bias, alpha, beta;
};

// x[c] * (bias + sum(alpha x[k]^2 for k in [c - radius, c + radius]))^-beta, the window
// clipped to the row, computed as TFLite's builtin (optimized) kernel does, which results
// must match at the edges too: the window sum slides, one term added ahead and one
// subtracted behind per channel, so that an inf (or NaN) square makes every later
// channel of the row NaN (inf - inf) and a large square leaves its rounding in the sum
// after it has left the window. beta 1 is x * (1 / d), beta 1/2 x * (1 / sqrt(d)).
inline void local_response_norm_f32(const LrnParams& p, const float* in, float* out) {
  const int32_t depth = p.shape.depth, r = p.radius;
  for (int64_t row = 0; row < p.shape.rows; ++row) {
    const float* x = in + row * depth;
    float* o = out + row * depth;
    auto term = [&](int32_t k) { return k >= 0 && k < depth ? x[k] * x[k] * p.alpha : 0.0f; };
    float sum = 0.0f;
    for (int32_t k = -r; k < r; ++k) sum += term(k);
    for (int32_t c = 0; c < depth; ++c) {
      sum += term(c + r);
      const float d = p.bias + sum;
      o[c] = p.beta == 1.0f   ? x[c] * (1.0f / d)
             : p.beta == 0.5f ? x[c] * (1.0f / std::sqrt(d))
                              : x[c] * std::pow(d, -p.beta);
      sum -= term(c - r);
    }
  }
}

}  // namespace dlcoder_rt
