// Kernels of the ops that read indices at run time (dlcoder/ops/indexing.py): GATHER_ND and
// ONE_HOT. (GATHER's kernel is in movement.h.)
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

// GATHER_ND: out[s][:] = params[idx[s][0], ..., idx[s][nd - 1]][:] for each of `slices`
// index tuples; a slice has `slice` elements. TFLite fails the invoke on an index outside
// its dimension; generated code has no error path, so such a slice is zero-filled.
struct GatherNdParams {
  int32_t slices;
  int32_t nd;
  int64_t slice;
  int64_t dims[kMaxDims];
  int64_t strides[kMaxDims];
};

template <typename T, typename I>
inline void gather_nd(const GatherNdParams& p, const T* params, const I* idx, T* out) {
  for (int64_t s = 0; s < p.slices; ++s) {
    int64_t from = 0;
    bool inside = true;
    for (int32_t j = 0; j < p.nd; ++j) {
      const int64_t k = static_cast<int64_t>(idx[s * p.nd + j]);
      inside = inside && k >= 0 && k < p.dims[j];
      from += k * p.strides[j];
    }
    T* d = out + s * p.slice;
    if (inside) {
      std::memcpy(d, params + from, sizeof(T) * p.slice);
    } else {
      std::fill(d, d + p.slice, T{});
    }
  }
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
