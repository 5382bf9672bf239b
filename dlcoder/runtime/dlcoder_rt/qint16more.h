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
  const MatMulSteps s(p);
  for_each_matmul_output(p, [&](int64_t a, int64_t b, int64_t o) {
    int64_t acc = 0;
    for (int32_t k = 0; k < p.k; ++k) acc += int64_t{lhs[a + k * s.a_k]} * int64_t{rhs[b + k * s.b_k]};
    out[o] = clamp_i16(multiply_by_quantized_multiplier_i64(acc, q.multiplier, q.shift), -32768, 32767);
  });
}

}  // namespace dlcoder_rt
