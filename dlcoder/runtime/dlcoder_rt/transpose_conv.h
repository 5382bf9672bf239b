// Float TRANSPOSE_CONV (NHWC) on the GEMM tiles, by sub-pixel decomposition.
//
// An input pixel (iy, ix) adds w[ky][kx] to output (iy * s_h - pad_top + ky, ...). Turned
// around, output row oy = py + s_h * qy (phase py in [0, s_h)) is reached by the taps
// ky = ry + s_h * jy only, ry = (py + pad_top) mod s_h, from input rows
// iy = qy + (py + pad_top) div s_h - jy: for each phase a stride-1 convolution of the input
// with a sub-kernel of ceil((k_h - ry) / s_h) rows, and the same along x. So the output is
// s_h * s_w interleaved stride-1 convolutions, whose taps together are the k_h * k_w of the
// kernel: no multiply by an inserted zero, no scatter-add, and every output written once,
// bias and activation in the GEMM epilogue. A phase with no tap (kernel smaller than the
// stride) is its bias.
//
// The generator (ops/transpose_conv.py) packs each phase's sub-kernel as GEMM panels
// ([(dy, dx, ci)][out_c]) one after the other in `packed`, with the offset of each tap from
// its window's top-left corner in `koff`, and describes the phases in `phases`:
// kTConvPhaseInts ints per phase, row-major over (py, px). Windows that cross the input's
// border read a zero-padded copy of the input (src_h x src_w, the input at
// (pad_top, pad_left)) made in `scratch` first; when no window does, src is the input.
// Threads split the output rows; every output element is computed by one task with the same
// instructions as serially.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {

struct TransposeConvF32Params {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t stride_h, stride_w;
  int32_t src_h, src_w;       // the map the windows read: the input or its padded copy
  int32_t pad_top, pad_left;  // where the input sits in the padded copy
  Clamp<float> act;
  UnaryKind post;
};

// A phase: K (taps * in_c, 0: no tap), the src row and column of output (qy, qx) = (0, 0)'s
// window corner, where its panels start in `packed` and its taps in `koff`.
constexpr int32_t kTConvK = 0, kTConvRow = 1, kTConvCol = 2, kTConvPacked = 3, kTConvKoff = 4;
constexpr int32_t kTConvPhaseInts = 5;

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx2,fma")
namespace avx512 {
#include "dlcoder_rt/simd_transpose_conv.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
namespace avx2 {
#include "dlcoder_rt/simd_transpose_conv.h"
}  // namespace avx2
DLCODER_RT_TARGET_END

namespace sse2 {
#include "dlcoder_rt/simd_transpose_conv.h"
}  // namespace sse2
#endif

#if defined(DLCODER_RT_NEON)
namespace neon {
#include "dlcoder_rt/simd_transpose_conv.h"
}  // namespace neon
#endif

namespace scalar {
#include "dlcoder_rt/simd_transpose_conv.h"
}  // namespace scalar

// Rows [r0, r1) of the padded copy of the batch's images (batch * src_h rows).
inline void transpose_conv_pad_rows(const TransposeConvF32Params& p, const float* in, float* src, int64_t r0,
                                    int64_t r1) {
  const int64_t row = int64_t{p.src_w} * p.in_c, left = int64_t{p.pad_left} * p.in_c;
  const int64_t n = int64_t{p.in_w} * p.in_c;
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t b = static_cast<int32_t>(r / p.src_h), iy = static_cast<int32_t>(r % p.src_h) - p.pad_top;
    float* dst = src + r * row;
    if (iy < 0 || iy >= p.in_h) {
      std::fill(dst, dst + row, 0.0f);
      continue;
    }
    std::fill(dst, dst + left, 0.0f);
    std::memcpy(dst + left, in + (int64_t{b} * p.in_h + iy) * n, sizeof(float) * n);
    std::fill(dst + left + n, dst + row, 0.0f);
  }
}

// scratch: batch * src_h * src_w * in_c floats when src is not the input, else unused.
template <int kRS = 0>  // in_c as a constant (simd_kernels.h: WindowAK), or 0
inline void transpose_conv2d_f32(const Parallel& par, const TransposeConvF32Params& p, const int32_t* phases,
                                 const float* in, const float* packed, const float* bias, const int32_t* koff,
                                 float* out, float* scratch) {
  const float* src = in;
  if (p.src_h != p.in_h || p.src_w != p.in_w) {
    const int64_t rows = int64_t{p.batch} * p.src_h;
    parallel_ranges(par, rows, rows * p.src_w * p.in_c * kElementMacs,
                    [&](int32_t, int64_t r0, int64_t r1) { transpose_conv_pad_rows(p, in, scratch, r0, r1); });
    src = scratch;
  }
  const int64_t rows = int64_t{p.batch} * p.out_h;
  int64_t taps = 0;  // the kernel's k_h * k_w * in_c, summed over the phases
  for (int32_t i = 0; i < p.stride_h * p.stride_w; ++i) taps += phases[i * kTConvPhaseInts + kTConvK];
  const int64_t macs = rows * p.out_w * p.out_c * taps / (int64_t{p.stride_h} * p.stride_w);
  parallel_ranges(par, rows, macs, [&](int32_t, int64_t r0, int64_t r1) {
    DLCODER_RT_DISPATCH(transpose_conv, std::integral_constant<int, kRS>{}, p, phases, src, packed, bias, koff, out,
                        r0, r1)
  });
}

}  // namespace dlcoder_rt
