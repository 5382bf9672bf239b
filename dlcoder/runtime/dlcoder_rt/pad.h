// PAD and PADV2 in one pass over the output.
//
// The output is row-major, so at every level of a padded tensor the "before" and "after"
// slabs of one axis are contiguous runs of the output. Writing the output in order, each
// slab is one fill and each innermost row of the input one memcpy: every output byte is
// written once and every input byte read once. (Filling the whole output and then copying
// the interior over it writes the interior twice, which a 128x700 -> 128x714 pad pays for
// with a 1.6x longer run than TFLite's.)
//
// The generator merges every axis that is not padded into the axis before it (its rows
// are then longer, and its paddings a whole number of them), so the innermost level is
// contiguous on both sides and the levels are at most six.
//
// Short padded rows (a channel padding's pixels, up to 256 bytes a row) go to simd_pad.h
// instead, where the CPU has AVX-512 BW: each row a few masked loads and stores rather than
// a memcpy and memset calls.
#pragma once

#include <cstring>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/simd_pad.h"

namespace dlcoder_rt {

struct PadParams {
  int32_t levels;               // 1 to kMaxDims
  int32_t dims[kMaxDims];       // the input's extent per level (elements at the last)
  int32_t before[kMaxDims];     // padded rows before, per level (elements at the last)
  int32_t after[kMaxDims];      // and after
  int64_t in_stride[kMaxDims];  // elements of the input per step of each level
  int64_t out_stride[kMaxDims]; // elements of the output per step (1 at the last level)
};

// The value to pad with, and its byte when all its bytes are equal (zero, in practice):
// then a fill is a memset, which -O2 code gets vectorised (a loop storing a float is not).
template <typename T>
struct PadValue {
  T value;
  int byte;  // -1: the bytes differ
};

template <typename T>
inline PadValue<T> pad_value(T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  for (size_t i = 1; i < sizeof(T); ++i)
    if (bytes[i] != bytes[0]) return {value, -1};
  return {value, bytes[0]};
}

template <typename T>
inline T* pad_fill(int64_t n, const PadValue<T>& v, T* dst) {
  if (v.byte >= 0) {
    std::memset(dst, v.byte, sizeof(T) * n);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = v.value;
  }
  return dst + n;
}

// The rows of level k (the last but one) as simd_pad.h's dense stores, where it takes them.
template <typename T>
inline bool pad_dense_rows(const PadParams& p, int32_t k, const T* src, T* dst, const PadValue<T>& v) {
  constexpr int64_t b = sizeof(T);
  const pad_dense::Rows r{p.dims[k], p.before[k + 1] * b, p.dims[k + 1] * b, p.after[k + 1] * b, p.in_stride[k] * b};
  if (!pad_dense::available(r)) return false;
  pad_dense::rows(r, reinterpret_cast<const uint8_t*>(src), reinterpret_cast<uint8_t*>(dst), v.value);
  return true;
}

// Level k of `p` for one point of the levels above it; returns the output's next element.
template <typename T>
inline T* pad_level(const PadParams& p, int32_t k, const T* src, T* dst, const PadValue<T>& v) {
  const int64_t os = p.out_stride[k];
  dst = pad_fill(p.before[k] * os, v, dst);
  if (k + 1 == p.levels) {
    if (p.dims[k] != 0) std::memcpy(dst, src, sizeof(T) * p.dims[k]);
    dst += p.dims[k];
  } else if (k + 2 == p.levels && pad_dense_rows(p, k, src, dst, v)) {
    dst += p.dims[k] * os;
  } else {
    for (int32_t i = 0; i < p.dims[k]; ++i) dst = pad_level(p, k + 1, src + i * p.in_stride[k], dst, v);
  }
  return pad_fill(p.after[k] * os, v, dst);
}

template <typename T>
inline void pad(const PadParams& p, const T* src, T* dst, T value) {
  pad_level(p, 0, src, dst, pad_value(value));
}

}  // namespace dlcoder_rt
