// Quantized pools, reductions and softmax (int8, uint8, int16), as the builtin kernels of
// the pip build of TFLite compute them (found by experiment; dlcoder/ops/qreduce.py says
// which kernel runs for which node, dlcoder/quant.py computes the constants).
#pragma once

#include <cmath>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/reduce.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// ---- AVERAGE_POOL_2D / MAX_POOL_2D ----------------------------------------------------
// The raw values are pooled (TFLite ignores the tensors' scales and zero points), the
// average over the window's cells inside the input, rounded half away from zero; then
// clamped to the fused activation's range [lo, hi].
struct QPoolParams {
  int32_t batch, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t lo, hi;
};

template <typename T, bool kMax>
inline void pool_q(const QPoolParams& p, const T* in, T* out) {
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
        const int32_t ys = std::max(y0, 0), ye = std::min(y0 + p.k_h, p.in_h);
        const int32_t xs = std::max(x0, 0), xe = std::min(x0 + p.k_w, p.in_w);
        const int32_t count = (ye - ys) * (xe - xs);
        T* o = out + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.channels;
        for (int32_t c = 0; c < p.channels; ++c) {
          int32_t acc = kMax ? std::numeric_limits<T>::lowest() : 0;
          for (int32_t y = ys; y < ye; ++y)
            for (int32_t x = xs; x < xe; ++x) {
              const int32_t v = in[((int64_t{b} * p.in_h + y) * p.in_w + x) * p.channels + c];
              acc = kMax ? std::max(acc, v) : acc + v;
            }
          if (!kMax) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          o[c] = static_cast<T>(std::min(std::max(acc, p.lo), p.hi));
        }
      }
}

// ---- sums of the reduced elements -------------------------------------------------------
// acc[o] = the int32 sum of the input elements of output o (the ReduceParams loop of
// reduce.h: b_strides map input elements to outputs).
template <typename T>
inline void reduce_sum_q(const ReduceParams& p, const T* in, int32_t* acc) {
  for (int64_t i = 0; i < p.out_size; ++i) acc[i] = 0;
  const int32_t n = p.loop.dims[5];
  const int32_t sa = p.loop.a_strides[5], sb = p.loop.b_strides[5];
  for_each_run(p.loop, [&](int64_t ia, int64_t ib, int64_t) {
    const T* x = in + ia;
    int32_t* o = acc + ib;
    if (sb == 0) {
      int32_t s = *o;
      for (int32_t i = 0; i < n; ++i) s += x[i * sa];
      *o = s;
    } else {
      for (int32_t i = 0; i < n; ++i) o[i * sb] += x[i * sa];
    }
  });
}

// MEAN of TFLite's QuantizedMeanOrSum: (sum - count * in_zp) scaled by a multiplier that
// holds in_scale / out_scale / count, plus the output zero point, clamped.
struct QMeanParams {
  int32_t offset;       // count * input zero point
  int32_t multiplier, shift, out_zp, lo, hi;
};

template <typename T>
inline void mean_q(const ReduceParams& p, const QMeanParams& q, const T* in, T* out, int32_t* acc) {
  reduce_sum_q(p, in, acc);
  for (int64_t i = 0; i < p.out_size; ++i) {
    const int32_t v = multiply_by_quantized_multiplier(acc[i] - q.offset, q.multiplier, q.shift) + q.out_zp;
    out[i] = static_cast<T>(std::min(std::max(v, q.lo), q.hi));
  }
}

// SUM of 8-bit and 16-bit data: in float, round(sum * scale + bias) + out_zp, clamped.
struct QSumParams {
  float scale, bias;
  int32_t out_zp, lo, hi;
};

template <typename T>
inline void sum_q(const ReduceParams& p, const QSumParams& q, const T* in, T* out, int32_t* acc) {
  reduce_sum_q(p, in, acc);
  for (int64_t i = 0; i < p.out_size; ++i) {
    // the product is rounded to float before the add (no fused multiply-add)
    volatile float product = static_cast<float>(acc[i]) * q.scale;
    const int32_t v = static_cast<int32_t>(std::round(product + q.bias)) + q.out_zp;
    out[i] = static_cast<T>(std::min(std::max(v, q.lo), q.hi));
  }
}

// MEAN over H and W of NHWC with keep_dims (TFLite's optimized 8-bit kernel): the sum
// times multiplier * 2^(shift-31) plus a bias. Its vector loop covers the channels in
// blocks of 16 ([0, vec_channels)) and rounds the final right shift half up; the scalar
// loop for the rest rounds it half away from zero.
struct QMean4DParams {
  int32_t batch, count, channels, vec_channels;
  int32_t multiplier, shift, bias, lo, hi;
};

template <typename T>
inline void mean_hw_q(const QMean4DParams& p, const T* in, T* out) {
  for (int32_t b = 0; b < p.batch; ++b) {
    const T* x = in + int64_t{b} * p.count * p.channels;
    for (int32_t c = 0; c < p.channels; ++c) {
      int32_t s = 0;
      for (int32_t i = 0; i < p.count; ++i) s += x[int64_t{i} * p.channels + c];
      const int32_t v = (c < p.vec_channels ? multiply_by_quantized_multiplier<Rounding::kUp>(s, p.multiplier, p.shift)
                                            : multiply_by_quantized_multiplier(s, p.multiplier, p.shift)) + p.bias;
      out[int64_t{b} * p.channels + c] = static_cast<T>(std::min(std::max(v, p.lo), p.hi));
    }
  }
}

// ---- SOFTMAX (8-bit in, 8-bit out) ----------------------------------------------------
// TFLite's optimized table kernel: e = table[255 - (max - x)] (expf of the distance from the
// row's maximum, a float32 table computed at generation time), the row's sum in float32
// in order, then round(e * (1 / (sum * out_scale))) + out_zp, clamped.
struct QSoftmaxParams {
  int64_t rows, depth;
  float out_scale;
  int32_t out_zp, lo, hi;
};

template <typename T>
inline void softmax_q(const QSoftmaxParams& p, const T* in, T* out, const float* table) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* x = in + r * p.depth;
    T* o = out + r * p.depth;
    int32_t mx = std::numeric_limits<T>::lowest();
    for (int64_t i = 0; i < p.depth; ++i) mx = std::max<int32_t>(mx, x[i]);
    const float* t = table + (255 - mx + std::numeric_limits<T>::lowest());  // t[x - lowest]
    float sum = 0.f;
    for (int64_t i = 0; i < p.depth; ++i) sum += t[x[i] - std::numeric_limits<T>::lowest()];
    const float inv = 1.0f / (sum * p.out_scale);
    for (int64_t i = 0; i < p.depth; ++i) {
      const float e = t[x[i] - std::numeric_limits<T>::lowest()];
      const int32_t v = static_cast<int32_t>(std::round(e * inv)) + p.out_zp;
      o[i] = static_cast<T>(std::min(std::max(v, p.lo), p.hi));
    }
  }
}

}  // namespace dlcoder_rt
