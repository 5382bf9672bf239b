// RESIZE_NEAREST_NEIGHBOR of every type but float (int8, uint8, int16, int32...) as byte
// copies (resize.h: resize_nearest dispatches here).
//
// TFLite's kernel (optimized_ops::ResizeNearestNeighbor) memcpys one output pixel at a
// time. Here the output rows that read one input row (a run of equal ys) are written
// together, and so are the adjacent output columns that read one input pixel (a run of
// equal xs): with AVX-512 BW each 64-byte piece of an input pixel is loaded once and
// stored to every place it goes (a masked load and stores for the last piece), so that a
// 2x upsample is four stores per load and no copy reads the output back. Elsewhere the
// first row of a run is copied pixel by pixel and the others are copies of it.
#pragma once

#include <cstring>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

namespace dlcoder_rt {
namespace qnearest {

// How many entries from i on (before n) equal idx[i].
inline int32_t run_length(const int32_t* idx, int32_t i, int32_t n) {
  int32_t j = i + 1;
  while (j < n && idx[j] == idx[i]) ++j;
  return j - i;
}

// f(src, dst, rows) for each run of output rows that read one input row: src that input
// row, dst the run's first output row, `rows` rows of out_w * pixel bytes. P: resize.h's
// ResizeParams; pixel: the bytes of one pixel. Always inlined, so that f compiled for a
// vector ISA is called from code of that ISA (see simd_qresize.h: for_each_pixel).
template <class P, class F>
[[gnu::always_inline]] inline void for_each_row_run(const P& p, const int32_t* ys, const uint8_t* in, uint8_t* out,
                                                    int64_t pixel, F&& f) {
  const int64_t in_row = int64_t{p.in_w} * pixel, out_row = int64_t{p.out_w} * pixel;
  for (int32_t b = 0; b < p.batches; ++b) {
    const uint8_t* image = in + b * p.in_h * in_row;
    for (int32_t y = 0; y < p.out_h;) {
      const int32_t rows = run_length(ys, y, p.out_h);
      f(image + ys[y] * in_row, out, rows);
      out += rows * out_row;
      y += rows;
    }
  }
}

// The portable copy: the run's first row by pixels, then the whole row to the others.
template <class P>
inline void nearest_bytes_portable(const P& p, const int32_t* ys, const int32_t* xs, const uint8_t* in, uint8_t* out,
                                   int64_t pixel) {
  const int64_t out_row = int64_t{p.out_w} * pixel;
  for_each_row_run(p, ys, in, out, pixel, [&](const uint8_t* src, uint8_t* dst, int32_t rows) {
    for (int32_t x = 0; x < p.out_w; ++x) std::memcpy(dst + x * pixel, src + int64_t{xs[x]} * pixel, pixel);
    for (int32_t r = 1; r < rows; ++r) std::memcpy(dst + r * out_row, dst, out_row);
  });
}

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw")
namespace avx512 {

// v to `rows` x `cols` places: rows out_row bytes apart, columns pixel bytes apart.
[[gnu::always_inline]] inline void store_all(uint8_t* d, __m512i v, int32_t rows, int32_t cols, int64_t out_row,
                                             int64_t pixel) {
  for (int32_t r = 0; r < rows; ++r, d += out_row)
    for (int32_t c = 0; c < cols; ++c) _mm512_storeu_si512(d + c * pixel, v);
}

[[gnu::always_inline]] inline void store_all(uint8_t* d, __mmask64 m, __m512i v, int32_t rows, int32_t cols,
                                             int64_t out_row, int64_t pixel) {
  for (int32_t r = 0; r < rows; ++r, d += out_row)
    for (int32_t c = 0; c < cols; ++c) _mm512_mask_storeu_epi8(d + c * pixel, m, v);
}

template <class P>
inline void nearest_bytes(const P& p, const int32_t* ys, const int32_t* xs, const uint8_t* in, uint8_t* out,
                          int64_t pixel) {
  const int64_t out_row = int64_t{p.out_w} * pixel, full = pixel & ~int64_t{63};
  const __mmask64 tail = (pixel & 63) != 0 ? (__mmask64{1} << (pixel & 63)) - 1 : 0;
  for_each_row_run(p, ys, in, out, pixel, [&](const uint8_t* src, uint8_t* dst, int32_t rows) {
    for (int32_t x = 0; x < p.out_w;) {
      const int32_t cols = run_length(xs, x, p.out_w);
      const uint8_t* s = src + int64_t{xs[x]} * pixel;
      uint8_t* d = dst + x * pixel;
      if (rows == 2 && cols == 2) {  // the 2x upsample, unrolled
        for (int64_t k = 0; k < full; k += 64) {
          const __m512i v = _mm512_loadu_si512(s + k);
          _mm512_storeu_si512(d + k, v);
          _mm512_storeu_si512(d + pixel + k, v);
          _mm512_storeu_si512(d + out_row + k, v);
          _mm512_storeu_si512(d + out_row + pixel + k, v);
        }
      } else {
        for (int64_t k = 0; k < full; k += 64) store_all(d + k, _mm512_loadu_si512(s + k), rows, cols, out_row, pixel);
      }
      if (tail != 0) store_all(d + full, tail, _mm512_maskz_loadu_epi8(tail, s + full), rows, cols, out_row, pixel);
      x += cols;
    }
  });
}

}  // namespace avx512
DLCODER_RT_TARGET_END
#endif

// out[b][y][x] = in[b][ys[y]][xs[x]], pixels of `pixel` bytes, on the ISA chosen at run time.
template <class P>
inline void nearest_bytes(const P& p, const int32_t* ys, const int32_t* xs, const uint8_t* in, uint8_t* out,
                          int64_t pixel) {
#if defined(DLCODER_RT_X86)
  if (runtime_byte_isa() == Isa::kAvx512) return avx512::nearest_bytes(p, ys, xs, in, out, pixel);
#endif
  nearest_bytes_portable(p, ys, xs, in, out, pixel);
}

}  // namespace qnearest
}  // namespace dlcoder_rt
