// Kernels of the ops that read indices at run time (dlcoder/ops/indexing.py): GATHER,
// GATHER_ND and ONE_HOT. GATHER and GATHER_ND check every index first and return a status
// (status.h), having written nothing where it is not 0.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/status.h"

namespace dlcoder_rt {

// GATHER viewed as in[batches][outer][axis_size][inner] and idx[batches][coords]:
// out[b][o][c][:] = in[b][o][idx[b][c]][:]. The indices are read at run time.
struct GatherParams {
  int32_t batches;
  int32_t outer;
  int32_t coords;
  int32_t axis_size;
  int32_t inner;
};

// TFLite's Invoke fails on an index outside [0, axis_size): gather.cc checks the sign of
// every index first, then its kernel the upper bound of each index it copies a row for
// (none when the output is empty). Then nothing is written here.
template <typename I>
inline bool gather_indices_ok(const GatherParams& p, const I* idx) {
  const int64_t n = int64_t{p.batches} * p.coords;
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0) return false;
  if (int64_t{p.batches} * p.outer == 0) return true;
  for (int64_t i = 0; i < n; ++i)
    if (static_cast<int64_t>(idx[i]) >= p.axis_size) return false;
  return true;
}

template <typename T, typename I>
inline int gather(const GatherParams& p, const T* in, const I* idx, T* out) {
  if (!gather_indices_ok(p, idx)) return kStatusIndexOutOfRange;
  const int64_t inner = p.inner;
  for (int64_t b = 0; b < p.batches; ++b)
    for (int64_t o = 0; o < p.outer; ++o) {
      const T* slab = in + (b * p.outer + o) * p.axis_size * inner;
      for (int64_t c = 0; c < p.coords; ++c) {
        const int64_t k = static_cast<int64_t>(idx[b * p.coords + c]);
        std::memcpy(out + ((b * p.outer + o) * p.coords + c) * inner, slab + k * inner,
                    sizeof(T) * inner);
      }
    }
  return kStatusOk;
}

// GATHER_ND: out[s][:] = params[idx[s][0], ..., idx[s][nd - 1]][:] for each of `slices`
// index tuples; a slice has `slice` elements. TFLite's Invoke fails on an index outside
// its dimension (gather_nd.cc checks the sign of every index, its kernel each coordinate
// against its dimension); then nothing is written here.
struct GatherNdParams {
  int32_t slices;
  int32_t nd;
  int64_t slice;
  int64_t dims[kMaxDims];
  int64_t strides[kMaxDims];
};

template <typename I>
inline bool gather_nd_indices_ok(const GatherNdParams& p, const I* idx) {
  const int64_t n = int64_t{p.slices} * p.nd;
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0) return false;
  for (int64_t i = 0; i < n; ++i)
    if (static_cast<int64_t>(idx[i]) >= p.dims[i % p.nd]) return false;
  return true;
}

template <typename T, typename I>
inline int gather_nd(const GatherNdParams& p, const T* params, const I* idx, T* out) {
  if (!gather_nd_indices_ok(p, idx)) return kStatusIndexOutOfRange;
  for (int64_t s = 0; s < p.slices; ++s) {
    int64_t from = 0;
    for (int32_t j = 0; j < p.nd; ++j) from += static_cast<int64_t>(idx[s * p.nd + j]) * p.strides[j];
    std::memcpy(out + s * p.slice, params + from, sizeof(T) * p.slice);
  }
  return kStatusOk;
}

// ONE_HOT viewed as out[outer][depth][inner] from idx[outer][inner]. TFLite compares the
// index cast to int32, so an int64 index is matched by its low 32 bits.
struct OneHotParams {
  int32_t outer;
  int32_t depth;
  int32_t inner;
};

template <typename T, typename I>
inline void one_hot(const OneHotParams& p, const I* idx, const T* on, const T* off, T* out) {
  const T v_on = *on, v_off = *off;
  for (int64_t o = 0; o < p.outer; ++o)
    for (int32_t d = 0; d < p.depth; ++d)
      for (int64_t i = 0; i < p.inner; ++i)
        *out++ = static_cast<int32_t>(idx[o * p.inner + i]) == d ? v_on : v_off;
}

}  // namespace dlcoder_rt
