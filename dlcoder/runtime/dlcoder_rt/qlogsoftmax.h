// Quantized LOG_SOFTMAX (int8, uint8) over the last axis, as the pip build of TFLite runs it:
// the optimized kernel's float-table path (activations.cc LogSoftmaxEval, kGenericOptimized,
// optimized_ops::LogSoftmax with PopulateSoftmaxLookupTable), not the fixed-point reference.
//
// Per row, in float32: mx = max(x); sum = sum_j table[255 - (mx - x_j)] left to right, the
// table holding expf(-in_scale * d) for a distance d (dlcoder/quant.py softmax_table, beta 1);
// lse = logf(sum); scale = in_scale / out_scale; pre = (in_scale * mx + lse) / out_scale;
// y_j = clamp(rint(scale * x_j - pre) + out_zp) with rint rounding half to even. The raw
// values enter (the zero point cancels), and TFLite's Prepare fixes the output at scale
// 16/256, zero point 127 (int8) or 255 (uint8).
#pragma once

#include <cmath>
#include <limits>

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

struct QLogSoftmaxParams {
  int64_t rows, depth;
  float in_scale, out_scale;
  int32_t out_zp;
};

template <typename T>
inline void log_softmax_q(const QLogSoftmaxParams& p, const T* in, T* out, const float* table) {
  constexpr int32_t kLo = std::numeric_limits<T>::lowest(), kHi = std::numeric_limits<T>::max();
  const float scale = p.in_scale / p.out_scale;
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* x = in + r * p.depth;
    T* o = out + r * p.depth;
    int32_t mx = kLo;
    for (int64_t i = 0; i < p.depth; ++i) mx = std::max<int32_t>(mx, x[i]);
    const float* t = table + (255 - mx);  // t[x] = table[255 - (mx - x)]
    float sum = 0.f;
    for (int64_t i = 0; i < p.depth; ++i) sum += t[x[i]];
    const float lse = std::log(sum);
    const float pre = (p.in_scale * static_cast<float>(mx) + lse) / p.out_scale;
    for (int64_t i = 0; i < p.depth; ++i) {
      const float v = scale * static_cast<float>(x[i]) - pre;
      const int32_t q = static_cast<int32_t>(std::rint(v) + static_cast<float>(p.out_zp));
      o[i] = static_cast<T>(std::min(std::max(q, kLo), kHi));
    }
  }
}

}  // namespace dlcoder_rt
