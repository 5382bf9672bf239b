// Quantized TRANSPOSE_CONV by output phases (qtransposeconv.h has the decomposition, the
// layout and the entry point): each phase a stride-1 convolution of the input, run as the
// quantized CONV_2D's GEMM (simd_qlinear.h). Included once per instruction set inside the
// qsimd::<isa> namespace that holds that ISA's GEMM driver (simd_qlinear_driver.h: `K`, its
// micro-kernels, the A rows' type `A`, conv_rows, zero_tail, tile_upto), under its target.
// No include guard: qtransposeconv.h includes it once per namespace.

// One output row of a phase: its pixels (every stride_w-th of the row) in blocks of at
// most K::kMR rows, sizes differing by one at most (gemm_rows' split); im2col of the
// phase's taps (the input zero point outside the input), then each panel's tile, which
// adds the folded bias, requantizes and stores every stride_w-th pixel (ldy).
template <typename Q, typename W>
inline void phase_row(const QtcPhase& f, const Q* x, A pad, const W* w, const QRequantArgs& args, int32_t b,
                      int32_t i, Q* yrow, int64_t ldy, A* abuf) {
  const int32_t nx = f.conv.out_w, blocks = (nx + K::kMR - 1) / K::kMR;
  for (int32_t blk = 0; blk < blocks; ++blk) {
    const int32_t j0 = blk * nx / blocks, m = (blk + 1) * nx / blocks - j0;
    if (f.k > 0) conv_rows(f.conv, x, pad, f.kp, (int64_t{b} * f.conv.out_h + i) * nx + j0, m, abuf);
    for (int r = 0; r < m; ++r) zero_tail(abuf + int64_t{r} * f.kp, f.k, f.kp);
    for (int32_t c0 = 0; c0 < f.conv.out_c; c0 += kQPanel)
      tile_upto<K::kMR>(m, abuf, f.kp, w + int64_t{c0} * f.kp, args.panel(c0, K::kSignedA),
                        std::min(kQPanel, f.conv.out_c - c0), yrow + j0 * ldy + c0, ldy);
  }
}

// The whole op (qtc_phase_rows: tasks take phase rows), each task's A rows in its scratch.
template <typename Q, typename W>
inline void transpose_conv_phases(const Parallel& par, const QTransposeConvParams& p, const Q* x, const W* w,
                                  const int32_t* bias_u, const int32_t* bias_s, const int32_t* mult,
                                  const int32_t* shift, Q* y, void* scratch) {
  const A pad = static_cast<A>(static_cast<uint8_t>(static_cast<uint8_t>(p.in_zp) ^ kQFlip<Q> ^ K::kAXor));
  qtc_phase_rows(par, p, w, bias_u, bias_s, mult, shift, y,
                 [&](int32_t t, const QtcPhase& f, const W* wp, const QRequantArgs& args, int32_t b, int32_t i,
                     Q* yrow, int64_t ldy) {
                   phase_row(f, x, pad, wp, args, b, i, yrow, ldy, par.scratch(static_cast<A*>(scratch), t));
                 });
}
