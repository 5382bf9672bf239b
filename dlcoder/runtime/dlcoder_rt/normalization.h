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

// x[c] * (bias + alpha * sum(x[k]^2 for k in [c - radius, c + radius]))^-beta, the window
// clipped to the row, as TF's LRN and TFLite's builtin (optimized) kernel compute it.
inline void local_response_norm_f32(const LrnParams& p, const float* in, float* out) {
  const int32_t depth = p.shape.depth;
  for (int64_t r = 0; r < p.shape.rows; ++r) {
    const float* x = in + r * depth;
    float* o = out + r * depth;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t lo = std::max(0, c - p.radius);
      const int32_t hi = std::min(depth - 1, c + p.radius);
      float sum = 0.0f;
      for (int32_t k = lo; k <= hi; ++k) sum += x[k] * x[k];
      o[c] = x[c] * std::pow(p.bias + p.alpha * sum, -p.beta);
    }
  }
}

}  // namespace dlcoder_rt
