// PRELU and LEAKY_RELU over a whole tensor: the standalone ops, and a slope fused into a
// kernel that has no epilogue of its own (ops/_common.py: post_statement).
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/params.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {

// PRELU with alpha broadcast over the trailing dims (Slope, params.h), and LEAKY_RELU (one
// slope): vectorised (simd_kernels.h: slope), split into ranges of whole vectors. The
// output elements [lo, hi) of a range take alpha[i % period] from a vector load: pixels
// outside, channels inside. in may be out (a slope fused into a kernel that has no
// epilogue is applied so, afterwards).
inline void prelu_f32(const Parallel& par, const Slope& s, int64_t n, const float* in, float* out) {
  parallel_ranges(par, (n + 15) / 16, n * kElementMacs, [&](int32_t, int64_t lo, int64_t hi) {
    const int64_t at = lo * 16, end = std::min(hi * 16, n);
    DLCODER_RT_DISPATCH(slope, s, at, end - at, in + at, out + at)
  });
}

}  // namespace dlcoder_rt
