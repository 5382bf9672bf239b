// Dynamic-range ("hybrid") BATCH_MATMUL: float32 lhs, constant int8 rhs (symmetric, one
// scale), float32 output. As TFLite's batch_matmul.cc EvalHybrid: each row of the lhs (k
// values, after adj_x) is quantized to int8 on its own, asymmetrically or symmetrically as
// the option asymmetric_quantize_inputs says (qhybrid.h, the same quantizer as the hybrid
// FULLY_CONNECTED); its scale times the weights' scale is one float32 factor; then per
// output column j, with the int32 dot product of the quantized row and column j and the
// column's weight sum:
//   total = (int32_t)((float)dot - (float)row_sum[j] * (float)zero_point)   (TFLite's
//           `total -= row_sum * batch_offset` on an int32 with a float batch_offset)
//   y     = 0.0f + factor * (float)total
// No activation. The generator packs the rhs as [rhs matrices][n][k] (each column
// contiguous) and computes the weight sums.
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/qhybrid.h"

namespace dlcoder_rt {

struct HybridBatchMatMulParams {
  int32_t asymmetric;
  float w_scale;
};

// `scratch` holds k floats then k int8 (the gathered lhs row and its quantization).
inline void batch_matmul_hybrid(const BatchMatMulParams& p, const HybridBatchMatMulParams& h,
                                const float* lhs, const int8_t* w, const int32_t* row_sums,
                                float* out, float* scratch) {
  const int64_t batches = batch_count(p);
  const MatMulSteps st(p);
  const int64_t a_i = st.a_i, a_k = st.a_k;
  const int64_t matrix = int64_t{p.k} * p.n;
  float* row = scratch;
  int8_t* q = reinterpret_cast<int8_t*>(scratch + p.k);
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    const int64_t mat = ib / matrix;   // which rhs matrix (its batch strides are whole matrices)
    const int8_t* wm = w + mat * matrix;
    const int32_t* sums = row_sums + mat * p.n;
    for (int32_t i = 0; i < p.m; ++i) {
      const float* a = lhs + ia + i * a_i;
      for (int32_t k = 0; k < p.k; ++k) row[k] = a[k * a_k];
      float s;
      int32_t zp;
      hybrid_quantize(h.asymmetric != 0, row, p.k, q, &s, &zp);
      const float factor = s * h.w_scale;
      const float offset = static_cast<float>(zp);
      float* o = out + io + int64_t{i} * p.ldc;
      for (int32_t j = 0; j < p.n; ++j) {
        const int32_t dot = hybrid_dot(q, wm + int64_t{j} * p.k, p.k);
        const int32_t total = static_cast<int32_t>(static_cast<float>(dot) -
                                                   static_cast<float>(sums[j]) * offset);
        o[j] = 0.0f + factor * static_cast<float>(total);
      }
    }
  }
}

}  // namespace dlcoder_rt
