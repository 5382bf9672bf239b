// AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D (NHWC). Windows are clipped to the input:
// padded positions are neither counted nor compared, as in TFLite.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

struct PoolParams {
  int32_t batch, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  Clamp<float> act;
};

enum class PoolKind { kAverage, kMax, kL2 };

template <PoolKind kKind>
inline void pool_f32(const PoolParams& p, const float* in, float* out) {
  const int32_t c = p.channels;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const int32_t ky0 = std::max(0, -y0), ky1 = std::min(p.k_h, p.in_h - y0);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const int32_t kx0 = std::max(0, -x0), kx1 = std::min(p.k_w, p.in_w - x0);
        float* o = out + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * c;
        const float init = kKind == PoolKind::kMax ? std::numeric_limits<float>::lowest() : 0.0f;
        std::fill(o, o + c, init);
        for (int32_t ky = ky0; ky < ky1; ++ky) {
          for (int32_t kx = kx0; kx < kx1; ++kx) {
            const float* x = in + ((int64_t{b} * p.in_h + y0 + ky) * p.in_w + x0 + kx) * c;
            for (int32_t i = 0; i < c; ++i) {
              if (kKind == PoolKind::kMax) {
                o[i] = std::max(o[i], x[i]);
              } else if (kKind == PoolKind::kAverage) {
                o[i] += x[i];
              } else {
                o[i] += x[i] * x[i];
              }
            }
          }
        }
        const float count = static_cast<float>((ky1 - ky0) * (kx1 - kx0));
        for (int32_t i = 0; i < c; ++i) {
          float v = o[i];
          if (kKind == PoolKind::kAverage) v = v / count;
          if (kKind == PoolKind::kL2) v = std::sqrt(v / count);
          o[i] = clamp(v, p.act);
        }
      }
    }
  }
}

}  // namespace dlcoder_rt
