// Quantized SOFTMAX, 8-bit in and out (int8, uint8): TFLite's optimized table kernel, as the
// pip build computes it (dlcoder/ops/qreduce.py says when it runs; dlcoder/quant.py
// softmax_table computes the table).
//
// e = table[255 - (max - x)] (expf of the distance from the row's maximum, a float32 table
// computed at generation time), the row's sum in float32 in order, then
// round(e * (1 / (sum * out_scale))) + out_zp, clamped.
//
// Vector paths: blocks of 16 (AVX-512) or 8 (AVX2) rows, one row per lane while summing, so
// that each lane adds its row's values in the scalar loop's order; then row by row, 16 or
// 8 elements at a time; the rows past the last block one by one, the maximum and the output
// by vectors. The table index of x is 255 + x - max.
// The targets have no FMA: every product and sum is rounded on its own, as in the scalar
// code.
#pragma once

#include <cmath>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

namespace dlcoder_rt {

struct QSoftmaxParams {
  int64_t rows, depth;
  float out_scale;
  int32_t out_zp, lo, hi;
};

template <typename T>
inline int32_t softmax_row_max(const T* x, int64_t depth) {
  int32_t mx = std::numeric_limits<T>::lowest();
  for (int64_t i = 0; i < depth; ++i) mx = std::max<int32_t>(mx, x[i]);
  return mx;
}

// Row x's sum of exponentials in float, in order (TFLite's; each lane of the vector paths
// sums one row the same way); base: 255 - the row's maximum.
template <typename T>
inline float row_sum(const QSoftmaxParams& p, const T* x, const float* table, int32_t base) {
  float sum = 0.f;
  for (int64_t i = 0; i < p.depth; ++i) sum += table[x[i] + base];
  return sum;
}

// The scalar kernel on rows [r0, r1).
template <typename T>
inline void softmax_q_rows(const QSoftmaxParams& p, const T* in, T* out, const float* table, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* x = in + r * p.depth;
    T* o = out + r * p.depth;
    const int32_t base = 255 - softmax_row_max(x, p.depth);
    const float inv = 1.0f / (row_sum(p, x, table, base) * p.out_scale);
    for (int64_t i = 0; i < p.depth; ++i) {
      const float e = table[x[i] + base];
      const int32_t v = static_cast<int32_t>(std::round(e * inv)) + p.out_zp;
      o[i] = static_cast<T>(std::min(std::max(v, p.lo), p.hi));
    }
  }
}

#if defined(DLCODER_RT_X86)
namespace qsoftmax {
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq")
namespace k_avx512 {
template <typename T>
inline __m512i widen16(__m128i v) {
  return std::is_signed<T>::value ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

template <typename T>
inline int32_t row_max(const T* x, int64_t depth) {
  __m512i m = _mm512_set1_epi32(std::numeric_limits<T>::lowest());
  for (int64_t i = 0; i < depth; i += 16) {
    const __mmask16 k = static_cast<__mmask16>(0xFFFFu >> (16 - std::min<int64_t>(16, depth - i)));
    m = _mm512_mask_max_epi32(m, k, m, widen16<T>(_mm_maskz_loadu_epi8(k, x + i)));
  }
  return _mm512_reduce_max_epi32(m);
}

// round(v) half away from zero for v >= 0, as int32: trunc(v) plus one where the
// fraction (exact in float) is at least one half.
inline __m512i round_positive(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(_mm512_sub_ps(v, t), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm512_mask_add_epi32(_mm512_cvttps_epi32(t), up, _mm512_cvttps_epi32(t), _mm512_set1_epi32(1));
}

// Row x's output from its table index offset `base` (255 - its maximum) and inv, 1 / (its
// sum * the output scale).
template <typename T>
inline void write_row(const QSoftmaxParams& p, const T* x, T* o, const float* table, int32_t base, float inv) {
  const __m512i zp = _mm512_set1_epi32(p.out_zp), lo = _mm512_set1_epi32(p.lo), hi = _mm512_set1_epi32(p.hi);
  const __m512 vinv = _mm512_set1_ps(inv);
  const __m512i rb = _mm512_set1_epi32(base);
  for (int64_t j = 0; j < p.depth; j += 16) {
    const __mmask16 k = static_cast<__mmask16>(0xFFFFu >> (16 - std::min<int64_t>(16, p.depth - j)));
    const __m512i idx = _mm512_add_epi32(widen16<T>(_mm_maskz_loadu_epi8(k, x + j)), rb);
    const __m512 e = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, idx, table, 4);
    const __m512i v = _mm512_add_epi32(round_positive(_mm512_mul_ps(e, vinv)), zp);
    _mm_mask_storeu_epi8(o + j, k, _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi)));
  }
}

template <typename T>
inline void rows(const QSoftmaxParams& p, const T* in, T* out, const float* table) {
  alignas(64) int32_t base[16];   // 255 - the row's max
  for (int r = 0; r < 16; ++r) base[r] = 255 - row_max(in + r * p.depth, p.depth);
  const __m512i vbase = _mm512_load_si512(base);
  const __m512i starts = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(static_cast<int32_t>(p.depth)));
  __m512 sum = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= p.depth; i += 4) {
    // elements i..i+3 of every row, one dword per lane
    const __m512i g = _mm512_i32gather_epi32(_mm512_add_epi32(starts, _mm512_set1_epi32(static_cast<int32_t>(i))), in, 1);
    for (int b = 0; b < 4; ++b) {
      const __m512i x = std::is_signed<T>::value ? _mm512_srai_epi32(_mm512_slli_epi32(g, 24 - 8 * b), 24)
                                                 : _mm512_and_si512(_mm512_srli_epi32(g, 8 * b), _mm512_set1_epi32(0xFF));
      sum = _mm512_add_ps(sum, _mm512_i32gather_ps(_mm512_add_epi32(x, vbase), table, 4));
    }
  }
  for (; i < p.depth; ++i) {
    alignas(64) int32_t x[16];
    for (int r = 0; r < 16; ++r) x[r] = in[r * p.depth + i];
    sum = _mm512_add_ps(sum, _mm512_i32gather_ps(_mm512_add_epi32(_mm512_load_si512(x), vbase), table, 4));
  }
  alignas(64) float inv[16];
  _mm512_store_ps(inv, _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(sum, _mm512_set1_ps(p.out_scale))));
  for (int r = 0; r < 16; ++r) write_row(p, in + r * p.depth, out + r * p.depth, table, base[r], inv[r]);
}

// A row alone (the rows past the last block of 16): the maximum and the output by vectors,
// the sum in the scalar loop's order.
template <typename T>
inline void one_row(const QSoftmaxParams& p, const T* x, T* o, const float* table) {
  const int32_t base = 255 - row_max(x, p.depth);
  write_row(p, x, o, table, base, 1.0f / (row_sum(p, x, table, base) * p.out_scale));
}
}  // namespace k_avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
namespace k_avx2 {
template <typename T>
inline __m256i widen8(const T* x) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x));
  return std::is_signed<T>::value ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

// as k_avx512::round_positive
inline __m256i round_positive(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(_mm256_sub_ps(v, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ));
  return _mm256_sub_epi32(_mm256_cvttps_epi32(t), up);   // up: -1 where true
}

// 8 elements of row x (its table index offset rb), as the scalar loop's bytes
template <typename T>
inline __m128i eight(const T* x, __m256i rb, __m256 inv, const float* table, __m256i zp, __m256i lo, __m256i hi) {
  const __m256 e = _mm256_i32gather_ps(table, _mm256_add_epi32(widen8(x), rb), 4);
  const __m256i v = _mm256_add_epi32(round_positive(_mm256_mul_ps(e, inv)), zp);
  const __m256i c = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
  return std::is_signed<T>::value ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
}

// as k_avx512::write_row
template <typename T>
inline void write_row(const QSoftmaxParams& p, const T* x, T* o, const float* table, int32_t base, float inv) {
  const __m256i zp = _mm256_set1_epi32(p.out_zp), lo = _mm256_set1_epi32(p.lo), hi = _mm256_set1_epi32(p.hi);
  const __m256 vinv = _mm256_set1_ps(inv);
  const __m256i rb = _mm256_set1_epi32(base);
  int64_t j = 0;
  for (; j + 8 <= p.depth; j += 8)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o + j), eight(x + j, rb, vinv, table, zp, lo, hi));
  if (j < p.depth) {   // the tail through a buffer (its padding looks up a valid index)
    alignas(16) T tail[8];
    std::fill(tail, tail + 8, static_cast<T>(255 - base));
    std::memcpy(tail, x + j, static_cast<size_t>(p.depth - j));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(tail), eight(tail, rb, vinv, table, zp, lo, hi));
    std::memcpy(o + j, tail, static_cast<size_t>(p.depth - j));
  }
}

template <typename T>
inline void rows(const QSoftmaxParams& p, const T* in, T* out, const float* table) {
  alignas(32) int32_t base[8];
  for (int r = 0; r < 8; ++r) base[r] = 255 - softmax_row_max(in + r * p.depth, p.depth);
  const __m256i vbase = _mm256_load_si256(reinterpret_cast<const __m256i*>(base));
  const __m256i starts = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                            _mm256_set1_epi32(static_cast<int32_t>(p.depth)));
  const int* words = reinterpret_cast<const int*>(in);
  __m256 sum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= p.depth; i += 4) {
    const __m256i g = _mm256_i32gather_epi32(words, _mm256_add_epi32(starts, _mm256_set1_epi32(static_cast<int32_t>(i))), 1);
    for (int b = 0; b < 4; ++b) {
      const __m256i x = std::is_signed<T>::value ? _mm256_srai_epi32(_mm256_slli_epi32(g, 24 - 8 * b), 24)
                                                 : _mm256_and_si256(_mm256_srli_epi32(g, 8 * b), _mm256_set1_epi32(0xFF));
      sum = _mm256_add_ps(sum, _mm256_i32gather_ps(table, _mm256_add_epi32(x, vbase), 4));
    }
  }
  for (; i < p.depth; ++i) {
    alignas(32) int32_t x[8];
    for (int r = 0; r < 8; ++r) x[r] = in[r * p.depth + i];
    const __m256i idx = _mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(x)), vbase);
    sum = _mm256_add_ps(sum, _mm256_i32gather_ps(table, idx, 4));
  }
  alignas(32) float inv[8];
  _mm256_store_ps(inv, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(sum, _mm256_set1_ps(p.out_scale))));
  for (int r = 0; r < 8; ++r) write_row(p, in + r * p.depth, out + r * p.depth, table, base[r], inv[r]);
}

// as k_avx512::one_row
template <typename T>
inline void one_row(const QSoftmaxParams& p, const T* x, T* o, const float* table) {
  const int32_t base = 255 - softmax_row_max(x, p.depth);
  write_row(p, x, o, table, base, 1.0f / (row_sum(p, x, table, base) * p.out_scale));
}
}  // namespace k_avx2
DLCODER_RT_TARGET_END

// Blocks of kBlock rows with `rows`, the rest one by one with `one_row`.
template <int kBlock, typename T, typename Rows, typename OneRow>
inline void run(const QSoftmaxParams& p, const T* in, T* out, const float* table, const Rows& rows,
                const OneRow& one_row) {
  int64_t r = 0;
  for (; r + kBlock <= p.rows; r += kBlock) rows(p, in + r * p.depth, out + r * p.depth, table);
  for (; r < p.rows; ++r) one_row(p, in + r * p.depth, out + r * p.depth, table);
}

// The vector kernel of this CPU; false where it has none.
template <typename T>
inline bool run_simd(const QSoftmaxParams& p, const T* in, T* out, const float* table) {
  switch (runtime_isa()) {
    case Isa::kAvx512:
      if (runtime_avx512bw()) {
        run<16>(p, in, out, table, [](auto... args) { k_avx512::rows(args...); },
                [](auto... args) { k_avx512::one_row(args...); });
        return true;
      }
      [[fallthrough]];
    case Isa::kAvx2:
      run<8>(p, in, out, table, [](auto... args) { k_avx2::rows(args...); },
             [](auto... args) { k_avx2::one_row(args...); });
      return true;
    default: return false;
  }
}
}  // namespace qsoftmax
#else
namespace qsoftmax {
template <typename T>
inline bool run_simd(const QSoftmaxParams&, const T*, T*, const float*) { return false; }
}  // namespace qsoftmax
#endif  // DLCODER_RT_X86

template <typename T>
inline void softmax_q(const QSoftmaxParams& p, const T* in, T* out, const float* table) {
  if (!qsoftmax::run_simd(p, in, out, table)) softmax_q_rows(p, in, out, table, 0, p.rows);
}

}  // namespace dlcoder_rt
