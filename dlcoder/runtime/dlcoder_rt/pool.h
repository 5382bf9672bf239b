// AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D (NHWC): the SIMD kernel pool2d (simd_pool.h),
// vectorised across channels, for the ISA chosen at run time.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {

template <PoolKind kKind>
inline void pool_f32(const PoolParams& p, const float* in, float* out) {
  DLCODER_RT_DISPATCH(pool2d<kKind>, p, in, out)
}

}  // namespace dlcoder_rt
