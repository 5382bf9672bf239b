// Quantized TRANSPOSE_CONV by output phases (qtransposeconv.h has the decomposition, the
// layout and the entry point): each phase a stride-1 convolution of the input, run as the
// quantized CONV_2D's GEMM (simd_qlinear.h). Included once per instruction set inside the
// qsimd::<isa> namespace that holds that ISA's GEMM driver (simd_qlinear_driver.h: `K`, its
// micro-kernels, the A rows' type `A`, conv_rows, zero_tail, tile_upto), under its target.
// No include guard: qtransposeconv.h includes it once per namespace.

// The weights of phase `ph`: the panels of the phases before it come first.
template <typename W>
inline const W* phase_weights(const QTransposeConvParams& p, const W* w, int32_t ph, int32_t ocp) {
  for (int32_t q = 0; q < ph; ++q) w += int64_t{ocp} * qtc_phase(p, q / p.stride_w, q % p.stride_w).kp;
  return w;
}

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

// The whole op: tasks take (phase, batch, phase row) units.
template <typename Q, typename W>
inline void transpose_conv_phases(const Parallel& par, const QTransposeConvParams& p, const Q* x, const W* w,
                                  const int32_t* bias_u, const int32_t* bias_s, const int32_t* mult,
                                  const int32_t* shift, Q* y, void* scratch) {
  const int32_t ocp = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  const int32_t rows = (p.out_h + p.stride_h - 1) / p.stride_h;  // the most output rows of a phase
  const int64_t per_phase = int64_t{p.batch} * rows;
  const A pad = static_cast<A>(static_cast<uint8_t>(static_cast<uint8_t>(p.in_zp) ^ kQFlip<Q> ^ K::kAXor));
  const int64_t macs = int64_t{p.batch} * p.in_h * p.in_w * p.k_h * p.k_w * p.in_c * ocp;
  parallel_ranges(par, p.stride_h * p.stride_w * per_phase, macs, [&](int32_t t, int64_t lo, int64_t hi) {
    A* abuf = par.scratch(static_cast<A*>(scratch), t);
    for (int64_t u = lo; u < hi;) {
      const int32_t ph = static_cast<int32_t>(u / per_phase);
      const QtcPhase f = qtc_phase(p, ph / p.stride_w, ph % p.stride_w);
      const W* wp = phase_weights(p, w, ph, ocp);
      const QRequantArgs args{bias_u + int64_t{ph} * ocp, bias_s + int64_t{ph} * ocp, mult, shift,
                              p.out_zp, p.lo, p.hi};
      const int64_t end = std::min(hi, (ph + 1) * per_phase);
      for (; u < end; ++u) {
        const int32_t b = static_cast<int32_t>(u % per_phase / rows), i = static_cast<int32_t>(u % rows);
        if (i >= f.conv.out_h || f.conv.out_w == 0) continue;
        Q* yrow = y + ((int64_t{b} * p.out_h + f.oy0 + int64_t{i} * p.stride_h) * p.out_w + f.ox0) * p.out_c;
        phase_row(f, x, pad, wp, args, b, i, yrow, int64_t{p.stride_w} * p.out_c, abuf);
      }
    }
  });
}
