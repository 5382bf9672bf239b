// Data movement: strided copies (TRANSPOSE, SLICE, PAD interiors, BROADCAST_TO, ...),
// row copies (CONCATENATION, SPLIT), fills (FILL, ZEROS_LIKE, RANGE). The generator turns
// each copy into Loop6s. SLICE and STRIDED_SLICE with bounds computed at run time check them
// first and return a status (status.h), having written nothing where it is not 0.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/status.h"

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

// copy_loop whose runs are contiguous on both sides and N = loop.dims[5] elements long, N
// known when the code is generated: a short run (DEPTH_TO_SPACE's block * channels, a
// TRANSPOSE that keeps a few innermost elements together) is then a few moves, not a
// memcpy call and its size dispatch.
template <int32_t N, typename T>
inline void copy_runs(const Loop6& loop, const T* src, T* dst) {
  for_each_run(loop, [&](int64_t ia, int64_t ib, int64_t) {
    std::memcpy(dst + ib, src + ia, sizeof(T) * N);
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

// CONCATENATION of inputs whose rows are short (a few channels each, concatenated along the
// channels): output row by output row, each input's row in turn, so the output is written
// once and in order rather than once per input, and each copy has its size fixed at compile
// time (kRows, each input's row: a few moves, not a memcpy call and its size dispatch).
template <typename T, int64_t... kRows>
inline void concat_short_rows(const Parallel& par, int64_t rows, const T* const (&src)[sizeof...(kRows)],
                              T* dst) {
  constexpr int64_t kOut = (kRows + ...);
  parallel_ranges(par, rows, rows * kOut * kCopyMacs, [&](int32_t, int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      T* d = dst + r * kOut;
      const T* const* s = src;
      ((std::memcpy(d, *s++ + r * kRows, sizeof(T) * kRows), d += kRows), ...);
    }
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

// ---- slices whose bounds are read at run time ---------------------------------------------
// The generator fixes the output shape (the model's, or what the constant bounds give) and
// lays out the axes; the kernel computes each axis's first index and element count from
// the bounds as TFLite does, returns kStatusShapeMismatch where a count differs from the
// generated shape (TFLite would resize its output) and kStatusIndexOutOfRange where an
// index lies outside its axis (where TFLite fails, or would read out of bounds or leave the
// output unwritten), else copies the box.

// The box of counts[a] elements per axis from in + sum(start[a] * in_strides[a]), stepping
// steps[a] * in_strides[a], into dense out; rank <= kMaxDims, every count > 0.
template <typename T>
inline void copy_box(int32_t rank, const int64_t* start, const int32_t* counts,
                     const int32_t* steps, const int64_t* in_strides, const T* in, T* out) {
  Loop6 loop{};
  int64_t from = 0, dense = 1;
  for (int32_t a = kMaxDims - 1; a >= 0; --a) {
    const int32_t k = a - (kMaxDims - rank);    // the axis, or < 0 for a leading pad dim
    loop.dims[a] = k < 0 ? 1 : counts[k];
    loop.a_strides[a] = k < 0 ? 0 : static_cast<int32_t>(steps[k] * in_strides[k]);
    loop.b_strides[a] = static_cast<int32_t>(dense);
    if (k >= 0) {
      from += start[k] * in_strides[k];
      dense *= counts[k];
    }
  }
  copy_loop(loop, in + from, out);
}

// TFLite's StridedSliceStartForAxis (strided_slice_logic.h): a negative index counts from
// the end, then it is clamped to [0, dim] (step > 0) or [-1, dim - 1]; a begin mask starts
// at the first element walked.
inline int64_t slice_start(int64_t dim, int64_t begin, int64_t step, bool masked) {
  if (masked) return step > 0 ? 0 : dim - 1;
  if (begin < 0) begin += dim;
  return step > 0 ? std::clamp<int64_t>(begin, 0, dim) : std::clamp<int64_t>(begin, -1, dim - 1);
}

// TFLite's StridedSliceEndForAxis for an axis that is not shrunk; with `offset`, end counts
// from the start.
inline int64_t slice_stop(int64_t dim, int64_t end, int64_t step, bool masked, int64_t start,
                          bool offset) {
  if (masked) return step > 0 ? dim : -1;
  if (offset) end += start;
  if (end < 0) end += dim;
  return step > 0 ? std::clamp<int64_t>(end, 0, dim) : std::clamp<int64_t>(end, -1, dim - 1);
}

// STRIDED_SLICE over its effective axes (the input with new axes inserted as size 1, the
// ellipsis and the axes past the spec as whole ranges): spec[a] is the axis's entry in
// begin / end / strides, or -1 for a whole range. counts[a] is the generated output's count
// (1 for a shrunk axis). TFLite walks ceil((stop - start) / step) elements (at least 0) and
// resizes its output to that; a shrunk axis whose index is outside it is walked zero
// times, leaving TFLite's output unwritten.
constexpr int32_t kSliceBeginMasked = 1;
constexpr int32_t kSliceEndMasked = 2;
constexpr int32_t kSliceShrink = 4;

struct StridedSliceParams {
  int32_t rank;
  int32_t offset;
  int32_t dims[kMaxDims];
  int32_t spec[kMaxDims];
  int32_t steps[kMaxDims];
  int32_t masks[kMaxDims];
  int32_t counts[kMaxDims];
  int64_t in_strides[kMaxDims];
};

template <typename T>
inline int strided_slice(const StridedSliceParams& p, const T* in, const int32_t* begin,
                         const int32_t* end, T* out) {
  int64_t start[kMaxDims];
  bool empty = false;
  for (int32_t a = 0; a < p.rank; ++a) {
    const int32_t k = p.spec[a], mask = p.masks[a];
    const int64_t dim = p.dims[a], step = p.steps[a];
    int64_t count = dim;
    start[a] = 0;
    if (k >= 0) {
      start[a] = slice_start(dim, begin[k], step, mask & kSliceBeginMasked);
      if (mask & kSliceShrink) {
        if (start[a] < 0 || start[a] >= dim) return kStatusIndexOutOfRange;
        count = 1;
      } else {
        const int64_t len = slice_stop(dim, end[k], step, mask & kSliceEndMasked, start[a],
                                       p.offset != 0) - start[a];
        count = len * step > 0 ? (len + step - (step > 0 ? 1 : -1)) / step : 0;
      }
    }
    if (count != p.counts[a]) return kStatusShapeMismatch;
    empty = empty || count == 0;
  }
  if (!empty) copy_box(p.rank, start, p.counts, p.steps, p.in_strides, in, out);
  return kStatusOk;
}

// SLICE: per axis, size elements from begin, or the rest of the axis for a size of -1.
// TFLite's Eval fails on a negative begin, on begin + size past the axis (both an index out
// of range here), on a size below -1 and on a size other than its output's.
struct SliceParams {
  int32_t rank;
  int32_t dims[kMaxDims];
  int32_t counts[kMaxDims];
  int64_t in_strides[kMaxDims];
};

template <typename T, typename I>
inline int slice(const SliceParams& p, const T* in, const I* begin, const I* size, T* out) {
  int64_t start[kMaxDims];
  int32_t steps[kMaxDims];
  bool empty = false;
  for (int32_t a = 0; a < p.rank; ++a) {
    const int64_t dim = p.dims[a], b = static_cast<int64_t>(begin[a]);
    const int64_t s = static_cast<int64_t>(size[a]);
    if (s < -1) return kStatusShapeMismatch;
    if (b < 0 || b > dim || (s != -1 && s > dim - b)) return kStatusIndexOutOfRange;
    const int64_t count = s == -1 ? dim - b : s;
    if (count != p.counts[a]) return kStatusShapeMismatch;
    start[a] = b;
    steps[a] = 1;
    empty = empty || count == 0;
  }
  if (!empty) copy_box(p.rank, start, p.counts, steps, p.in_strides, in, out);
  return kStatusOk;
}

}  // namespace dlcoder_rt
