// Quantized AVERAGE_POOL_2D and MAX_POOL_2D (int8, uint8, int16), as the builtin kernels of
// the pip build of TFLite compute them (dlcoder/ops/qreduce.py lowers them; qreduce.h
// includes this header).
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/qreduce_sums.h"

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

}  // namespace dlcoder_rt
