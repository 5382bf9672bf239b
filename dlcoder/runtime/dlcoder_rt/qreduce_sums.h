// The int32 sums and maxima of dense runs of 8-bit (and int16) data that the quantized
// pools and reductions build on (qreduce.h, qreduce_pool.h), one function per ISA picked at
// run time.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

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

}  // namespace dlcoder_rt
