// SIMD kernels, written once against the vector traits `V` (see simd.h).
//
// NOT a normal header: simd.h includes it once per ISA, inside a namespace that defines
// `V` (the traits), `VNarrow` (8-float traits, or V), `kMR` (rows of the GEMM tile) and
// `kNP` (16-column panels per tile), under that ISA's target pragma.
// It must not include anything itself; simd_math.h comes before it. Every kernel is a
// template (at least over a dummy `kLazy`) so that a model instantiates, for each ISA, only
// the kernels it calls. Kernels get raw pointers and params; every packed-weight layout here
// is ISA independent, so the generator can pack once.

// ---- GEMM ------------------------------------------------------------------------------
// How a tile reads A[r][kk]: a dense matrix (rows `lda` apart), or the input of a
// convolution read in place ("implicit GEMM"): row r is an output pixel `rs` floats after
// the previous one, and kk a filter tap at offset koff[kk] from the pixel's window origin.
struct DenseA {
  const float* a;
  int64_t lda;
  const float* row(int r) const { return a + r * lda; }
  int64_t col(int32_t kk) const { return kk; }
};
struct WindowA {
  const float* a;
  int64_t rs;
  const int32_t* koff;
  const float* row(int r) const { return a + r * rs; }
  int64_t col(int32_t kk) const { return koff[kk]; }
};

// One tile: MR rows of A times NP 16-column panels of B, with bias and clamp fused. The
// NP panels are `panel_stride` floats apart; the bias is padded to whole panels. A fused
// residual ADD (res: the tile's rows of the other operand, `p.ldr` apart, or null) is added
// after the clamp and clamped with the ADD's own activation; the generator fuses it only
// where there is no `post`.
template <int MR, int NP, class A>
inline void gemm_tile(const GemmParams& p, A a, const float* b, int64_t panel_stride, const float* bias,
                      float* c, int32_t cols, const float* res) {
  const int32_t k = p.k, ldc = p.ldc;
  const int64_t kstep = p.ldb != 0 ? p.ldb : 16;  // floats between B's rows kk and kk + 1
  constexpr int RP = 16 / V::N;   // registers per panel row
  constexpr int R = RP * NP;      // registers per tile row
  typename V::T acc[MR][R];
  const float* rows[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    rows[r] = a.row(r);
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) acc[r][j] = bias != nullptr ? V::load(bias + j * V::N) : V::zero();
  }
  for (int32_t kk = 0; kk < k; ++kk) {
    const int64_t col = a.col(kk);
    typename V::T bv[R];
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) bv[j] = V::load(b + (j / RP) * panel_stride + kk * kstep + (j % RP) * V::N);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const typename V::T av = V::set1(rows[r][col]);
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) acc[r][j] = V::fma(av, bv[j], acc[r][j]);
    }
  }
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  if (res != nullptr) {
    const typename V::T rlo = V::set1(p.res_act.lo), rhi = V::set1(p.res_act.hi);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) {
        const float* rp = res + r * p.ldr + j * V::N;
        float* dst = c + int64_t{r} * ldc + j * V::N;
        const typename V::T v = V::min(hi, V::max(lo, acc[r][j]));
        if (cols >= (j + 1) * V::N) {
          V::store(dst, V::min(rhi, V::max(rlo, V::add(v, V::load(rp)))));
        } else if (cols > j * V::N) {
          V::storen(dst, V::min(rhi, V::max(rlo, V::add(v, V::loadn(rp, cols - j * V::N)))), cols - j * V::N);
        }
      }
    }
    return;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) {
      const typename V::T v = V::min(hi, V::max(lo, acc[r][j]));
      float* dst = c + int64_t{r} * ldc + j * V::N;
      if (cols >= (j + 1) * V::N) {
        V::store(dst, v);
      } else if (cols > j * V::N) {
        V::storen(dst, v, cols - j * V::N);
      }
    }
  }
  // the fused activation, on the tile just stored (in L1); done per tile rather than per
  // register so that its code does not evict the accumulators
  if (p.post != UnaryKind::kNone) {
    const int32_t n = cols < NP * 16 ? cols : NP * 16;
    for (int r = 0; r < MR; ++r) unary(p.post, n, c + int64_t{r} * ldc, c + int64_t{r} * ldc);
  }
}

// Rows [0, MR) of C times the panels [p0, p1) of B: two panels at a time where the ISA has
// the registers for it (kNP), then one. res: the residual's rows for C's (or null).
template <int MR, class A>
inline void gemm_rows(const GemmParams& p, int32_t p0, int32_t p1, A a, const float* b,
                      const float* bias, float* c, const float* res) {
  const int64_t stride = p.ldb != 0 ? 16 : int64_t{p.k} * 16;  // between panels
  int32_t q = p0;
  for (; kNP == 2 && q + 2 <= p1; q += 2) {
    gemm_tile<MR, kNP == 2 ? 2 : 1>(p, a, b + q * stride, stride, bias == nullptr ? nullptr : bias + q * 16,
                                    c + q * 16, p.n - q * 16, res == nullptr ? nullptr : res + q * 16);
  }
  for (; q < p1; ++q) {
    gemm_tile<MR, 1>(p, a, b + q * stride, stride, bias == nullptr ? nullptr : bias + q * 16,
                     c + q * 16, p.n - q * 16, res == nullptr ? nullptr : res + q * 16);
  }
}

// Rows [0, rows) of C (rows <= kMR) times the panels [p0, p1).
template <class A>
inline void gemm_block(const GemmParams& p, int32_t rows, int32_t p0, int32_t p1, A a,
                       const float* b, const float* bias, float* c, const float* res) {
  switch (rows) {
#define DLCODER_RT_GEMM_CASE(R) \
  case R:                       \
    if (R <= kMR) gemm_rows<(R <= kMR ? R : 1), A>(p, p0, p1, a, b, bias, c, res); \
    return;
    DLCODER_RT_GEMM_CASE(12) DLCODER_RT_GEMM_CASE(11) DLCODER_RT_GEMM_CASE(10)
    DLCODER_RT_GEMM_CASE(9) DLCODER_RT_GEMM_CASE(8) DLCODER_RT_GEMM_CASE(7)
    DLCODER_RT_GEMM_CASE(6) DLCODER_RT_GEMM_CASE(5) DLCODER_RT_GEMM_CASE(4)
    DLCODER_RT_GEMM_CASE(3) DLCODER_RT_GEMM_CASE(2) DLCODER_RT_GEMM_CASE(1)
#undef DLCODER_RT_GEMM_CASE
    default:
      return;
  }
}

// C = act(A B + bias) (then + residual, see gemm_tile). Columns go in chunks whose packed B fits in about 256 KB (L2), and
// within a chunk rows go in blocks of about kMR, balanced so that no block is a sliver:
// each B chunk is read from memory once, each A block stays in L1 across the chunk.
template <int kLazy = 0>  // instantiated only where used
inline void gemm(const GemmParams& p, const float* a, const float* b, const float* bias, float* c) {
  const int32_t panels = (p.n + 15) / 16;
  int32_t chunk = static_cast<int32_t>((256 * 1024) / (int64_t{p.k} * 16 * 4));
  chunk = chunk < 2 ? 2 : chunk;
  const int32_t blocks = (p.m + kMR - 1) / kMR;
  for (int32_t p0 = 0; p0 < panels; p0 += chunk) {
    const int32_t p1 = p0 + chunk < panels ? p0 + chunk : panels;
    int32_t m0 = 0;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t rows = p.m / blocks + (i < p.m % blocks ? 1 : 0);
      gemm_block(p, rows, p0, p1, DenseA{a + int64_t{m0} * p.lda, p.lda}, b, bias, c + int64_t{m0} * p.ldc,
                 p.res == nullptr ? nullptr : p.res + int64_t{m0} * p.ldr);
      m0 += rows;
    }
  }
}

// Packs a row-major B[k][n] (or B^T, [n][k], when transposed) into 16-column panels.
template <int kLazy = 0>  // instantiated only where used
inline void pack_b(int32_t k, int32_t n, const float* b, bool transposed, float* out) {
  for (int32_t n0 = 0; n0 < n; n0 += 16) {
    const int32_t cols = n - n0 < 16 ? n - n0 : 16;
    float* panel = out + int64_t{n0} * k;
    for (int32_t kk = 0; kk < k; ++kk) {
      float* dst = panel + int64_t{kk} * 16;
      for (int32_t j = 0; j < cols; ++j)
        dst[j] = transposed ? b[int64_t{n0 + j} * k + kk] : b[int64_t{kk} * n + n0 + j];
      for (int32_t j = cols; j < 16; ++j) dst[j] = 0.0f;
    }
  }
}

// The k_h input rows of output row r's window (r counts rows over the batch), each
// zero-padded to `band_width(p)` pixels, into band ([k_h][width][in_c]): every output pixel
// of the row then reads its whole window in place, tap (ky, kx, ci) at offset
// (ky * width + kx * dil_w) * in_c + ci from its origin (ops/conv.py: band_koff).
inline int32_t band_width(const ConvParams& p) { return (p.out_w - 1) * p.stride_w + (p.k_w - 1) * p.dil_w + 1; }

template <int kLazy = 0>  // instantiated only where used
inline void fill_band(const ConvParams& p, const float* in, int64_t r, float* band) {
  const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
  const int32_t width = band_width(p);
  const int64_t in_row = int64_t{p.in_w} * p.in_c, row = int64_t{width} * p.in_c;
  // columns [left, left + n) of a padded row hold the input, the rest zeros
  const int32_t left = p.pad_left < width ? p.pad_left : width;
  const int32_t n = width - left < p.in_w ? width - left : p.in_w;
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
    float* dst = band + ky * row;
    if (iy < 0 || iy >= p.in_h) {
      std::fill(dst, dst + row, 0.0f);
      continue;
    }
    std::fill(dst, dst + int64_t{left} * p.in_c, 0.0f);
    std::memcpy(dst + int64_t{left} * p.in_c, in + (int64_t{b} * p.in_h + iy) * in_row, sizeof(float) * n * p.in_c);
    std::fill(dst + int64_t{left + n} * p.in_c, dst + row, 0.0f);
  }
}

// Convolution as implicit GEMM: an output pixel whose window lies inside the input reads
// its taps in place (WindowA, tap offsets koff from the generator), a run of up to kMR such
// pixels along an output row being one tile. Pixels whose window crosses the padding are
// gathered with their zeros into `scratch` ([kMR][k_h * k_w * in_c]) first. With band_koff
// (the generator's choice for short rows, where border pixels would be a large share of
// one-pixel tiles), every row goes through a padded band instead (fill_band; scratch then
// also holds k_h * band_width * in_c floats). Computes output rows [r0, r1) of the
// batch * out_h rows.
template <int kLazy = 0>  // instantiated only where used
inline void conv2d_implicit(const ConvParams& p, const float* in, const float* packed,
                            const float* bias, const int32_t* koff, const int32_t* band_koff,
                            const float* res, float* out, float* scratch, int64_t r0, int64_t r1) {
  const int32_t kdim = p.k_h * p.k_w * p.in_c;
  const int32_t panels = (p.out_c + 15) / 16;
  const GemmParams g{0, p.out_c, kdim, kdim, p.out_c, p.act, p.post, nullptr, p.out_c, p.res_act};
  // the residual's bytes for output pixel (row r, column x)
  auto res_at = [&](int64_t r, int32_t x) { return res == nullptr ? nullptr : res + (r * p.out_w + x) * p.out_c; };
  if (band_koff != nullptr) {
    // short rows with padding: each row's window rows padded into a band, then the whole
    // row in balanced blocks of about kMR pixels, border pixels included
    const int32_t blocks = (p.out_w + kMR - 1) / kMR;
    for (int64_t r = r0; r < r1; ++r) {
      fill_band(p, in, r, scratch);
      int32_t x0 = 0;
      for (int32_t i = 0; i < blocks; ++i) {
        const int32_t n = p.out_w / blocks + (i < p.out_w % blocks ? 1 : 0);
        gemm_block(g, n, 0, panels, WindowA{scratch + int64_t{x0} * p.stride_w * p.in_c, int64_t{p.stride_w} * p.in_c, band_koff},
                   packed, bias, out + (r * p.out_w + x0) * p.out_c, res_at(r, x0));
        x0 += n;
      }
    }
    return;
  }
  // output x range whose window is inside the row
  int32_t x_lo = (p.pad_left + p.stride_w - 1) / p.stride_w;
  const int32_t span = p.in_w - 1 - (p.k_w - 1) * p.dil_w + p.pad_left;
  int32_t x_hi = span < 0 ? 0 : span / p.stride_w + 1;
  if (x_hi > p.out_w) x_hi = p.out_w;
  if (x_lo > x_hi) x_lo = x_hi;
  auto gathered = [&](int64_t r, int32_t b, int32_t oy, int32_t x0, int32_t x1, float* out_row) {
    for (int32_t s0 = x0; s0 < x1; s0 += kMR) {
      const int32_t n = x1 - s0 < kMR ? x1 - s0 : kMR;
      for (int32_t r = 0; r < n; ++r) {
        float* row = scratch + int64_t{r} * kdim;
        const int32_t ox = s0 + r;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            float* dst = row + (int64_t{ky} * p.k_w + kx) * p.in_c;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
              for (int32_t c = 0; c < p.in_c; ++c) dst[c] = 0.0f;
            } else {
              const float* src = in + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
              for (int32_t c = 0; c < p.in_c; ++c) dst[c] = src[c];
            }
          }
        }
      }
      gemm_block(g, n, 0, panels, DenseA{scratch, kdim}, packed, bias, out_row + int64_t{s0} * p.out_c,
                 res_at(r, s0));
    }
  };
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
    float* out_row = out + r * p.out_w * p.out_c;
    const int32_t iy0 = oy * p.stride_h - p.pad_top;
    if (iy0 < 0 || iy0 + (p.k_h - 1) * p.dil_h >= p.in_h || x_lo >= x_hi) {
      gathered(r, b, oy, 0, p.out_w, out_row);
      continue;
    }
    gathered(r, b, oy, 0, x_lo, out_row);
    const int32_t count = x_hi - x_lo, blocks = (count + kMR - 1) / kMR;
    int32_t x0 = x_lo;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t n = count / blocks + (i < count % blocks ? 1 : 0);
      const float* origin = in + ((int64_t{b} * p.in_h + iy0) * p.in_w + (x0 * p.stride_w - p.pad_left)) * p.in_c;
      gemm_block(g, n, 0, panels, WindowA{origin, int64_t{p.stride_w} * p.in_c, koff}, packed, bias,
                 out_row + int64_t{x0} * p.out_c, res_at(r, x0));
      x0 += n;
    }
    gathered(r, b, oy, x_hi, p.out_w, out_row);
  }
}

// ---- convolution with few output channels ---------------------------------------------
// A conv whose output channels fit in one partial panel (out_c < 16) would leave most
// lanes of a 16-column GEMM tile idle. Here a tile row is only the R = ceil(out_c / W::N)
// registers the channels need, W being the ISA's 8-float vector type (VNarrow) when
// out_c fits in it, else V; where that frees registers, a tile takes more pixels. The input
// rows of an output row's window are first copied, with their zero padding, into scratch
// ([k_h][width][in_c], koff: tap offsets in it), so that every pixel reads its window in
// place and no border pixel is gathered alone into a short, latency-bound tile. Taps are
// added in the same order, zeros included, as in conv2d_implicit: the same results.
//
// One tile: MR pixels (output rows `cols` floats apart) times the `cols` < 16 columns of
// one panel, in R registers of W.
template <class W, int MR, int R>
inline void narrow_tile(int32_t k, WindowA a, const float* b, const float* bias, float* c, int32_t cols,
                        Clamp<float> act) {
  typename W::T acc[MR][R];
  const float* rows[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    rows[r] = a.row(r);
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) acc[r][j] = bias != nullptr ? W::load(bias + j * W::N) : W::zero();
  }
  for (int32_t kk = 0; kk < k; ++kk) {
    const int64_t col = a.col(kk);
    typename W::T bv[R];
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) bv[j] = W::load(b + int64_t{kk} * 16 + j * W::N);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const typename W::T av = W::set1(rows[r][col]);
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) acc[r][j] = W::fma(av, bv[j], acc[r][j]);
    }
  }
  const typename W::T lo = W::set1(act.lo), hi = W::set1(act.hi);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) {
      const typename W::T v = W::min(hi, W::max(lo, acc[r][j]));
      float* dst = c + int64_t{r} * cols + j * W::N;
      if (cols >= (j + 1) * W::N) {
        W::store(dst, v);
      } else {
        W::storen(dst, v, cols - j * W::N);
      }
    }
  }
}

// Output rows [r0, r1) of the batch * out_h rows.
template <int kOC>  // out_c, < 16
inline void conv2d_narrow(const ConvParams& p, const float* in, const float* packed, const float* bias,
                          const int32_t* koff, float* out, float* scratch, int64_t r0, int64_t r1) {
  using W = std::conditional_t<kOC <= VNarrow::N, VNarrow, V>;
  constexpr int R = (kOC + W::N - 1) / W::N;
  constexpr int kRegs = kMR * kNP * (16 / V::N);  // accumulators the GEMM tile holds
  constexpr int MR = kRegs / R < 12 ? kRegs / R : 12;
  const int32_t kdim = p.k_h * p.k_w * p.in_c;
  for (int64_t r = r0; r < r1; ++r) {
    fill_band(p, in, r, scratch);
    float* out_row = out + r * p.out_w * kOC;
    const int32_t blocks = (p.out_w + MR - 1) / MR;
    int32_t x0 = 0;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t rows = p.out_w / blocks + (i < p.out_w % blocks ? 1 : 0);
      const WindowA a{scratch + int64_t{x0} * p.stride_w * p.in_c, int64_t{p.stride_w} * p.in_c, koff};
      float* c = out_row + int64_t{x0} * kOC;
      switch (rows) {
#define DLCODER_RT_NARROW_CASE(M) \
  case M:                         \
    if (M <= MR) narrow_tile<W, (M <= MR ? M : 1), R>(kdim, a, packed, bias, c, kOC, p.act); \
    break;
        DLCODER_RT_NARROW_CASE(12) DLCODER_RT_NARROW_CASE(11) DLCODER_RT_NARROW_CASE(10)
        DLCODER_RT_NARROW_CASE(9) DLCODER_RT_NARROW_CASE(8) DLCODER_RT_NARROW_CASE(7)
        DLCODER_RT_NARROW_CASE(6) DLCODER_RT_NARROW_CASE(5) DLCODER_RT_NARROW_CASE(4)
        DLCODER_RT_NARROW_CASE(3) DLCODER_RT_NARROW_CASE(2) DLCODER_RT_NARROW_CASE(1)
#undef DLCODER_RT_NARROW_CASE
        default:
          break;
      }
      x0 += rows;
    }
    // the fused activation, on the row just written (still in L1)
    if (p.post != UnaryKind::kNone) unary(p.post, int64_t{p.out_w} * kOC, out_row, out_row);
  }
}

// ---- depthwise convolution -----------------------------------------------------------
// Channels are the vector dimension. For each output row the input rows of the window are
// resolved once (null when they fall into the padding). The interior of a row (every tap
// inside the input) runs a fully unrolled KHxKW kernel with the taps in registers and four
// pixels at a time, so four independent FMA chains hide the FMA latency; a partial channel
// block (nc < V::N: few channels, or the tail) does the same with masked loads and stores
// (kFull false). The border pixels and unusual kernel sizes take dwconv_pixel. Every
// path adds the taps in the same (ky, kx) order, so they agree bit for bit.
template <int KH, int KW, bool kFull>
inline void dwconv_interior(const DepthwiseParams& p, const float* const* rows, const float* filter,
                            typename V::T b0, float* out_row, int32_t c0, int32_t nc, int32_t x_lo,
                            int32_t x_hi) {
  auto load = [nc](const float* src) { return kFull ? V::load(src) : V::loadn(src, nc); };
  auto store = [nc](float* dst, typename V::T v) {
    if (kFull) {
      V::store(dst, v);
    } else {
      V::storen(dst, v, nc);
    }
  };
  const int32_t c_all = p.out_c;
  typename V::T w[KH * KW];
#pragma GCC unroll 25
  for (int t = 0; t < KH * KW; ++t) w[t] = load(filter + int64_t{t} * c_all + c0);
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  const int64_t step = int64_t{p.stride_w} * p.in_c, dil = int64_t{p.dil_w} * p.in_c;
  int32_t ox = x_lo;
  for (; ox + 4 <= x_hi; ox += 4) {
    const int64_t base = int64_t{ox * p.stride_w - p.pad_left} * p.in_c + c0;
    typename V::T acc[4] = {b0, b0, b0, b0};
#pragma GCC unroll 5
    for (int ky = 0; ky < KH; ++ky) {
      const float* r = rows[ky] + base;
#pragma GCC unroll 5
      for (int kx = 0; kx < KW; ++kx) {
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) acc[q] = V::fma(load(r + q * step + kx * dil), w[ky * KW + kx], acc[q]);
      }
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) store(out_row + int64_t{ox + q} * c_all + c0, V::min(hi, V::max(lo, acc[q])));
  }
  for (; ox < x_hi; ++ox) {
    const int64_t base = int64_t{ox * p.stride_w - p.pad_left} * p.in_c + c0;
    typename V::T acc = b0;
#pragma GCC unroll 5
    for (int ky = 0; ky < KH; ++ky)
#pragma GCC unroll 5
      for (int kx = 0; kx < KW; ++kx) acc = V::fma(load(rows[ky] + base + kx * dil), w[ky * KW + kx], acc);
    store(out_row + int64_t{ox} * c_all + c0, V::min(hi, V::max(lo, acc)));
  }
}

// The interior of one channel block for a KHxKW kernel, full or masked.
template <int KH, int KW>
inline void dwconv_interior_block(const DepthwiseParams& p, const float* const* rows, const float* filter,
                                  typename V::T b0, float* out_row, int32_t c0, int32_t nc, int32_t x_lo,
                                  int32_t x_hi) {
  if (nc == V::N) {
    dwconv_interior<KH, KW, true>(p, rows, filter, b0, out_row, c0, nc, x_lo, x_hi);
  } else {
    dwconv_interior<KH, KW, false>(p, rows, filter, b0, out_row, c0, nc, x_lo, x_hi);
  }
}

// One output pixel, all channels, with its window clipped to the input: the border
// pixels, and every pixel of unusual kernel sizes. Four channel blocks at a time, so that
// four independent FMA chains hide the FMA latency; taps in the same (ky, kx) order.
template <int kLazy = 0>  // instantiated only where used
inline void dwconv_pixel(const DepthwiseParams& p, const float* const* rows, const float* filter,
                         const float* bias, float* out_row, int32_t ox) {
  constexpr int kQ = 4;
  const int32_t ix0 = ox * p.stride_w - p.pad_left;
  int32_t kx_lo = 0, kx_hi = p.k_w;  // taps inside the row
  while (kx_lo < p.k_w && ix0 + kx_lo * p.dil_w < 0) ++kx_lo;
  while (kx_hi > kx_lo && ix0 + (kx_hi - 1) * p.dil_w >= p.in_w) --kx_hi;
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  float* dst = out_row + int64_t{ox} * p.out_c;
  for (int32_t c0 = 0; c0 < p.out_c; c0 += kQ * V::N) {
    int32_t nc[kQ];
    typename V::T acc[kQ];
#pragma GCC unroll 4
    for (int q = 0; q < kQ; ++q) {
      const int32_t left = p.out_c - c0 - q * V::N;
      nc[q] = left < V::N ? left : V::N;
      acc[q] = bias == nullptr || nc[q] <= 0 ? V::zero()
               : nc[q] == V::N ? V::load(bias + c0 + q * V::N) : V::loadn(bias + c0 + q * V::N, nc[q]);
    }
    for (int32_t ky = 0; ky < p.k_h; ++ky) {
      if (rows[ky] == nullptr) continue;
      for (int32_t kx = kx_lo; kx < kx_hi; ++kx) {
        const float* src = rows[ky] + int64_t{ix0 + kx * p.dil_w} * p.in_c + c0;
        const float* wp = filter + (int64_t{ky} * p.k_w + kx) * p.out_c + c0;
#pragma GCC unroll 4
        for (int q = 0; q < kQ; ++q) {
          if (nc[q] == V::N) {
            acc[q] = V::fma(V::load(src + q * V::N), V::load(wp + q * V::N), acc[q]);
          } else if (nc[q] > 0) {
            acc[q] = V::fma(V::loadn(src + q * V::N, nc[q]), V::loadn(wp + q * V::N, nc[q]), acc[q]);
          }
        }
      }
    }
#pragma GCC unroll 4
    for (int q = 0; q < kQ; ++q) {
      const typename V::T v = V::min(hi, V::max(lo, acc[q]));
      if (nc[q] == V::N) {
        V::store(dst + c0 + q * V::N, v);
      } else if (nc[q] > 0) {
        V::storen(dst + c0 + q * V::N, v, nc[q]);
      }
    }
  }
}

// One output row from the k_h input rows of its window (null where they fall into the
// padding).
template <int kLazy = 0>  // instantiated only where used
inline void dwconv_row_at(const DepthwiseParams& p, const float* const* rows, const float* filter,
                          const float* bias, float* out_row) {
  // the rows inside the input, [ky_lo, ky_hi): rows of padding can only be at either end, and
  // a row near the top or bottom runs the unrolled kernel on the rows it has (a 5x5 kernel
  // with 3 rows present is a 3x5 one), which adds the same taps in the same order
  int32_t ky_lo = 0, ky_hi = p.k_h;
  while (ky_lo < p.k_h && rows[ky_lo] == nullptr) ++ky_lo;
  while (ky_hi > ky_lo && rows[ky_hi - 1] == nullptr) --ky_hi;
  bool all_rows = ky_hi > ky_lo;
  for (int32_t ky = ky_lo; ky < ky_hi; ++ky) all_rows = all_rows && rows[ky] != nullptr;
  const int32_t kh = ky_hi - ky_lo;
  const float* const* live = rows + ky_lo;
  const float* live_filter = filter + int64_t{ky_lo} * p.k_w * p.out_c;
  // output x range whose taps all lie inside the row
  int32_t x_lo = (p.pad_left + p.stride_w - 1) / p.stride_w;
  int32_t x_hi = (p.in_w - 1 - (p.k_w - 1) * p.dil_w + p.pad_left) / p.stride_w + 1;
  if (p.in_w - 1 - (p.k_w - 1) * p.dil_w + p.pad_left < 0) x_hi = 0;
  if (x_hi > p.out_w) x_hi = p.out_w;
  if (x_lo > x_hi) x_lo = x_hi;
  const bool k3 = p.k_h == 3 && p.k_w == 3, k5 = p.k_h == 5 && p.k_w == 5;
  const bool fast = all_rows && (k3 || k5);
  const int32_t lo = fast ? x_lo : p.out_w, hi = fast ? x_hi : p.out_w;
  for (int32_t ox = 0; ox < lo; ++ox) dwconv_pixel(p, rows, filter, bias, out_row, ox);
  for (int32_t ox = hi; ox < p.out_w; ++ox) dwconv_pixel(p, rows, filter, bias, out_row, ox);
  for (int32_t c0 = 0; fast && c0 < p.out_c; c0 += V::N) {
    const int32_t nc = p.out_c - c0 < V::N ? p.out_c - c0 : V::N;
    const typename V::T b0 = bias == nullptr ? V::zero() : (nc == V::N ? V::load(bias + c0) : V::loadn(bias + c0, nc));
    switch ((k3 ? 0 : 8) + kh) {
#define DLCODER_RT_DW_CASE(C, KH, KW) \
  case C:                              \
    dwconv_interior_block<KH, KW>(p, live, live_filter, b0, out_row, c0, nc, x_lo, x_hi); \
    break;
      DLCODER_RT_DW_CASE(1, 1, 3) DLCODER_RT_DW_CASE(2, 2, 3) DLCODER_RT_DW_CASE(3, 3, 3)
      DLCODER_RT_DW_CASE(9, 1, 5) DLCODER_RT_DW_CASE(10, 2, 5) DLCODER_RT_DW_CASE(11, 3, 5)
      DLCODER_RT_DW_CASE(12, 4, 5) DLCODER_RT_DW_CASE(13, 5, 5)
#undef DLCODER_RT_DW_CASE
      default:
        break;
    }
  }
  // the fused activation, on the row just written (still in cache)
  if (p.post != UnaryKind::kNone) unary(p.post, int64_t{p.out_w} * p.out_c, out_row, out_row);
}

// depth_multiplier == 1 only (in_c == out_c). Output rows [r0, r1) of the batch * out_h rows.
// rows: the k_h input rows of the window (kernels of height > 64 take the scalar kernel).
template <int kLazy = 0>  // instantiated only where used
inline void depthwise_conv2d(const DepthwiseParams& p, const float* in, const float* filter,
                             const float* bias, float* out, int64_t r0, int64_t r1) {
  const float* rows[64];
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
    const float* in_b = in + int64_t{b} * p.in_h * p.in_w * p.in_c;
    for (int32_t ky = 0; ky < p.k_h; ++ky) {
      const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
      rows[ky] = (iy >= 0 && iy < p.in_h) ? in_b + int64_t{iy} * p.in_w * p.in_c : nullptr;
    }
    dwconv_row_at(p, rows, filter, bias, out + r * p.out_w * p.out_c);
  }
}

// ---- pooling -------------------------------------------------------------------------
// Channels are the vector dimension, masked (kFull false) for a partial block. Windows are
// clipped to the input: padded positions are neither counted nor compared, as in TFLite.
// Every lane adds (or compares) its window in (ky, kx) order and an average divides the
// sum by the count, as TFLite's reference kernel does, so results match it bit for bit;
// V::max(x, acc) is std::max(acc, x) (x only if x > acc).
template <PoolKind kKind, bool kFull>
inline void pool_block(const PoolParams& p, const float* win, int32_t kh, int32_t kw,
                       typename V::T count, float* o, int32_t nc) {
  const int32_t c = p.channels;
  typename V::T acc = kKind == PoolKind::kMax ? V::set1(std::numeric_limits<float>::lowest()) : V::zero();
  for (int32_t ky = 0; ky < kh; ++ky) {
    const float* x = win + int64_t{ky} * p.in_w * c;
    for (int32_t kx = 0; kx < kw; ++kx, x += c) {
      const typename V::T v = kFull ? V::load(x) : V::loadn(x, nc);
      if (kKind == PoolKind::kMax) {
        acc = V::max(v, acc);
      } else if (kKind == PoolKind::kAverage) {
        acc = V::add(acc, v);
      } else {
        acc = V::add(acc, V::mul(v, v));
      }
    }
  }
  if (kKind == PoolKind::kAverage) acc = V::div(acc, count);
  if (kKind == PoolKind::kL2) acc = V::sqrt(V::div(acc, count));
  acc = V::min(V::set1(p.act.hi), V::max(V::set1(p.act.lo), acc));
  if (kFull) {
    V::store(o, acc);
  } else {
    V::storen(o, acc, nc);
  }
}

template <PoolKind kKind>
inline void pool2d(const PoolParams& p, const float* in, float* out) {
  const int32_t c = p.channels;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const int32_t ky0 = y0 < 0 ? -y0 : 0, ky1 = p.k_h < p.in_h - y0 ? p.k_h : p.in_h - y0;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = p.k_w < p.in_w - x0 ? p.k_w : p.in_w - x0;
        const float* win = in + ((int64_t{b} * p.in_h + y0 + ky0) * p.in_w + x0 + kx0) * c;
        float* o = out + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * c;
        const typename V::T count = V::set1(static_cast<float>((ky1 - ky0) * (kx1 - kx0)));
        int32_t c0 = 0;
        for (; c0 + V::N <= c; c0 += V::N)
          pool_block<kKind, true>(p, win + c0, ky1 - ky0, kx1 - kx0, count, o + c0, V::N);
        if (c0 < c) pool_block<kKind, false>(p, win + c0, ky1 - ky0, kx1 - kx0, count, o + c0, c - c0);
      }
    }
  }
}

// ---- depthwise convolution between 1x1 convolutions ----------------------------------
// An inverted-residual block is 1x1 expand -> depthwise -> 1x1 project, and the tensors
// between them are the block's largest. Here the depthwise conv runs `steps.rows` output
// rows at a time with either 1x1 conv fused (pw: expand, pj: project; each may be null):
// - with pw, the expanded rows a step needs are computed by the GEMM kernel into a ring of
//   `steps.slots` rows (row iy in slot iy % slots) as they are first needed, each once:
//   rows advance monotonically and a step's window (dilation 1) spans at most `slots`
//   rows, so a row is overwritten only once no later step needs it. Rows that are
//   contiguous in the ring are expanded by one GEMM call;
// - with pj, the step's depthwise rows go to a buffer and are projected by one GEMM call,
//   adding the rows of `res` if a residual ADD is fused (else res is null).
// Several rows per step keep the GEMMs' row count near a few whole tiles when the rows are
// short (14 or 7 pixels late in a network). The generator picks `steps` and sizes scratch:
// [pw ? slots * dw.in_w * dw.in_c : 0] + [pj ? rows * dw.out_w * dw.out_c : 0] floats.
// Computes output rows [r0, r1) of the batch * out_h rows; a range that starts mid-image
// recomputes the expanded rows its first window needs.
template <int kLazy = 0>  // instantiated only where used
inline void conv_chain(const ConvParams* pw, const DepthwiseParams& dw, const ConvParams* pj,
                       const float* in, const float* pw_packed, const float* pw_bias,
                       const float* dw_filter, const float* dw_bias, const float* pj_packed,
                       const float* pj_bias, const float* res, float* out, float* scratch,
                       ChainSteps steps, int64_t r0, int64_t r1) {
  const int64_t in_row = int64_t{dw.in_w} * dw.in_c, dw_row = int64_t{dw.out_w} * dw.out_c;
  float* ring = scratch;
  float* dw_buf = scratch + (pw != nullptr ? steps.slots * in_row : 0);
  GemmParams gpw = pw != nullptr ? GemmParams{pw->out_w, pw->out_c, pw->in_c, pw->in_c, pw->out_c, pw->act, pw->post}
                                 : GemmParams{};
  GemmParams gpj = pj != nullptr ? GemmParams{pj->out_w, pj->out_c, pj->in_c, pj->in_c, pj->out_c, pj->act, pj->post,
                                              nullptr, pj->out_c, pj->res_act}
                                 : GemmParams{};
  const int64_t x_row = pw != nullptr ? int64_t{pw->in_w} * pw->in_c : in_row;
  const int64_t out_row = pj != nullptr ? int64_t{pj->out_w} * pj->out_c : dw_row;
  int32_t held[kMaxChainSlots];
  const float* rows[64];
  int32_t held_b = -1;  // the image whose rows the ring holds
  for (int64_t r = r0; r < r1;) {
    const int32_t b = static_cast<int32_t>(r / dw.out_h), oy = static_cast<int32_t>(r % dw.out_h);
    int32_t n = steps.rows < dw.out_h - oy ? steps.rows : dw.out_h - oy;
    if (n > r1 - r) n = static_cast<int32_t>(r1 - r);
    if (b != held_b) {
      for (int32_t s = 0; s < steps.slots; ++s) held[s] = -1;
      held_b = b;
    }
    const float* in_b = in + int64_t{b} * dw.in_h * x_row;
    if (pw != nullptr) {
      // expand the rows of this step's window that the ring lacks, a contiguous run at a time
      int32_t lo = oy * dw.stride_h - dw.pad_top, hi = (oy + n - 1) * dw.stride_h - dw.pad_top + dw.k_h - 1;
      lo = lo < 0 ? 0 : lo;
      hi = hi >= dw.in_h ? dw.in_h - 1 : hi;
      for (int32_t iy = lo; iy <= hi;) {
        if (held[iy % steps.slots] == iy) {
          ++iy;
          continue;
        }
        int32_t end = iy + 1;  // the run [iy, end): missing rows in consecutive slots
        while (end <= hi && held[end % steps.slots] != end && end % steps.slots != 0) ++end;
        gpw.m = (end - iy) * pw->out_w;
        gemm(gpw, in_b + iy * x_row, pw_packed, pw_bias, ring + (iy % steps.slots) * in_row);
        for (int32_t y = iy; y < end; ++y) held[y % steps.slots] = y;
        iy = end;
      }
    }
    for (int32_t q = 0; q < n; ++q) {
      for (int32_t ky = 0; ky < dw.k_h; ++ky) {
        const int32_t iy = (oy + q) * dw.stride_h - dw.pad_top + ky * dw.dil_h;
        if (iy < 0 || iy >= dw.in_h) {
          rows[ky] = nullptr;
        } else {
          rows[ky] = pw == nullptr ? in_b + iy * x_row : ring + (iy % steps.slots) * in_row;
        }
      }
      dwconv_row_at(dw, rows, dw_filter, dw_bias, pj == nullptr ? out + (r + q) * out_row : dw_buf + q * dw_row);
    }
    if (pj != nullptr) {
      gpj.m = n * pj->out_w;
      gpj.res = res == nullptr ? nullptr : res + r * out_row;
      gemm(gpj, dw_buf, pj_packed, pj_bias, out + r * out_row);
    }
    r += n;
  }
}
