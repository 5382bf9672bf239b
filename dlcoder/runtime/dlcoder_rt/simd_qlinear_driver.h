// The loops of the quantized CONV_2D, FULLY_CONNECTED and DEPTHWISE_CONV_2D around the
// micro-kernels of one instruction set. Included by simd_qlinear.h inside each
// qsimd::<isa> namespace, under that ISA's target, with `K` naming its micro-kernels
// (A, kAXor, kSignedA, kMR, tile, requant16, dw_block). No include guard: one copy per ISA.

using A = K::A;

// dst[0..n) = src in the kernels' activation domain (simd_qlinear.h).
template <typename Q>
inline void to_a(const Q* src, int32_t n, A* dst) {
  constexpr uint8_t f = kQFlip<Q> ^ K::kAXor;
  for (int32_t i = 0; i < n; ++i) dst[i] = static_cast<A>(static_cast<uint8_t>(static_cast<uint8_t>(src[i]) ^ f));
}

template <int M, typename W, typename Q>
inline void tile_upto(int m, const A* a, int32_t kp, const W* w, const QEpilogue& e, int ch, Q* y, int64_t ldy) {
  if constexpr (M > 1) {
    if (m < M) return tile_upto<M - 1>(m, a, kp, w, e, ch, y, ldy);
  }
  K::tile<M, W, Q>(a, kp, w, e, ch, y, ldy);
}

// rows x out_c outputs (row stride out_c): A rows come from fill(row, dst), kp values each
// (the k tail past the row's values is zeroed here), kQMaxRows of them at a time in `abuf`.
template <typename Q, typename W, typename Fill>
inline void gemm_rows(int64_t rows, int32_t k, const QGemmArgs& g, const W* w, const int32_t* bias_u,
                      const int32_t* bias_s, const int32_t* mult, const int32_t* shift, Q* y, A* abuf,
                      const Fill& fill) {
  static_assert(K::kMR <= kQMaxRows, "the scratch holds kQMaxRows rows");
  const int32_t* bias = K::kSignedA ? bias_s : bias_u;
  const int32_t panels = (g.out_c + kQPanel - 1) / kQPanel;
  for (int64_t r0 = 0; r0 < rows; r0 += K::kMR) {
    const int m = static_cast<int>(std::min<int64_t>(K::kMR, rows - r0));
    for (int i = 0; i < m; ++i) {
      A* dst = abuf + int64_t{i} * g.kp;
      fill(r0 + i, dst);
      for (int32_t j = k; j < g.kp; ++j) dst[j] = 0;
    }
    for (int32_t p = 0; p < panels; ++p) {
      const int32_t c0 = p * kQPanel;
      const QEpilogue e{bias + c0, mult + c0, shift + c0, g.zero_point, g.lo, g.hi};
      tile_upto<K::kMR>(m, abuf, g.kp, w + int64_t{c0} * g.kp, e, std::min(kQPanel, g.out_c - c0),
                        y + r0 * g.out_c + c0, g.out_c);
    }
  }
}

template <typename Q, typename W>
inline void conv2d(const QConvParams& p, const Q* x, const W* w, const int32_t* bias_u, const int32_t* bias_s,
                   const int32_t* mult, const int32_t* shift, Q* y, void* scratch) {
  const int32_t k = p.k_h * p.k_w * p.in_c;
  const QGemmArgs g{(k + kQGroup - 1) / kQGroup * kQGroup, p.out_c, p.out_zp, p.lo, p.hi};
  const bool direct = p.k_h == 1 && p.k_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                      p.pad_left == 0 && p.in_h == p.out_h && p.in_w == p.out_w;
  const A pad = static_cast<A>(static_cast<uint8_t>(static_cast<uint8_t>(p.in_zp) ^ kQFlip<Q> ^ K::kAXor));
  const int64_t rows = int64_t{p.batch} * p.out_h * p.out_w;
  gemm_rows(rows, k, g, w, bias_u, bias_s, mult, shift, y, static_cast<A*>(scratch), [&](int64_t i, A* dst) {
    if (direct) {
      to_a(x + i * p.in_c, p.in_c, dst);
      return;
    }
    const int32_t ox = static_cast<int32_t>(i % p.out_w);
    const int64_t t = i / p.out_w;
    const int32_t oy = static_cast<int32_t>(t % p.out_h);
    const Q* xb = x + (t / p.out_h) * p.in_h * p.in_w * p.in_c;
    for (int32_t ky = 0; ky < p.k_h; ++ky) {
      const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
      for (int32_t kx = 0; kx < p.k_w; ++kx, dst += p.in_c) {
        const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
        if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
          std::fill(dst, dst + p.in_c, pad);
        } else {
          to_a(xb + (int64_t{iy} * p.in_w + ix) * p.in_c, p.in_c, dst);
        }
      }
    }
  });
}

template <typename Q, typename W>
inline void fully_connected(const QFullyConnectedParams& p, const Q* x, const W* w, const int32_t* bias_u,
                            const int32_t* bias_s, const int32_t* mult, const int32_t* shift, Q* y, void* scratch) {
  const QGemmArgs g{(p.k + kQGroup - 1) / kQGroup * kQGroup, p.out_c, p.out_zp, p.lo, p.hi};
  gemm_rows(int64_t{p.rows}, p.k, g, w, bias_u, bias_s, mult, shift, y, static_cast<A*>(scratch),
            [&](int64_t i, A* dst) { to_a(x + i * p.k, p.k, dst); });
}

// Depth multiplier 1 (any other goes to the portable loop of qlinear.h): per output pixel,
// 16 channels at a time over its taps inside the input (padding taps are skipped, as
// TFLite skips them), requantized half up on channels below vec_channels and half away
// from there on.
template <typename Q, typename W>
inline void depthwise(const QDepthwiseParams& p, const Q* x, const W* w, const int32_t* bias,
                      const int32_t* mult, const int32_t* shift, Q* y) {
  constexpr int kChunk = 32;  // taps per call of dw_block
  const int32_t ldw = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        Q* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        const Q* taps[kChunk];
        int32_t tap_w[kChunk];
        for (int32_t c0 = 0; c0 < p.out_c; c0 += kQPanel) {
          const int n = static_cast<int>(std::min(kQPanel, p.out_c - c0));
          alignas(64) int32_t acc[kQPanel];
          std::memcpy(acc, bias + c0, sizeof acc);
          int nt = 0;
          for (int32_t ky = 0; ky < p.k_h; ++ky) {
            const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
            if (iy < 0 || iy >= p.in_h) continue;
            for (int32_t kx = 0; kx < p.k_w; ++kx) {
              const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
              if (ix < 0 || ix >= p.in_w) continue;
              taps[nt] = x + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
              tap_w[nt] = ky * p.k_w + kx;
              if (++nt == kChunk) {
                K::dw_block(nt, taps, tap_w, w, ldw, c0, p.in_zp, acc, n, acc);
                nt = 0;
              }
            }
          }
          if (nt > 0) K::dw_block(nt, taps, tap_w, w, ldw, c0, p.in_zp, acc, n, acc);
          const QEpilogue e{nullptr, mult + c0, shift + c0, p.out_zp, p.lo, p.hi};
          if (c0 + kQPanel <= p.vec_channels) {
            K::requant16(acc, e, n, yp + c0);
          } else {
            for (int c = 0; c < n; ++c) {
              const int32_t oc = c0 + c;
              yp[oc] = oc < p.vec_channels
                           ? requantize<Q, Rounding::kUp>(acc[c], mult[oc], shift[oc], p.out_zp, p.lo, p.hi)
                           : requantize<Q, Rounding::kAway>(acc[c], mult[oc], shift[oc], p.out_zp, p.lo, p.hi);
            }
          }
        }
      }
}
