// DLCODER_ADD_CHANNEL_PAD: an ADD with a PAD of zeros along the channels folded into it
// (passes/fold_channel_pad.py), for the ISA chosen at run time (simd_channel_pad.h).
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {

// out[p][i] = act(a[p][i] + x[p][i - lo]) for lo <= i < lo + cx, act(a[p][i] + 0.0f) for
// the other channels i < c; pixels p < pixels, a and out [pixels][c], x [pixels][cx].
inline void add_channel_pad_f32(const Parallel& par, int64_t pixels, int32_t c, int32_t cx, int32_t lo,
                                const float* a, const float* x, float* out, Clamp<float> act) {
  parallel_ranges(par, pixels, pixels * c * kElementMacs, [&](int32_t, int64_t p0, int64_t p1) {
    DLCODER_RT_DISPATCH(add_channel_pad, a, x, out, c, cx, lo, act, p0, p1)
  });
}

}  // namespace dlcoder_rt
