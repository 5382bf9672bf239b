// Quantized BATCH_MATMUL of two int8 operands (per-tensor scales and zero points).
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// BATCH_MATMUL of two quantized operands (views as BatchMatMulParams describes them):
// out = requantize(sum_k (a - a_zp) * (b - b_zp)), one multiplier for the whole output.
struct QMatMulParams {
  int32_t a_zp, b_zp, multiplier, shift, out_zp, lo, hi;
};

template <typename Q>
inline void batch_matmul_q(const BatchMatMulParams& p, const QMatMulParams& q, const Q* lhs, const Q* rhs,
                           Q* out) {
  const int64_t batches = batch_count(p);
  const int64_t a_i = p.adj_x ? 1 : p.lda, a_k = p.adj_x ? p.lda : 1;   // element (i, k) of lhs
  const int64_t b_k = p.adj_y ? 1 : p.ldb, b_j = p.adj_y ? p.ldb : 1;   // element (k, j) of rhs
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    for (int32_t i = 0; i < p.m; ++i)
      for (int32_t j = 0; j < p.n; ++j) {
        const Q* a = lhs + ia + i * a_i;
        const Q* b = rhs + ib + j * b_j;
        int32_t acc = 0;
        for (int32_t k = 0; k < p.k; ++k)
          acc += (int32_t{a[k * a_k]} - q.a_zp) * (int32_t{b[k * b_k]} - q.b_zp);
        out[io + int64_t{i} * p.ldc + j] = requantize<Q>(acc, q.multiplier, q.shift, q.out_zp, q.lo, q.hi);
      }
  }
}

}  // namespace dlcoder_rt
