// The loops of the quantized CONV_2D, FULLY_CONNECTED and DEPTHWISE_CONV_2D around the
// micro-kernels of one instruction set. Included by simd_qlinear.h inside each
// qsimd::<isa> namespace, under that ISA's target, with `K` naming its micro-kernels
// (A, kAXor, kSignedA, kMR, tile). No include guard: one copy per ISA.

using A = K::A;

// dst[i] = src[i] ^ f8's byte for the whole blocks of 32 bytes of [0, n), as four 64-bit
// xors (which the compiler makes one or two vector xors); returns the end of those blocks.
template <typename Q>
inline int32_t xor_copy32(const Q* src, int32_t n, A* dst, uint64_t f8) {
  int32_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t v[4];
    std::memcpy(v, src + i, 32);
    v[0] ^= f8;
    v[1] ^= f8;
    v[2] ^= f8;
    v[3] ^= f8;
    std::memcpy(dst + i, v, 32);
  }
  return i;
}

// dst[0..n) = src in the kernels' activation domain (simd_qlinear.h); byte domains as
// they are (a copy) where the domains agree, else 32 values at a time as four 64-bit xors
// (which the compiler makes one or two vector xors), then 8 at a time as one.
template <typename Q>
inline void to_a(const Q* src, int32_t n, A* dst) {
  constexpr uint8_t f = kQFlip<Q> ^ K::kAXor;
  int32_t i = 0;
  if constexpr (sizeof(A) == 1 && f == 0) {
    std::memcpy(dst, src, static_cast<size_t>(n));
    return;
  }
  if constexpr (sizeof(A) == 1) {
    constexpr uint64_t f8 = uint64_t{f} * 0x0101010101010101u;
    i = xor_copy32(src, n, dst, f8);
    for (; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, src + i, 8);
      v ^= f8;
      std::memcpy(dst + i, &v, 8);
    }
  }
  for (; i < n; ++i) dst[i] = static_cast<A>(static_cast<uint8_t>(static_cast<uint8_t>(src[i]) ^ f));
}

// row[k..kp) = 0: a tail of at most 3 by single stores (no call to memset, and no read
// of the bytes just written, which would wait for their stores).
inline void zero_tail(A* row, int32_t k, int32_t kp) {
  if (kp - k < kQGroup) {
#pragma GCC unroll 3
    for (int32_t j = 0; j < kQGroup - 1; ++j)
      if (k + j < kp) row[k + j] = A{0};
  } else {
    std::fill(row + k, row + kp, A{0});
  }
}

template <int M, typename W, typename E, typename Y>
inline void tile_upto(int m, const A* a, int32_t kp, const W* w, const E& e, int ch, Y* y, int64_t ldy) {
  if constexpr (M > 1) {
    if (m < M) return tile_upto<M - 1>(m, a, kp, w, e, ch, y, ldy);
  }
  K::template tile<M, W>(a, kp, w, e, ch, y, ldy);
}

// rows x out_c outputs (row stride out_c): A rows come from fill(r0, m, dst), which writes
// the k values of rows [r0, r0 + m) at dst (row stride kp; the k tail past them is zeroed
// here, after it), kQMaxRows of them at a time in the task's scratch. The panels go in
// balanced chunks of at most kQChunkBytes of weights, each chunk past every row block
// before the next (the A rows filled again per chunk): the weights are then read from L3
// or memory once and from L2 by the other row blocks, instead of every row block streaming
// all of them from L3 (a 128x768x3072 FC: 2.4 MB, 11 times), which leaves such GEMMs at the
// mercy of other cores' use of L3 (the op grid saw 80% of the vpdpbusd peak there, 98%
// alone). Alone, unchanged: 128x768x3072 1.35 ms, 128x3072x768 1.32 ms. The rows split into
// the least number of blocks of at most kMR rows, their sizes differing by one at most (49
// rows: 10, 10, 10, 10, 9, not 12, 12, 12, 12, 1, whose one-row tile streams the whole
// weights for one row). Tasks take blocks, or panels when there are fewer blocks than
// threads; every output is computed the same way whatever the split. `args`: the epilogue (QRequantArgs, or
// QFloatArgs for float outputs).
template <typename Y, typename W, typename Args, typename Fill>
inline void gemm_rows(const Parallel& par, int64_t rows, int32_t k, const QGemmArgs& g, const W* w, const Args& args,
                      Y* y, A* scratch, const Fill& fill) {
  static_assert(K::kMR <= kQMaxRows, "the scratch holds kQMaxRows rows");
  const int32_t panels = (g.out_c + kQPanel - 1) / kQPanel;
  const int64_t blocks = (rows + K::kMR - 1) / K::kMR;
  const bool by_rows = blocks >= par.threads;
  parallel_ranges(par, by_rows ? blocks : panels, rows * g.kp * g.out_c, [&](int32_t t, int64_t lo, int64_t hi) {
    A* abuf = par.scratch(scratch, t);
    const int64_t b0 = by_rows ? lo : 0, b1 = by_rows ? hi : blocks;
    const int32_t p0 = by_rows ? 0 : static_cast<int32_t>(lo), p1 = by_rows ? panels : static_cast<int32_t>(hi);
    const int64_t fit = kQChunkBytes / (int64_t{g.kp} * kQPanel * sizeof(W)), most = std::max<int64_t>(fit, 1);
    const int32_t chunks = static_cast<int32_t>((p1 - p0 + most - 1) / most);
    for (int32_t ci = 0; ci < chunks; ++ci) {
      const int32_t q0 = p0 + (p1 - p0) * ci / chunks, q1 = p0 + (p1 - p0) * (ci + 1) / chunks;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r0 = b * rows / blocks;
        const int m = static_cast<int>((b + 1) * rows / blocks - r0);
        fill(r0, m, abuf);
        for (int i = 0; i < m && k < g.kp; ++i) zero_tail(abuf + int64_t{i} * g.kp, k, g.kp);
        for (int32_t p = q0; p < q1; ++p) {
          const int32_t c0 = p * kQPanel;
          const auto e = args.panel(c0, K::kSignedA);
          tile_upto<K::kMR>(m, abuf, g.kp, w + int64_t{c0} * g.kp, e, std::min(kQPanel, g.out_c - c0),
                            y + r0 * g.out_c + c0, g.out_c);
        }
      }
    }
  });
}

// dst[0..n) = src in the kernels' domain. Byte domains: 32 values at a time within n, then
// 8 at a time as one 64-bit xor while the 8 neither read past src_end nor write past dst_end (what lands past
// dst + n is overwritten by the caller's next run), the rest by to_a; int16 domains: to_a.
template <typename Q>
inline void to_a_wide(const Q* src, int32_t n, A* dst, const Q* src_end, const A* dst_end) {
  int32_t i = 0;
  if constexpr (sizeof(A) == 1) {
    constexpr uint64_t f = uint64_t{kQFlip<Q> ^ K::kAXor} * 0x0101010101010101u;
    i = xor_copy32(src, n, dst, f);
    for (; i < n && src + i + 8 <= src_end && dst + i + 8 <= dst_end; i += 8) {
      uint64_t v;
      std::memcpy(&v, src + i, 8);
      v ^= f;
      std::memcpy(dst + i, &v, 8);
    }
  }
  if (i < n) to_a(src + i, n - i, dst + i);
}

// to_a_wide for the short runs of a conv's tap rows (a 3x3 stem's 9 bytes): up to 16 bytes
// as two 64-bit xors where the 16 stay within src_end and dst_end.
template <typename Q>
inline void to_a_run(const Q* src, int32_t n, A* dst, const Q* src_end, const A* dst_end) {
  if constexpr (sizeof(A) == 1) {
    if (n <= 16 && src + 16 <= src_end && dst + 16 <= dst_end) {
      constexpr uint64_t f = uint64_t{kQFlip<Q> ^ K::kAXor} * 0x0101010101010101u;
      uint64_t v[2];
      std::memcpy(v, src, 16);
      v[0] ^= f;
      v[1] ^= f;
      std::memcpy(dst, v, 16);
      return;
    }
  }
  to_a_wide(src, n, dst, src_end, dst_end);
}

// conv_rows' general case: the tap rows of the window at (y0, x0) of the image at xb, the
// columns inside [kx0, kx1) (dilation 1), at dst.
template <typename Q>
inline void conv_row(const QConvParams& p, const Q* xb, A pad, int32_t y0, int32_t x0, int32_t kx0, int32_t kx1,
                     A* dst, const Q* x_end, const A* buf_end) {
  const int32_t run = p.k_w * p.in_c;
  for (int32_t ky = 0; ky < p.k_h; ++ky, dst += run) {
    const int32_t iy = y0 + ky * p.dil_h;
    if (iy < 0 || iy >= p.in_h) {
      std::fill(dst, dst + run, pad);
      continue;
    }
    const Q* row = xb + int64_t{iy} * p.in_w * p.in_c;
    if (p.dil_w == 1) {
      if (kx0 > 0) std::fill(dst, dst + kx0 * p.in_c, pad);
      to_a_run(row + int64_t{x0 + kx0} * p.in_c, (kx1 - kx0) * p.in_c, dst + kx0 * p.in_c, x_end, buf_end);
      if (kx1 < p.k_w) std::fill(dst + kx1 * p.in_c, dst + run, pad);
    } else {
      for (int32_t kx = 0; kx < p.k_w; ++kx) {
        const int32_t ix = x0 + kx * p.dil_w;
        if (ix < 0 || ix >= p.in_w) {
          std::fill(dst + kx * p.in_c, dst + (kx + 1) * p.in_c, pad);
        } else {
          to_a(row + int64_t{ix} * p.in_c, p.in_c, dst + kx * p.in_c);
        }
      }
    }
  }
}

// 16 values of a byte domain: two 64-bit xors (which the compiler makes one vector xor).
template <typename Q>
inline void to_a16(const Q* src, A* dst) {
  constexpr uint64_t f = uint64_t{kQFlip<Q> ^ K::kAXor} * 0x0101010101010101u;
  uint64_t v[2];
  std::memcpy(v, src, 16);
  v[0] ^= f;
  v[1] ^= f;
  std::memcpy(dst, v, 16);
}

// The im2col rows of output pixels [r0, r0 + m), k_h * k_w * in_c taps each (row stride
// kp), in the kernels' domain; `pad` (in_zp's value) where a tap lies outside the input.
// A window inside the input whose tap rows are 16 bytes or less (a stem's 3 x 3 taps of 3
// channels, 9 bytes) takes one 16-byte copy per tap row, in order, each writing past its
// row what the next one (or the next pixel's, or the k tail's zeros) overwrites, while the
// 16 bytes stay within the input and the buffer. Other windows with a dilation of 1: a tap
// row is three runs: padding, the columns inside (to_a_wide), padding, written in that
// order; with others, tap by tap.
template <typename Q>
inline void conv_rows(const QConvParams& params, const Q* x, A pad, int32_t kp, int64_t r0, int m, A* buf) {
  const QConvParams p = params;  // a local copy: the stores below may alias `params`
  const Q* x_end = x + int64_t{p.batch} * p.in_h * p.in_w * p.in_c;
  const A* buf_end = buf + int64_t{m} * kp;
  const int32_t run = p.k_w * p.in_c;
  const int64_t step = int64_t{p.dil_h} * p.in_w * p.in_c;  // from a tap row to the next
  const bool short_runs = sizeof(A) == 1 && p.dil_w == 1 && run <= 16;
  const int64_t t = r0 / p.out_w;
  int32_t ox = static_cast<int32_t>(r0 % p.out_w), oy = static_cast<int32_t>(t % p.out_h);
  const Q* xb = x + (t / p.out_h) * p.in_h * p.in_w * p.in_c;
  for (int i = 0; i < m; ++i) {
    A* dst = buf + int64_t{i} * kp;
    const int32_t y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
    const int32_t kx0 = std::min(p.k_w, std::max(0, -x0));            // the columns inside:
    const int32_t kx1 = std::max(kx0, std::min(p.k_w, p.in_w - x0));  // [kx0, kx1) (dilation 1)
    const bool inside = short_runs && kx0 == 0 && kx1 == p.k_w && y0 >= 0 && y0 + (p.k_h - 1) * p.dil_h < p.in_h;
    const Q* src = inside ? xb + (int64_t{y0} * p.in_w + x0) * p.in_c : x;
    if (inside && src + (p.k_h - 1) * step + 16 <= x_end && dst + (p.k_h - 1) * run + 16 <= buf_end) {
      for (int32_t ky = 0; ky < p.k_h; ++ky) to_a16(src + ky * step, dst + ky * run);
    } else {
      conv_row(p, xb, pad, y0, x0, kx0, kx1, dst, x_end, buf_end);
    }
    if (++ox == p.out_w) {
      ox = 0;
      if (++oy == p.out_h) {
        oy = 0;
        xb += int64_t{p.in_h} * p.in_w * p.in_c;
      }
    }
  }
}

// `args`: the epilogue, QRequantArgs (y of Q) or QFloatArgs (y of float).
template <typename Q, typename W, typename Args, typename Y>
inline void conv2d(const Parallel& par, const QConvParams& p, const Q* x, const W* w, const Args& args, Y* y,
                   void* scratch) {
  const int32_t k = p.k_h * p.k_w * p.in_c;
  const QGemmArgs g{qgemm_kp(k), p.out_c};
  const bool direct = p.k_h == 1 && p.k_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                      p.pad_left == 0 && p.in_h == p.out_h && p.in_w == p.out_w;
  const A pad = static_cast<A>(static_cast<uint8_t>(static_cast<uint8_t>(p.in_zp) ^ kQFlip<Q> ^ K::kAXor));
  const int64_t rows = int64_t{p.batch} * p.out_h * p.out_w;
  gemm_rows(par, rows, k, g, w, args, y, static_cast<A*>(scratch), [&](int64_t r0, int m, A* dst) {
    if (direct && g.kp == k) {  // the m rows are one run of the input
      to_a(x + r0 * k, m * k, dst);
    } else if (direct) {
      for (int i = 0; i < m; ++i) to_a(x + (r0 + i) * p.in_c, p.in_c, dst + int64_t{i} * g.kp);
    } else {
      conv_rows(p, x, pad, g.kp, r0, m, dst);
    }
  });
}

template <typename Q, typename W, typename Args, typename Y>
inline void fully_connected(const Parallel& par, const QFullyConnectedParams& p, const Q* x, const W* w,
                            const Args& args, Y* y, void* scratch) {
  const QGemmArgs g{qgemm_kp(p.k), p.out_c};
  gemm_rows(par, int64_t{p.rows}, p.k, g, w, args, y, static_cast<A*>(scratch),
            [&](int64_t r0, int m, A* dst) {
              if (g.kp == p.k) return to_a(x + r0 * p.k, m * p.k, dst);  // one run of the input
              for (int i = 0; i < m; ++i) to_a(x + (r0 + i) * p.k, p.k, dst + int64_t{i} * g.kp);
            });
}
