// Quantized pools and reductions (int8, uint8, int16), as the builtin kernels of
// the pip build of TFLite compute them (found by experiment; dlcoder/ops/qreduce.py says
// which kernel runs for which node, dlcoder/quant.py computes the constants).
// The int32 sums of dense runs are in qreduce_sums.h, the pools in qreduce_pool.h.
#pragma once

#include <cmath>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/qreduce_pool.h"
#include "dlcoder_rt/qreduce_sums.h"
#include "dlcoder_rt/reduce.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// ---- sums of the reduced elements -------------------------------------------------------
// acc[o] = the int32 sum of the input elements of output o (the ReduceParams loop of
// reduce.h: b_strides map input elements to outputs).
template <typename T>
inline void reduce_sum_q(const ReduceParams& p, const T* in, int32_t* acc) {
  for (int64_t i = 0; i < p.out_size; ++i) acc[i] = 0;
  const int32_t n = p.loop.dims[5];
  const int32_t sa = p.loop.a_strides[5], sb = p.loop.b_strides[5];
  if (sa == 1 && sb == 0) {  // dense runs, each summed into one output: the runs of dim 4 together
    Loop6 outer = p.loop;
    const int32_t rows = outer.dims[4];
    const int64_t row_a = outer.a_strides[4], row_b = outer.b_strides[4];
    outer.dims[4] = 1;
    const qsum::SumRows<T> sum_rows = qsum::sum_rows<T>();
    for_each_run(outer, [&](int64_t ia, int64_t ib, int64_t) { sum_rows(rows, n, row_a, in + ia, row_b, acc + ib); });
    return;
  }
  const qsum::AddRow<T> add_row = qsum::add_row<T>();
  for_each_run(p.loop, [&](int64_t ia, int64_t ib, int64_t) {
    const T* x = in + ia;
    int32_t* o = acc + ib;
    if (sb == 0) {
      int32_t s = *o;
      for (int32_t i = 0; i < n; ++i) s += x[i * sa];
      *o = s;
    } else if (sa == 1 && sb == 1) {
      add_row(n, x, o);
    } else {
      for (int32_t i = 0; i < n; ++i) o[i * sb] += x[i * sa];
    }
  });
}

// ---- int32 sums to the output type -----------------------------------------------------
// out[i] = clamp(multiply_by_quantized_multiplier<R>(acc[i] - offset) + add, lo, hi), i < n:
// both MEANs' last step, per ISA.
struct QMeanRescale {
  int32_t offset, multiplier, shift, add, lo, hi;
};

namespace qmean {
template <typename T>
using Rescale = void (*)(int64_t n, const int32_t* acc, const QMeanRescale& r, T* out);

template <typename T, Rounding R>
inline void rescale_scalar(int64_t n, const int32_t* acc, const QMeanRescale& r, T* out) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = multiply_by_quantized_multiplier<R>(acc[i] - r.offset, r.multiplier, r.shift) + r.add;
    out[i] = static_cast<T>(std::min(std::max(v, r.lo), r.hi));
  }
}

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f")
// multiply_by_quantized_multiplier<R> (requantize.h) on 16 lanes, bit for bit: the wrapping
// left shift in int32; the doubling high product, which rounds half up, as
// (x * multiplier + 2^30) >> 31 in int64 (the even and the odd lanes apart); the right shift
// adding half, less one for a negative value where R rounds half away from zero.
template <Rounding R>
inline __m512i multiply_by_quantized_multiplier16(__m512i x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  x = _mm512_sll_epi32(x, _mm_cvtsi32_si128(left));
  const __m512i m = _mm512_set1_epi64(multiplier), half = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i round = _mm512_set1_epi64(right > 0 ? int64_t{1} << (right - 1) : 0);
  const __m128i n = _mm_cvtsi32_si128(right);
  auto lanes = [&](__m512i v) {  // the low int32 of each int64 lane
    const __m512i high = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, m), half), 31);
    __m512i t = _mm512_add_epi64(high, round);
    if (R == Rounding::kAway && right > 0) t = _mm512_add_epi64(t, _mm512_srai_epi64(high, 63));
    return _mm512_sra_epi64(t, n);
  };
  const __m512i even = lanes(x), odd = lanes(_mm512_srli_epi64(x, 32));
  return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

template <typename T, Rounding R>
inline void rescale_avx512(int64_t n, const int32_t* acc, const QMeanRescale& r, T* out) {
  const __m512i offset = _mm512_set1_epi32(r.offset), add = _mm512_set1_epi32(r.add);
  const __m512i lo = _mm512_set1_epi32(r.lo), hi = _mm512_set1_epi32(r.hi);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(0xFFFFu >> (16 - std::min<int64_t>(16, n - i)));
    const __m512i x = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, acc + i), offset);
    const __m512i v = _mm512_add_epi32(multiply_by_quantized_multiplier16<R>(x, r.multiplier, r.shift), add);
    _mm512_mask_cvtepi32_storeu_epi8(out + i, m, _mm512_min_epi32(_mm512_max_epi32(v, lo), hi));
  }
}
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_X86

template <typename T, Rounding R>
inline Rescale<T> rescale() {
#if defined(DLCODER_RT_X86)
  if constexpr (sizeof(T) == 1) {
    if (runtime_isa() == Isa::kAvx512) return rescale_avx512<T, R>;
  }
#endif
  return rescale_scalar<T, R>;
}
}  // namespace qmean

// MEAN of TFLite's QuantizedMeanOrSum: (sum - count * in_zp) scaled by a multiplier that
// holds in_scale / out_scale / count, plus the output zero point, clamped.
struct QMeanParams {
  int32_t offset;       // count * input zero point
  int32_t multiplier, shift, out_zp, lo, hi;
};

template <typename T>
inline void mean_q(const ReduceParams& p, const QMeanParams& q, const T* in, T* out, int32_t* acc) {
  const QMeanRescale r{q.offset, q.multiplier, q.shift, q.out_zp, q.lo, q.hi};  // before out is written
  reduce_sum_q(p, in, acc);
  qmean::rescale<T, Rounding::kAway>()(p.out_size, acc, r, out);
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
  constexpr int32_t kBlock = 256;   // channels summed at once
  const QMean4DParams q = p;  // a local copy: the stores below may alias p
  const qsum::Columns<T> columns = qsum::columns<T>();
  const qmean::Rescale<T> up = qmean::rescale<T, Rounding::kUp>(), away = qmean::rescale<T, Rounding::kAway>();
  const QMeanRescale r{0, q.multiplier, q.shift, q.bias, q.lo, q.hi};
  int32_t acc[kBlock];
  for (int32_t b = 0; b < q.batch; ++b) {
    const T* x = in + int64_t{b} * q.count * q.channels;
    for (int32_t c0 = 0; c0 < q.channels; c0 += kBlock) {
      const int32_t len = std::min(kBlock, q.channels - c0);
      const int32_t vec = std::min(std::max(q.vec_channels - c0, 0), len);  // the channels of TFLite's vector loop
      columns(q.count, q.channels, len, x + c0, acc);
      T* o = out + int64_t{b} * q.channels + c0;
      up(vec, acc, r, o);
      away(len - vec, acc + vec, r, o + vec);
    }
  }
}

}  // namespace dlcoder_rt
