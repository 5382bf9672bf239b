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

// 64 columns at a time (the last block masked), without widening: the bytes are summed as
// uint8 (int8 flipped by xor 0x80, 128 * count taken off at the end) in 16-bit words. A
// word w = lo + 256 * hi holds two neighbouring columns; the sums of w and of hi = w >> 8
// over at most 256 rows give both (sum lo = sum w - 256 * sum hi mod 2^16, and
// 255 * 256 < 2^16): a load with its xor, a shift and two adds per 64 bytes, no shuffles.
// Per chunk of 256 rows the word sums go to int32, lane j of s32[k] holding column 4j + k.
template <typename T, bool kMasked>
inline void column_block(int32_t count, int64_t stride, int32_t len, const T* x, int32_t* acc) {
  const __m512i flip = _mm512_set1_epi8(std::is_signed<T>::value ? -128 : 0);
  const __m512i low16 = _mm512_set1_epi32(0xFFFF);
  const __mmask64 m = kMasked ? ~uint64_t{0} >> (64 - len) : ~uint64_t{0};
  __m512i s32[4];
  for (auto& v : s32) v = _mm512_setzero_si512();
  for (int32_t i0 = 0; i0 < count; i0 += 256) {
    __m512i w = _mm512_setzero_si512(), h = _mm512_setzero_si512();
    const T* p = x + i0 * stride;
    for (int32_t i = i0, end = std::min(count, i0 + 256); i < end; ++i, p += stride) {
      const __m512i bytes = kMasked ? _mm512_maskz_loadu_epi8(m, p) : _mm512_loadu_si512(p);
      const __m512i v = _mm512_xor_si512(bytes, flip);
      w = _mm512_add_epi16(w, v);
      h = _mm512_add_epi16(h, _mm512_srli_epi16(v, 8));
    }
    const __m512i lo = _mm512_sub_epi16(w, _mm512_slli_epi16(h, 8));  // column 2k in word k
    s32[0] = _mm512_add_epi32(s32[0], _mm512_and_si512(lo, low16));
    s32[1] = _mm512_add_epi32(s32[1], _mm512_and_si512(h, low16));
    s32[2] = _mm512_add_epi32(s32[2], _mm512_srli_epi32(lo, 16));
    s32[3] = _mm512_add_epi32(s32[3], _mm512_srli_epi32(h, 16));
  }
  // to column order: in-lane unpacks give r[k] = columns 16q + 4k .. 16q + 4k + 3 in 128-bit
  // lane q; then a 4x4 transpose of the lanes
  const __m512i a = _mm512_unpacklo_epi32(s32[0], s32[1]), b = _mm512_unpackhi_epi32(s32[0], s32[1]);
  const __m512i c = _mm512_unpacklo_epi32(s32[2], s32[3]), d = _mm512_unpackhi_epi32(s32[2], s32[3]);
  const __m512i r0 = _mm512_unpacklo_epi64(a, c), r1 = _mm512_unpackhi_epi64(a, c);
  const __m512i r2 = _mm512_unpacklo_epi64(b, d), r3 = _mm512_unpackhi_epi64(b, d);
  const __m512i x01 = _mm512_shuffle_i32x4(r0, r1, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i x23 = _mm512_shuffle_i32x4(r2, r3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i y01 = _mm512_shuffle_i32x4(r0, r1, _MM_SHUFFLE(3, 2, 3, 2));
  const __m512i y23 = _mm512_shuffle_i32x4(r2, r3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m512i cols[4] = {_mm512_shuffle_i32x4(x01, x23, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_i32x4(x01, x23, _MM_SHUFFLE(3, 1, 3, 1)),
                           _mm512_shuffle_i32x4(y01, y23, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_i32x4(y01, y23, _MM_SHUFFLE(3, 1, 3, 1))};
  const __m512i unflip = _mm512_set1_epi32(std::is_signed<T>::value ? 128 * count : 0);
  for (int q = 0; q < 4; ++q) {
    const __m512i v = _mm512_sub_epi32(cols[q], unflip);
    if (kMasked) {
      _mm512_mask_storeu_epi32(acc + 16 * q, static_cast<__mmask16>(m >> (16 * q)), v);
    } else {
      _mm512_storeu_si512(acc + 16 * q, v);
    }
  }
}

template <typename T>
inline void columns_avx512(int32_t count, int64_t stride, int32_t len, const T* x, int32_t* acc) {
  int32_t c = 0;
  for (; c + 64 <= len; c += 64) column_block<T, false>(count, stride, 64, x + c, acc + c);
  if (c < len) column_block<T, true>(count, stride, len - c, x + c, acc + c);
}

// sum_rows: out[r * out_stride] += the sum of row r (n elements, rows `stride` apart), r < rows.
// For 8-bit T: vpsadbw of the flipped bytes (as above) against zero, 8 partial sums per
// row; four rows' partial sums reduced together.
template <typename T>
inline __m512i row_sad(int32_t n, const T* p) {
  const __m512i flip = _mm512_set1_epi8(std::is_signed<T>::value ? -128 : 0), zero = _mm512_setzero_si512();
  __m512i s = zero;
  int32_t i = 0;
  for (; i + 64 <= n; i += 64) s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512(p + i), flip), zero));
  if (i < n) {  // masked-off bytes read as the flip value: 0 after the xor
    const __m512i v = _mm512_mask_loadu_epi8(flip, ~uint64_t{0} >> (64 - (n - i)), p + i);
    s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_xor_si512(v, flip), zero));
  }
  return s;
}

template <typename T>
inline void sum_rows_avx512(int32_t rows, int32_t n, int64_t stride, const T* x, int64_t out_stride, int32_t* out) {
  static_assert(sizeof(T) == 1, "bytes only");
  const int32_t unflip = std::is_signed<T>::value ? 128 * n : 0;
  int32_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const T* p = x + r * stride;
    const __m512i s0 = row_sad(n, p), s1 = row_sad(n, p + stride);
    const __m512i s2 = row_sad(n, p + 2 * stride), s3 = row_sad(n, p + 3 * stride);
    // each row's total is below 2^31 (qreduce.py): in 128-bit lane q, dwords s0 s2 s1 s3
    const __m512i t01 = _mm512_add_epi64(_mm512_unpacklo_epi64(s0, s1), _mm512_unpackhi_epi64(s0, s1));
    const __m512i t23 = _mm512_add_epi64(_mm512_unpacklo_epi64(s2, s3), _mm512_unpackhi_epi64(s2, s3));
    const __m512i t = _mm512_or_si512(t01, _mm512_slli_epi64(t23, 32));
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
    const __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    int32_t* o = out + r * out_stride;
    o[0] += _mm_cvtsi128_si32(q) - unflip;
    o[out_stride] += _mm_extract_epi32(q, 2) - unflip;
    o[2 * out_stride] += _mm_extract_epi32(q, 1) - unflip;
    o[3 * out_stride] += _mm_extract_epi32(q, 3) - unflip;
  }
  for (; r < rows; ++r)
    out[r * out_stride] += static_cast<int32_t>(_mm512_reduce_add_epi64(row_sad(n, x + r * stride))) - unflip;
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

// sum_rows for any T and ISA: sum_row per row
template <typename T>
using SumRows = void (*)(int32_t rows, int32_t n, int64_t stride, const T* x, int64_t out_stride, int32_t* out);

template <typename T>
inline void sum_rows_each(int32_t rows, int32_t n, int64_t stride, const T* x, int64_t out_stride, int32_t* out) {
  const SumRow<T> f = sum_row<T>();
  for (int32_t r = 0; r < rows; ++r) out[r * out_stride] += f(n, x + r * stride);
}

template <typename T>
inline SumRows<T> sum_rows() {
#if defined(DLCODER_RT_X86)
  if constexpr (sizeof(T) == 1) {
    if (runtime_byte_isa() == Isa::kAvx512) return sum_rows_avx512<T>;
  }
#endif
  return sum_rows_each<T>;
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
