// Data movement: strided copies (TRANSPOSE, SLICE, PAD interiors, BROADCAST_TO, ...),
// row copies (CONCATENATION, SPLIT), fills. The generator turns each op into Loop6s.
#pragma once

#include "dlcoder_rt/common.h"

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

}  // namespace dlcoder_rt
