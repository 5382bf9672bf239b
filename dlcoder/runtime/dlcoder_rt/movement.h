// Data movement: strided copies (TRANSPOSE, SLICE, PAD interiors, BROADCAST_TO, ...),
// row copies (CONCATENATION, SPLIT), fills (FILL, ZEROS_LIKE, RANGE). The generator turns
// each copy into Loop6s.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/parallel.h"

namespace dlcoder_rt {

// dst[b] = src[a] for every point of `loop` (a = source offset, b = destination offset).
template <typename T>
inline void copy_loop(const Loop6& loop, const T* src, T* dst) {
  const int32_t n = loop.dims[5];
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  for_each_run(loop, [&](int64_t ia, int64_t ib, int64_t) {
    const T* s = src + ia;
    T* d = dst + ib;
    if (sa == 1 && sb == 1) {
      std::memcpy(d, s, sizeof(T) * n);
    } else {
      for (int32_t i = 0; i < n; ++i) d[i * sb] = s[i * sa];
    }
  });
}

// `rows` rows of `row` elements from src (dense) into dst rows of `dst_row` elements,
// starting at column `dst_col`.
template <typename T>
inline void copy_rows(int64_t rows, int64_t row, int64_t dst_row, int64_t dst_col,
                      const T* src, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dst_row + dst_col, src + r * row, sizeof(T) * row);
}

// The same with threads: the rows split into tasks (a copied element costs about as much as
// kCopyMacs multiply-adds; DenseNet's concatenations copy megabytes per block).
constexpr int64_t kCopyMacs = 2;
template <typename T>
inline void copy_rows(const Parallel& par, int64_t rows, int64_t row, int64_t dst_row, int64_t dst_col,
                      const T* src, T* dst) {
  parallel_ranges(par, rows, rows * row * kCopyMacs, [&](int32_t, int64_t lo, int64_t hi) {
    copy_rows(hi - lo, row, dst_row, dst_col, src + lo * row, dst + lo * dst_row);
  });
}

// copy_rows through a 256-entry table: dst = table[src] (a uint8 CONCATENATION input
// that TFLite requantizes to the output's scale and zero point; the generator computes
// the table as TFLite's ConcatenationWithScaling computes each value).
inline void map_rows(int64_t rows, int64_t row, int64_t dst_row, int64_t dst_col,
                     const uint8_t* table, const uint8_t* src, uint8_t* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * row;
    uint8_t* d = dst + r * dst_row + dst_col;
    for (int64_t i = 0; i < row; ++i) d[i] = table[s[i]];
  }
}

inline void map_rows(const Parallel& par, int64_t rows, int64_t row, int64_t dst_row,
                     int64_t dst_col, const uint8_t* table, const uint8_t* src, uint8_t* dst) {
  parallel_ranges(par, rows, rows * row * kCopyMacs, [&](int32_t, int64_t lo, int64_t hi) {
    map_rows(hi - lo, row, dst_row, dst_col, table, src + lo * row, dst + lo * dst_row);
  });
}

// The inverse: columns [src_col, src_col + row) of each src row into dense dst.
template <typename T>
inline void take_rows(int64_t rows, int64_t row, int64_t src_row, int64_t src_col,
                      const T* src, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * row, src + r * src_row + src_col, sizeof(T) * row);
}

template <typename T>
inline void fill(int64_t n, T value, T* dst) {
  std::fill(dst, dst + n, value);
}

template <typename T>
inline void copy(int64_t n, const T* src, T* dst) {
  if (src != dst) std::memcpy(dst, src, sizeof(T) * n);
}

// copy_loop over up to twelve dims: every point of `outer` (all six dims, including the
// last) places one `inner` box. For remaps such as TILE that do not collapse to six dims.
template <typename T>
inline void copy_loop_nested(const Loop6& outer, const Loop6& inner, const T* src, T* dst) {
  const int32_t sa = outer.a_strides[5], sb = outer.b_strides[5];
  for_each_run(outer, [&](int64_t ia, int64_t ib, int64_t) {
    for (int32_t i = 0; i < outer.dims[5]; ++i)
      copy_loop(inner, src + ia + int64_t{i} * sa, dst + ib + int64_t{i} * sb);
  });
}

// GATHER viewed as in[batches][outer][axis_size][inner] and idx[batches][coords]:
// out[b][o][c][:] = in[b][o][idx[b][c]][:]. The indices are read at run time.
struct GatherParams {
  int32_t batches;
  int32_t outer;
  int32_t coords;
  int32_t axis_size;
  int32_t inner;
};

// TFLite fails the whole invoke on an index outside [0, axis_size); generated code has no
// error path, so such a row is zero-filled instead of being read out of bounds.
template <typename T, typename I>
inline void gather(const GatherParams& p, const T* in, const I* idx, T* out) {
  const int64_t inner = p.inner;
  for (int64_t b = 0; b < p.batches; ++b)
    for (int64_t o = 0; o < p.outer; ++o) {
      const T* slab = in + (b * p.outer + o) * p.axis_size * inner;
      for (int64_t c = 0; c < p.coords; ++c) {
        const int64_t k = static_cast<int64_t>(idx[b * p.coords + c]);
        T* d = out + ((b * p.outer + o) * p.coords + c) * inner;
        if (k < 0 || k >= p.axis_size) {
          std::fill(d, d + inner, T{});
        } else {
          std::memcpy(d, slab + k * inner, sizeof(T) * inner);
        }
      }
    }
}

// RANGE with computed start / delta: start, start + delta, ... accumulated one step at a
// time (not start + i * delta), as TFLite does, so float outputs round the same way.
template <typename T>
inline void range(int64_t n, const T* start, const T* delta, T* out) {
  T v = *start;
  const T step = *delta;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = v;
    v = wrapping_add(v, step);
  }
}

}  // namespace dlcoder_rt
