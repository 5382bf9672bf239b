// SELECT / SELECT_V2: out = cond ? x : y with all three operands broadcast to the output.
// The generator resolves every broadcasting rule (numpy-style for SELECT_V2, TFLite's
// rank-1 "pick whole rows along dim 0" condition for SELECT) into per-operand strides
// over the output, collapsed and padded to kMaxDims; the output is written densely.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

struct SelectParams {
  int32_t dims[kMaxDims];
  int32_t cond_strides[kMaxDims];
  int32_t x_strides[kMaxDims];
  int32_t y_strides[kMaxDims];
};

template <typename T>
inline void select(const SelectParams& p, const bool* cond, const T* x, const T* y, T* out) {
  const int32_t* d = p.dims;
  const int32_t* sc = p.cond_strides;
  const int32_t* sx = p.x_strides;
  const int32_t* sy = p.y_strides;
  const int32_t n = d[5];
  int64_t o = 0;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3)
          for (int32_t i4 = 0; i4 < d[4]; ++i4) {
            const int32_t i[5] = {i0, i1, i2, i3, i4};
            int64_t c = 0, a = 0, b = 0;
            for (int k = 0; k < 5; ++k) {
              c += int64_t{i[k]} * sc[k];
              a += int64_t{i[k]} * sx[k];
              b += int64_t{i[k]} * sy[k];
            }
            for (int32_t j = 0; j < n; ++j)
              out[o + j] = cond[c + j * sc[5]] ? x[a + j * sx[5]] : y[b + j * sy[5]];
            o += n;
          }
}

}  // namespace dlcoder_rt
