// Quantized pools and reductions (int8, uint8, int16), as the builtin kernels of
// the pip build of TFLite compute them (found by experiment; dlcoder/ops/qreduce.py says
// which kernel runs for which node, dlcoder/quant.py computes the constants).
#pragma once

#include <cmath>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/reduce.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// ---- int32 sums of dense runs, per ISA ---------------------------------------------------
// The sums are exact in int32 (qreduce.py refuses what could overflow), so vector code may
// add in any order. add_row: acc[i] += x[i] for a dense run; sum_row, columns below.
namespace qsum {
template <typename T>
using AddRow = void (*)(int64_t n, const T* x, int32_t* acc);

template <typename T>
inline void add_row_scalar(int64_t n, const T* x, int32_t* acc) {
  for (int64_t i = 0; i < n; ++i) acc[i] += x[i];
}

// max_row: acc[i] = max(acc[i], x[i]) for a dense run (MAX_POOL_2D's window cells)
template <typename T>
using MaxRow = void (*)(int64_t n, const T* x, T* acc);

template <typename T>
inline void max_row_scalar(int64_t n, const T* x, T* acc) {
  for (int64_t i = 0; i < n; ++i) acc[i] = std::max(acc[i], x[i]);
}

// sum_row: the sum of a dense run
template <typename T>
using SumRow = int32_t (*)(int64_t n, const T* x);

template <typename T>
inline int32_t sum_row_scalar(int64_t n, const T* x) {
  int32_t s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

// columns: acc[c] = sum_i x[i * stride + c] for c < len, i < count, of 8-bit T. The vector
// versions sum blocks of columns in registers, in int16 over chunks of kChunk<T> rows
// (256 * -128 and 128 * 255 still fit), then in int32.
template <typename T>
using Columns = void (*)(int32_t count, int64_t stride, int32_t len, const T* x, int32_t* acc);

template <typename T>
constexpr int32_t kChunk = std::is_signed<T>::value ? 256 : 128;

template <typename T>
inline void columns_scalar(int32_t count, int64_t stride, int32_t len, const T* x, int32_t* acc) {
  std::fill(acc, acc + len, 0);
  for (int32_t i = 0; i < count; ++i) add_row_scalar(len, x + i * stride, acc);
}

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f")
template <typename T>
inline __m512i widen16(const T* x) {
  if constexpr (std::is_same<T, int8_t>::value) {
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  } else if constexpr (std::is_same<T, uint8_t>::value) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  } else {
    return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
  }
}

template <typename T>
inline void add_row_avx512(int64_t n, const T* x, int32_t* acc) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_si512(acc + i, _mm512_add_epi32(_mm512_loadu_si512(acc + i), widen16(x + i)));
  add_row_scalar(n - i, x + i, acc + i);
}

template <typename T>
inline int32_t sum_row_avx512(int64_t n, const T* x) {
  __m512i s = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) s = _mm512_add_epi32(s, widen16(x + i));
  return _mm512_reduce_add_epi32(s) + sum_row_scalar(n - i, x + i);
}
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw")
template <typename T>
inline __m512i widen32(__m256i v) {
  return std::is_signed<T>::value ? _mm512_cvtepi8_epi16(v) : _mm512_cvtepu8_epi16(v);
}

// 64 columns at a time (masked at the end)
template <typename T>
inline void columns_avx512(int32_t count, int64_t stride, int32_t len, const T* x, int32_t* acc) {
  for (int32_t c = 0; c < len; c += 64) {
    const __mmask64 m = ~uint64_t{0} >> (64 - std::min(64, len - c));
    __m512i s32[4];
    for (auto& v : s32) v = _mm512_setzero_si512();
    for (int32_t i0 = 0; i0 < count; i0 += kChunk<T>) {
      __m512i s16[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
      for (int32_t i = i0, end = std::min(count, i0 + kChunk<T>); i < end; ++i) {
        const __m512i v = _mm512_maskz_loadu_epi8(m, x + i * stride + c);
        s16[0] = _mm512_add_epi16(s16[0], widen32<T>(_mm512_castsi512_si256(v)));
        s16[1] = _mm512_add_epi16(s16[1], widen32<T>(_mm512_extracti64x4_epi64(v, 1)));
      }
      for (int q = 0; q < 4; ++q) {
        const __m256i h = q % 2 ? _mm512_extracti64x4_epi64(s16[q / 2], 1) : _mm512_castsi512_si256(s16[q / 2]);
        s32[q] = _mm512_add_epi32(s32[q], _mm512_cvtepi16_epi32(h));
      }
    }
    for (int q = 0; q < 4; ++q)
      _mm512_mask_storeu_epi32(acc + c + 16 * q, static_cast<__mmask16>(m >> (16 * q)), s32[q]);
  }
}

template <typename T>
inline __m512i max512(__m512i a, __m512i b) {
  if constexpr (std::is_same<T, int8_t>::value) return _mm512_max_epi8(a, b);
  if constexpr (std::is_same<T, uint8_t>::value) return _mm512_max_epu8(a, b);
  return _mm512_max_epi16(a, b);
}

template <typename T>
inline void max_row_avx512(int64_t n, const T* x, T* acc) {
  constexpr int64_t kLanes = 64 / sizeof(T);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    _mm512_storeu_si512(acc + i, max512<T>(_mm512_loadu_si512(acc + i), _mm512_loadu_si512(x + i)));
  max_row_scalar(n - i, x + i, acc + i);
}
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
template <typename T>
inline __m256i widen8(const T* x) {
  if constexpr (std::is_same<T, int8_t>::value) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x)));
  } else if constexpr (std::is_same<T, uint8_t>::value) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x)));
  } else {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  }
}

template <typename T>
inline void add_row_avx2(int64_t n, const T* x, int32_t* acc) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i* a = reinterpret_cast<__m256i*>(acc + i);
    _mm256_storeu_si256(a, _mm256_add_epi32(_mm256_loadu_si256(a), widen8(x + i)));
  }
  add_row_scalar(n - i, x + i, acc + i);
}

template <typename T>
inline int32_t sum_row_avx2(int64_t n, const T* x) {
  __m256i s = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm256_add_epi32(s, widen8(x + i));
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7] +
         sum_row_scalar(n - i, x + i);
}

// 16 columns at a time, the last len % 16 in scalar code
template <typename T>
inline void columns_avx2(int32_t count, int64_t stride, int32_t len, const T* x, int32_t* acc) {
  int32_t c = 0;
  for (; c + 16 <= len; c += 16) {
    __m256i s32[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int32_t i0 = 0; i0 < count; i0 += kChunk<T>) {
      __m256i s16 = _mm256_setzero_si256();
      for (int32_t i = i0, end = std::min(count, i0 + kChunk<T>); i < end; ++i) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i * stride + c));
        s16 = _mm256_add_epi16(s16, std::is_signed<T>::value ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v));
      }
      s32[0] = _mm256_add_epi32(s32[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s16)));
      s32[1] = _mm256_add_epi32(s32[1], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s16, 1)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + c), s32[0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + c + 8), s32[1]);
  }
  if (c < len) columns_scalar(count, stride, len - c, x + c, acc + c);
}

template <typename T>
inline __m256i max256(__m256i a, __m256i b) {
  if constexpr (std::is_same<T, int8_t>::value) return _mm256_max_epi8(a, b);
  if constexpr (std::is_same<T, uint8_t>::value) return _mm256_max_epu8(a, b);
  return _mm256_max_epi16(a, b);
}

template <typename T>
inline void max_row_avx2(int64_t n, const T* x, T* acc) {
  constexpr int64_t kLanes = 32 / sizeof(T);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __m256i* a = reinterpret_cast<__m256i*>(acc + i);
    _mm256_storeu_si256(a, max256<T>(_mm256_loadu_si256(a), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  }
  max_row_scalar(n - i, x + i, acc + i);
}
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_X86

template <typename T>
inline AddRow<T> add_row() {
  switch (runtime_isa()) {
#if defined(DLCODER_RT_X86)
    case Isa::kAvx512: return add_row_avx512<T>;
    case Isa::kAvx2: return add_row_avx2<T>;
#endif
    default: return add_row_scalar<T>;
  }
}

template <typename T>
inline MaxRow<T> max_row() {
  switch (runtime_isa()) {
#if defined(DLCODER_RT_X86)
    case Isa::kAvx512: return runtime_avx512bw() ? max_row_avx512<T> : max_row_avx2<T>;
    case Isa::kAvx2: return max_row_avx2<T>;
#endif
    default: return max_row_scalar<T>;
  }
}

template <typename T>
inline SumRow<T> sum_row() {
  switch (runtime_isa()) {
#if defined(DLCODER_RT_X86)
    case Isa::kAvx512: return sum_row_avx512<T>;
    case Isa::kAvx2: return sum_row_avx2<T>;
#endif
    default: return sum_row_scalar<T>;
  }
}

template <typename T>
inline Columns<T> columns() {
  static_assert(sizeof(T) == 1, "int16 column sums overflow their int16 chunks");
  switch (runtime_isa()) {
#if defined(DLCODER_RT_X86)
    case Isa::kAvx512: return runtime_avx512bw() ? columns_avx512<T> : columns_avx2<T>;
    case Isa::kAvx2: return columns_avx2<T>;
#endif
    default: return columns_scalar<T>;
  }
}
}  // namespace qsum

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

namespace qpool {
// The average of a window from its sum `acc` over `count` cells: TFLite's
// (acc +- count / 2) / count (rounded half away from zero), here as the truncated float
// quotient, which is the integer one while |acc +- count / 2| < 2^24: the float rounding
// of a quotient that is not an integer cannot reach the next integer, which lies at least
// 1 / count away (tests/test_qsmall_paths.py checks every sum for windows of 1..300 cells).
// 8-bit T and windows of at most kMaxCells cells keep |acc| <= 255 * count below that.
constexpr int32_t kMaxCells = 1 << 15;

// body(win, rows, cols, o) for each output pixel: the window's first cell inside the input,
// its rows and columns there, and the pixel's first channel in out. Always inlined, so that
// the vector kernels' bodies are inlined in turn (simd_qresize.h: for_each_pixel).
template <typename T, class Body>
[[gnu::always_inline]] inline void for_each_window(const QPoolParams& q, const T* in, T* out, Body body) {
  for (int32_t b = 0; b < q.batch; ++b)
    for (int32_t oy = 0; oy < q.out_h; ++oy)
      for (int32_t ox = 0; ox < q.out_w; ++ox) {
        const int32_t y0 = oy * q.stride_h - q.pad_top, x0 = ox * q.stride_w - q.pad_left;
        const int32_t ys = std::max(y0, 0), ye = std::min(y0 + q.k_h, q.in_h);
        const int32_t xs = std::max(x0, 0), xe = std::min(x0 + q.k_w, q.in_w);
        body(in + ((int64_t{b} * q.in_h + ys) * q.in_w + xs) * q.channels, ye - ys, xe - xs,
             out + ((int64_t{b} * q.out_h + oy) * q.out_w + ox) * q.channels);
      }
}

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx512dq")
// 16 channels of 8-bit T at x as int32 lanes; `m`: the channels that exist (masked-off
// bytes are not read).
template <typename T>
inline __m512i load16(const T* x, __mmask16 m) {
  const __m128i b = _mm_maskz_loadu_epi8(m, x);
  return std::is_signed<T>::value ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
}

// AVERAGE_POOL_2D for 8-bit T: per output pixel, 16 channels at a time in int32 registers,
// the window's cells loaded as they are (no call per cell); the quotient as in the comment
// above.
template <typename T>
inline void avg_pool_avx512(const QPoolParams& p, const T* in, T* out) {
  const QPoolParams q = p;  // a local copy: the stores below may alias p
  const __m512i lo = _mm512_set1_epi32(q.lo), hi = _mm512_set1_epi32(q.hi);
  const int64_t row = int64_t{q.in_w} * q.channels;
  for_each_window(q, in, out, [&](const T* win, int32_t rows, int32_t cols, T* o) {
    const __m512i half = _mm512_set1_epi32(rows * cols / 2);
    const __m512 divisor = _mm512_set1_ps(static_cast<float>(rows * cols));
    for (int32_t c = 0; c < q.channels; c += 16) {
      const __mmask16 m = static_cast<__mmask16>(0xFFFFu >> (16 - std::min(16, q.channels - c)));
      __m512i acc = _mm512_setzero_si512();
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) acc = _mm512_add_epi32(acc, load16(win + y * row + x * q.channels + c, m));
      const __mmask16 pos = _mm512_cmpgt_epi32_mask(acc, _mm512_setzero_si512());
      const __m512i n = _mm512_mask_add_epi32(_mm512_sub_epi32(acc, half), pos, acc, half);
      acc = _mm512_max_epi32(_mm512_cvttps_epi32(_mm512_div_ps(_mm512_cvtepi32_ps(n), divisor)), lo);
      _mm512_mask_cvtepi32_storeu_epi8(o + c, m, _mm512_min_epi32(acc, hi));
    }
  });
}

// MAX_POOL_2D for 8-bit T: a maximum needs no widening, so 64 channels per register, the
// channel tail masked (masked-off bytes are neither read nor stored).
template <typename T>
inline __m512i max_bytes(__m512i a, __m512i b) {
  return std::is_signed<T>::value ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
}

template <typename T>
inline void max_pool_avx512(const QPoolParams& p, const T* in, T* out) {
  const QPoolParams q = p;  // a local copy: the stores below may alias p
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(q.lo)), hi = _mm512_set1_epi8(static_cast<char>(q.hi));
  const int64_t row = int64_t{q.in_w} * q.channels;
  for_each_window(q, in, out, [&](const T* win, int32_t rows, int32_t cols, T* o) {
    int32_t c = 0;
    for (; c + 64 <= q.channels; c += 64) {
      __m512i acc = lo;  // the maxima start at the clamp's floor
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) acc = max_bytes<T>(acc, _mm512_loadu_si512(win + y * row + x * q.channels + c));
      _mm512_storeu_si512(o + c, std::is_signed<T>::value ? _mm512_min_epi8(acc, hi) : _mm512_min_epu8(acc, hi));
    }
    if (c < q.channels) {
      const __mmask64 m = (__mmask64{1} << (q.channels - c)) - 1;
      __m512i acc = lo;
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x)
          acc = max_bytes<T>(acc, _mm512_maskz_loadu_epi8(m, win + y * row + x * q.channels + c));
      _mm512_mask_storeu_epi8(o + c, m, std::is_signed<T>::value ? _mm512_min_epi8(acc, hi) : _mm512_min_epu8(acc, hi));
    }
  });
}
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
// 8 int32 lanes, each within T's range, to 8 bytes at y.
inline void store8(__m256i v, void* y) {
  const __m256i lows = _mm256_shuffle_epi8(v, _mm256_set1_epi32(0x0C080400));  // each lane's low bytes
  const __m256i both = _mm256_permutevar8x32_epi32(lows, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
  _mm_storel_epi64(static_cast<__m128i*>(y), _mm256_castsi256_si128(both));
}

// avg_pool_avx512 on 8 channels at a time. AVX2 has no masked byte loads: a last chunk of
// fewer than 8 channels loads 8 bytes where that stays within the input and stores only
// its channels; else it runs in scalar code, with TFLite's integer division.
template <typename T>
inline void avg_pool_avx2(const QPoolParams& p, const T* in, T* out) {
  const QPoolParams q = p;  // a local copy: the stores below may alias p
  const __m256i lo = _mm256_set1_epi32(q.lo), hi = _mm256_set1_epi32(q.hi), zero = _mm256_setzero_si256();
  const int64_t row = int64_t{q.in_w} * q.channels;
  const T* in_end = in + int64_t{q.batch} * q.in_h * row;
  for_each_window(q, in, out, [&](const T* win, int32_t rows, int32_t cols, T* o) {
    const int32_t count = rows * cols;
    const __m256i half = _mm256_set1_epi32(count / 2);
    const __m256 divisor = _mm256_set1_ps(static_cast<float>(count));
    const T* last = win + (rows - 1) * row + (cols - 1) * q.channels;  // the window's last cell
    int32_t c = 0;
    for (; c < q.channels && (c + 8 <= q.channels || last + c + 8 <= in_end); c += 8) {
      __m256i acc = zero;
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) {
          const T* cell = win + y * row + x * q.channels + c;
          const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(cell));
          const __m256i v = std::is_signed<T>::value ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
          acc = _mm256_add_epi32(acc, v);
        }
      const __m256i n = _mm256_blendv_epi8(_mm256_sub_epi32(acc, half), _mm256_add_epi32(acc, half),
                                           _mm256_cmpgt_epi32(acc, zero));
      acc = _mm256_max_epi32(_mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(n), divisor)), lo);
      if (c + 8 <= q.channels) {
        store8(_mm256_min_epi32(acc, hi), o + c);
      } else {
        T part[8];
        store8(_mm256_min_epi32(acc, hi), part);
        std::memcpy(o + c, part, q.channels - c);
      }
    }
    for (; c < q.channels; ++c) {
      int32_t acc = 0;
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) acc += win[y * row + x * q.channels + c];
      acc = std::max((acc > 0 ? acc + count / 2 : acc - count / 2) / count, q.lo);
      o[c] = static_cast<T>(std::min(acc, q.hi));
    }
  });
}

// max_pool_avx512 on 32 channels at a time, then 16 (SSE4.1), then one by one.
template <typename T>
inline void max_pool_avx2(const QPoolParams& p, const T* in, T* out) {
  const QPoolParams q = p;  // a local copy: the stores below may alias p
  const int64_t row = int64_t{q.in_w} * q.channels;
  const bool sgn = std::is_signed<T>::value;
  const __m256i lo = _mm256_set1_epi8(static_cast<char>(q.lo)), hi = _mm256_set1_epi8(static_cast<char>(q.hi));
  for_each_window(q, in, out, [&](const T* win, int32_t rows, int32_t cols, T* o) {
    int32_t c = 0;
    for (; c + 32 <= q.channels; c += 32) {
      __m256i acc = lo;
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(win + y * row + x * q.channels + c));
          acc = sgn ? _mm256_max_epi8(acc, v) : _mm256_max_epu8(acc, v);
        }
      acc = sgn ? _mm256_min_epi8(acc, hi) : _mm256_min_epu8(acc, hi);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + c), acc);
    }
    for (; c + 16 <= q.channels; c += 16) {
      __m128i acc = _mm256_castsi256_si128(lo);
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(win + y * row + x * q.channels + c));
          acc = sgn ? _mm_max_epi8(acc, v) : _mm_max_epu8(acc, v);
        }
      acc = sgn ? _mm_min_epi8(acc, _mm256_castsi256_si128(hi)) : _mm_min_epu8(acc, _mm256_castsi256_si128(hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + c), acc);
    }
    for (; c < q.channels; ++c) {
      int32_t acc = q.lo;
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) acc = std::max<int32_t>(acc, win[y * row + x * q.channels + c]);
      o[c] = static_cast<T>(std::min(acc, q.hi));
    }
  });
}
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_X86

template <typename T, bool kMax>
using Pool = void (*)(const QPoolParams& p, const T* in, T* out);

// The vector pool of this CPU for p, or nullptr (then pool_q's portable loops run).
template <typename T, bool kMax>
inline Pool<T, kMax> vector_pool(const QPoolParams& p) {
#if defined(DLCODER_RT_X86)
  if constexpr (sizeof(T) == 1) {
    const Isa isa = runtime_byte_isa();
    const bool avx512 = isa == Isa::kAvx512;
    if (!avx512 && isa != Isa::kAvx2) return nullptr;
    if constexpr (kMax) {
      return avx512 ? max_pool_avx512<T> : max_pool_avx2<T>;
    } else if (int64_t{p.k_h} * p.k_w <= kMaxCells) {
      return avx512 ? avg_pool_avx512<T> : avg_pool_avx2<T>;
    }
  }
#endif
  (void)p;
  return nullptr;
}
}  // namespace qpool

template <typename T, bool kMax>
inline void pool_q(const QPoolParams& p, const T* in, T* out) {
  if (const qpool::Pool<T, kMax> f = qpool::vector_pool<T, kMax>(p)) return f(p, in, out);
  constexpr int32_t kBlock = 256;   // channels pooled at once, window cell by cell
  const qsum::AddRow<T> add_row = qsum::add_row<T>();
  const qsum::MaxRow<T> max_row = qsum::max_row<T>();
  int32_t acc[kBlock];
  T top[kBlock];  // the maxima, in T: no widening needed
  const int64_t row = int64_t{p.in_w} * p.channels;
  qpool::for_each_window(p, in, out, [&](const T* win, int32_t rows, int32_t cols, T* o) {
    const int32_t count = rows * cols;
    for (int32_t c0 = 0; c0 < p.channels; c0 += kBlock) {
      const int32_t len = std::min(kBlock, p.channels - c0);
      if (kMax) {
        std::fill(top, top + len, static_cast<T>(p.lo));  // the maxima start at the clamp's floor
      } else {
        std::fill(acc, acc + len, 0);
      }
      for (int32_t y = 0; y < rows; ++y)
        for (int32_t x = 0; x < cols; ++x) {
          const T* v = win + y * row + x * p.channels + c0;
          if (kMax) {
            max_row(len, v, top);
          } else {
            add_row(len, v, acc);
          }
        }
      if (kMax) {
        const T hi = static_cast<T>(p.hi);
        for (int32_t c = 0; c < len; ++c) o[c0 + c] = std::min(top[c], hi);
      } else {
        for (int32_t c = 0; c < len; ++c) {
          const int32_t a = acc[c] > 0 ? (acc[c] + count / 2) / count : (acc[c] - count / 2) / count;
          o[c0 + c] = static_cast<T>(std::min(std::max(a, p.lo), p.hi));
        }
      }
    }
  });
}


// ---- sums of the reduced elements -------------------------------------------------------
// acc[o] = the int32 sum of the input elements of output o (the ReduceParams loop of
// reduce.h: b_strides map input elements to outputs).
template <typename T>
inline void reduce_sum_q(const ReduceParams& p, const T* in, int32_t* acc) {
  for (int64_t i = 0; i < p.out_size; ++i) acc[i] = 0;
  const int32_t n = p.loop.dims[5];
  const int32_t sa = p.loop.a_strides[5], sb = p.loop.b_strides[5];
  const qsum::AddRow<T> add_row = qsum::add_row<T>();
  const qsum::SumRow<T> sum_row = qsum::sum_row<T>();
  for_each_run(p.loop, [&](int64_t ia, int64_t ib, int64_t) {
    const T* x = in + ia;
    int32_t* o = acc + ib;
    if (sa == 1 && sb == 0) {
      *o += sum_row(n, x);
    } else if (sb == 0) {
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
  constexpr int32_t kBlock = 256;   // channels summed at once
  const qsum::Columns<T> columns = qsum::columns<T>();
  int32_t acc[kBlock];
  for (int32_t b = 0; b < p.batch; ++b) {
    const T* x = in + int64_t{b} * p.count * p.channels;
    for (int32_t c0 = 0; c0 < p.channels; c0 += kBlock) {
      const int32_t len = std::min(kBlock, p.channels - c0);
      columns(p.count, p.channels, len, x + c0, acc);
      for (int32_t k = 0; k < len; ++k) {
        const int32_t c = c0 + k, s = acc[k];
        const int32_t v = (c < p.vec_channels ? multiply_by_quantized_multiplier<Rounding::kUp>(s, p.multiplier, p.shift)
                                              : multiply_by_quantized_multiplier(s, p.multiplier, p.shift)) + p.bias;
        out[int64_t{b} * p.channels + c] = static_cast<T>(std::min(std::max(v, p.lo), p.hi));
      }
    }
  }
}

}  // namespace dlcoder_rt
