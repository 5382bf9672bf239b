// int16x8 kernels beyond qint16.h: RSQRT and GELU through TFLite's 513-entry int16 tables
// (LUTPopulate<int16_t> in float, computed by the generator; looked up as LUTLookup does),
// and int16 x int16 -> int16 BATCH_MATMUL (TFLite's reference BatchMatMul<int16_t,
// int64_t>: exact int64 sums, requantized by the int64 MultiplyByQuantizedMultiplier).
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/qint16.h"

namespace dlcoder_rt {

// y[i] = the table's interpolated value at x[i] (zero points 0).
inline void lut_q16(int64_t n, const int16_t* x, int16_t* y, const int16_t* lut) {
  for (int64_t i = 0; i < n; ++i) y[i] = lut_lookup_q16(x[i], lut);
}

struct Q16MatMulParams {
  int32_t multiplier, shift;
};

// BATCH_MATMUL of int16 operands (zero points 0) to int16: per output element the int64 sum
// of products, scaled by multiply_by_quantized_multiplier_i64, saturated to int16 (no fused
// activation).
inline void batch_matmul_q16(const BatchMatMulParams& p, const Q16MatMulParams& q, const int16_t* lhs,
                             const int16_t* rhs, int16_t* out) {
  const int64_t batches = batch_count(p);
  const int64_t a_i = p.adj_x ? 1 : p.lda, a_k = p.adj_x ? p.lda : 1;   // element (i, k) of lhs
  const int64_t b_k = p.adj_y ? 1 : p.ldb, b_j = p.adj_y ? p.ldb : 1;   // element (k, j) of rhs
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    for (int32_t i = 0; i < p.m; ++i)
      for (int32_t j = 0; j < p.n; ++j) {
        const int16_t* a = lhs + ia + i * a_i;
        const int16_t* b = rhs + ib + j * b_j;
        int64_t acc = 0;
        for (int32_t k = 0; k < p.k; ++k) acc += int64_t{a[k * a_k]} * int64_t{b[k * b_k]};
        const int32_t v = multiply_by_quantized_multiplier_i64(acc, q.multiplier, q.shift);
        out[io + int64_t{i} * p.ldc + j] = clamp_i16(v, -32768, 32767);
      }
  }
}

}  // namespace dlcoder_rt
