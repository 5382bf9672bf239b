// Float TRANSPOSE_CONV, one output row at a time as stride-1 convolutions of its phases
// (transpose_conv.h explains the decomposition and the phase table).
//
// NOT a normal header: transpose_conv.h includes it once per ISA, inside the namespace
// where simd.h defined `V`, `kMR` and the GEMM tiles (simd_kernels.h: gemm_block,
// window_a), under that ISA's target.

// Output rows [r0, r1) of the batch * out_h rows. For each phase of the row (px: its
// output columns px, px + stride_w, ...) the pixels go in balanced blocks of about kMR,
// each one GEMM tile reading its windows in place in `src` (the input, or its zero-padded
// copy) and writing every stride_w-th pixel of the row (ldc = stride_w * out_c).
// kRS: in_c as a constant (WindowAK), or 0.
template <int kRS>
inline void transpose_conv(std::integral_constant<int, kRS>, const TransposeConvF32Params& p,
                           const int32_t* phases, const float* src, const float* packed, const float* bias,
                           const int32_t* koff, float* out, int64_t r0, int64_t r1) {
  const int32_t panels = (p.out_c + 15) / 16;
  GemmParams g{};
  g.n = p.out_c;
  g.ldc = p.stride_w * p.out_c;
  g.act = p.act;
  g.post = p.post;
  g.res_act = p.act;
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
    const int32_t* row_phases = phases + (oy % p.stride_h) * p.stride_w * kTConvPhaseInts;
    const int64_t src_row = int64_t{b} * p.src_h + oy / p.stride_h;
    for (int32_t px = 0; px < p.stride_w && px < p.out_w; ++px) {
      const int32_t* ph = row_phases + px * kTConvPhaseInts;
      g.k = ph[kTConvK];
      g.lda = g.k;
      const int32_t count = (p.out_w - px + p.stride_w - 1) / p.stride_w;
      const float* origin = src + ((src_row + ph[kTConvRow]) * p.src_w + ph[kTConvCol]) * p.in_c;
      float* c = out + (r * p.out_w + px) * p.out_c;
      const int32_t blocks = (count + kMR - 1) / kMR;
      int32_t q0 = 0;
      for (int32_t i = 0; i < blocks; ++i) {
        const int32_t n = count / blocks + (i < count % blocks ? 1 : 0);
        gemm_block(g, n, 0, panels, window_a<kRS>(origin + int64_t{q0} * p.in_c, p.in_c, koff + ph[kTConvKoff]),
                   packed + ph[kTConvPacked], bias, c + int64_t{q0} * g.ldc, nullptr);
        q0 += n;
      }
    }
  }
}
