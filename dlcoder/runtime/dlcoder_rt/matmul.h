// FULLY_CONNECTED and BATCH_MATMUL.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/prelu.h"
#include "dlcoder_rt/simd.h"
#include "dlcoder_rt/transpose.h"

namespace dlcoder_rt {

struct FullyConnectedParams {
  int32_t batch, in_depth, out_depth;
  Clamp<float> act;
  UnaryKind post;  // epilogue of the GEMM path (the generator applies it after the others)
  Clamp<float> res_act;  // the clamp of a residual ADD fused into the GEMM path
  Slope slope;  // a fused PRELU / LEAKY_RELU of the GEMM path (params.h)
};

// Constant weights, repacked at generation time to [in_depth][out_depth].
inline void fully_connected_f32(const FullyConnectedParams& p, const float* in,
                                const float* weights_io, const float* bias, float* out) {
  for (int32_t b = 0; b < p.batch; ++b) {
    const float* x = in + int64_t{b} * p.in_depth;
    float* o = out + int64_t{b} * p.out_depth;
    if (bias != nullptr) {
      std::memcpy(o, bias, sizeof(float) * p.out_depth);
    } else {
      std::fill(o, o + p.out_depth, 0.0f);
    }
    for (int32_t i = 0; i < p.in_depth; ++i) {
      const float xi = x[i];
      const float* w = weights_io + int64_t{i} * p.out_depth;
      for (int32_t j = 0; j < p.out_depth; ++j) o[j] += xi * w[j];
    }
    for (int32_t j = 0; j < p.out_depth; ++j) o[j] = clamp(o[j], p.act);
  }
}

// Computed weights in TFLite's layout [out_depth][in_depth].
inline void fully_connected_f32_oi(const FullyConnectedParams& p, const float* in,
                                   const float* weights_oi, const float* bias, float* out) {
  for (int32_t b = 0; b < p.batch; ++b) {
    const float* x = in + int64_t{b} * p.in_depth;
    for (int32_t j = 0; j < p.out_depth; ++j) {
      const float* w = weights_oi + int64_t{j} * p.in_depth;
      float acc = 0.0f;
      for (int32_t i = 0; i < p.in_depth; ++i) acc += x[i] * w[i];
      if (bias != nullptr) acc += bias[j];
      out[int64_t{b} * p.out_depth + j] = clamp(acc, p.act);
    }
  }
}

// Constant weights packed at generation time into GEMM panels (simd_kernels.h), with the
// bias padded to whole panels; packed: floats, or float16 weights (uint16_t; simd_kernels.h:
// load_b).
// res: the other operand of a residual ADD fused into the epilogue (shape of out), or null.
// kDepth: params.h, GemmDepth (here and in batch_matmul_f32_gemm).
template <GemmDepth kDepth = GemmDepth::kShallow, class B>
inline void fully_connected_f32_gemm(const Parallel& par, const FullyConnectedParams& p,
                                     const float* in, const B* packed, const float* bias,
                                     const float* res, float* out) {
  const GemmParams g{p.batch, p.out_depth, p.in_depth, p.in_depth, p.out_depth, p.act, p.post,
                     res, p.out_depth, p.res_act, 0, p.slope, out};
  gemm_f32<kDepth>(par, g, in, packed, bias, out);
}

// B^T ([n][k], stored rows ldb apart: adj_y) into the GEMM's 16-column panels. Row kk of a
// whole panel is column kk of 16 stored rows, so the whole panels are 16 x k transposes
// (transpose.h's tiles: 4x faster than gathering them a float at a time, 2.3 -> 0.57 us for
// a 128 x 64 attention K); the last partial panel gathers with pack_b and zero-pads.
inline void pack_b_transposed_f32(int32_t k, int32_t n, const float* b, int64_t ldb, float* out) {
  const int32_t whole = n / 16;
  transpose_panels16_f32(whole, k, b, ldb, out);
  if (whole * 16 < n) pack_b_f32(k, n - whole * 16, b + int64_t{whole} * 16 * ldb, ldb, true, out + int64_t{whole} * 16 * k);
}

// Both operands computed: each rhs matrix is packed into scratch, then one GEMM; lhs is
// transposed into scratch first when adj_x. An rhs that is not transposed and has whole
// panels (n % 16 == 0) is read in place; an rhs broadcast over consecutive batches (a
// constant, or a batch dim of 1) is packed once for them. Scratch: [ceil(n/16)*16*k unless
// read in place] (+ m*k when adj_x) floats (ops/matmul.py).
template <GemmDepth kDepth = GemmDepth::kShallow>
inline void batch_matmul_f32_gemm(const BatchMatMulParams& p, const float* lhs, const float* rhs,
                                  float* out, float* scratch) {
  const bool in_place = !p.adj_y && p.n % 16 == 0;
  float* packed = scratch;
  float* lhs_t = scratch + (in_place ? 0 : int64_t{(p.n + 15) / 16} * 16 * p.k);
  const Clamp<float> none{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  const GemmParams g{p.m, p.n, p.k, p.adj_x ? p.k : p.lda, p.ldc, none, UnaryKind::kNone, nullptr, 0, none,
                     in_place ? p.ldb : 0, {}, nullptr};
  const int64_t batches = batch_count(p);
  int64_t packed_ib = -1;  // the rhs offset now in `packed`
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    const float* a = lhs + ia;
    const float* b = rhs + ib;
    if (!in_place && ib != packed_ib) {
      if (p.adj_y) {
        pack_b_transposed_f32(p.k, p.n, b, p.ldb, packed);
      } else {
        pack_b_f32(p.k, p.n, b, p.ldb, false, packed);
      }
      packed_ib = ib;
    }
    if (p.adj_x) {
      for (int32_t i = 0; i < p.m; ++i)
        for (int32_t kk = 0; kk < p.k; ++kk) lhs_t[int64_t{i} * p.k + kk] = a[int64_t{kk} * p.lda + i];
      a = lhs_t;
    }
    gemm_f32<kDepth>(g, a, in_place ? b : packed, nullptr, out + io);
  }
}

}  // namespace dlcoder_rt
