// ---- Winograd F(4x4, 3x3) convolution ---------------------------------------------------
// NOT a normal header: simd.h includes it once per ISA, after simd_kernels.h (see there).
//
// A 3x3 stride-1 convolution computed on 4x4 output tiles, each from a 6x6 input window:
// Y = A^T [ (G g G^T) . (B^T d B) ] A, with Lavin and Gray's matrices for the points 0, +-1,
// +-2. The elementwise product summed over input channels is 36 GEMMs, one per position e
// of the 6x6 transformed tile: [tiles][in_c] x [in_c][out_c]. That is 36 multiply-adds per
// 16 outputs and input channel instead of 144.
//
// Tiles go in blocks (at most `block`, from the generator). Per block: the input
// transform of its tiles (V, [36][block][in_c]); then per group of 16 * kNP output
// channels and per chunk of kWinoChunk input channels: that chunk's filter transform (U,
// [36][panels][chunk][16], the GEMM's packed B layout; recomputed per block so that no
// transformed copy of the filter is stored or kept) and the 36 GEMMs that add into M
// ([36][block][group]); then the output transform with bias, clamp, fused epilogue or
// residual. The filter is [ceil(out_c / 32)][in_c][3][3][32]
// (wino_filter).

// B^T d for one column (or row) of a 6x6 window.
template <class T>
inline void wino_bt(const T (&d)[6], T (&o)[6]) {
  o[0] = V::fma(V::set1(4.0f), d[0], V::fma(V::set1(-5.0f), d[2], d[4]));
  o[1] = V::fma(V::set1(-4.0f), V::add(d[1], d[2]), V::add(d[3], d[4]));
  o[2] = V::fma(V::set1(4.0f), V::sub(d[1], d[2]), V::sub(d[4], d[3]));
  o[3] = V::fma(V::set1(2.0f), V::sub(d[3], d[1]), V::sub(d[4], d[2]));
  o[4] = V::fma(V::set1(2.0f), V::sub(d[1], d[3]), V::sub(d[4], d[2]));
  o[5] = V::fma(V::set1(4.0f), d[1], V::fma(V::set1(-5.0f), d[3], d[5]));
}

// A^T m: 4 outputs from 6 transformed values.
template <class T>
inline void wino_at(const T (&m)[6], T (&o)[4]) {
  const T s12 = V::add(m[1], m[2]), d12 = V::sub(m[1], m[2]);
  const T s34 = V::add(m[3], m[4]), d34 = V::sub(m[3], m[4]);
  o[0] = V::add(V::add(m[0], s12), s34);
  o[1] = V::fma(V::set1(2.0f), d34, d12);
  o[2] = V::fma(V::set1(4.0f), s34, s12);
  o[3] = V::add(V::fma(V::set1(8.0f), d34, d12), m[5]);
}

// G w: 6 values from 3 filter taps.
template <class T>
inline void wino_g(const T (&w)[3], T (&o)[6]) {
  const T s02 = V::add(w[0], w[2]);
  o[0] = V::mul(V::set1(0.25f), w[0]);
  o[1] = V::mul(V::set1(-1.0f / 6.0f), V::add(s02, w[1]));
  o[2] = V::mul(V::set1(-1.0f / 6.0f), V::sub(s02, w[1]));
  const T q = V::fma(V::set1(1.0f / 24.0f), w[0], V::mul(V::set1(1.0f / 6.0f), w[2]));
  o[3] = V::fma(V::set1(1.0f / 12.0f), w[1], q);
  o[4] = V::fma(V::set1(-1.0f / 12.0f), w[1], q);
  o[5] = w[2];
}

// Output pixel (b, oy, ox) of tile t, tiles_w tiles per row and tiles_h per image.
struct WinoTile {
  int32_t b, oy, ox;
};
inline WinoTile wino_tile(const ConvParams& p, int64_t t) {
  const int32_t tiles_w = (p.out_w + 3) / 4, tiles_h = (p.out_h + 3) / 4;
  const int64_t per_image = int64_t{tiles_h} * tiles_w;
  const int32_t r = static_cast<int32_t>(t % per_image);
  return {static_cast<int32_t>(t / per_image), r / tiles_w * 4, r % tiles_w * 4};
}

// B^T d, column by column, for one vector of channels of the 6x6 window at (y0, x0) of
// `image`: r[ky][kx]. kInside: the window lies wholly inside the input (no bounds checks,
// loops unrolled); otherwise taps outside it are zero and `cn` channels are read.
template <bool kInside>
inline void wino_input_cols(const ConvParams& p, const float* image, int32_t y0, int32_t x0, int32_t c, int cn,
                            typename V::T (&r)[6][6]) {
  using T = typename V::T;
  const int64_t row = int64_t{p.in_w} * p.in_c;
#pragma GCC unroll 6
  for (int kx = 0; kx < 6; ++kx) {
    const int32_t x = x0 + kx;
    T d[6];
#pragma GCC unroll 6
    for (int ky = 0; ky < 6; ++ky) {
      const int32_t y = y0 + ky;
      const float* src = image + y * row + int64_t{x} * p.in_c + c;
      if (kInside) {
        d[ky] = V::load(src);
      } else {
        d[ky] = y >= 0 && y < p.in_h && x >= 0 && x < p.in_w ? (cn == V::N ? V::load(src) : V::loadn(src, cn))
                                                             : V::zero();
      }
    }
    T col[6];
    wino_bt(d, col);
#pragma GCC unroll 6
    for (int ky = 0; ky < 6; ++ky) r[ky][kx] = col[ky];
  }
}

// V[e][i][c] for the tiles [t0, t0 + n) (i = t - t0), zero outside the input.
template <int kLazy = 0>
inline void wino_input(const ConvParams& p, const float* in, int64_t t0, int32_t n, float* v) {
  using T = typename V::T;
  const int32_t C = p.in_c;
  const int64_t vs = wino_rows_stride(n, C);
  for (int32_t i = 0; i < n; ++i) {
    const WinoTile tile = wino_tile(p, t0 + i);
    const int32_t y0 = tile.oy - p.pad_top, x0 = tile.ox - p.pad_left;
    const bool inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= p.in_h && x0 + 6 <= p.in_w;
    const float* image = in + int64_t{tile.b} * p.in_h * p.in_w * C;
    float* dst = v + int64_t{i} * C;
    for (int32_t c = 0; c < C; c += V::N) {
      const int cn = C - c < V::N ? C - c : V::N;
      T r[6][6];
      if (inside && cn == V::N) {
        wino_input_cols<true>(p, image, y0, x0, c, cn, r);
      } else {
        wino_input_cols<false>(p, image, y0, x0, c, cn, r);
      }
#pragma GCC unroll 6
      for (int ky = 0; ky < 6; ++ky) {
        T row[6];
        wino_bt(r[ky], row);
#pragma GCC unroll 6
        for (int kx = 0; kx < 6; ++kx) {
          if (cn == V::N) {
            V::store(dst + (ky * 6 + kx) * vs + c, row[kx]);
          } else {
            V::storen(dst + (ky * 6 + kx) * vs + c, row[kx], cn);
          }
        }
      }
    }
  }
}

// U for the input channels [c0, c0 + kc) and the output channels [o0, o0 + 16 * panels):
// position e's GEMM operand, panels [panels][kc][16], starts at u + e * wino_u_stride
// (params.h, with wino_rows_stride). The filter comes in groups of kWinoMaxGroup output
// channels, zero padded, [out_c / 32][in_c][3][3][32], so that a group's taps are read in
// order.
template <int kLazy = 0>
inline void wino_filter(const ConvParams& p, const float* filter, int32_t c0, int32_t kc, int32_t o0,
                        int32_t panels, float* u) {
  using T = typename V::T;
  const int64_t stride = wino_u_stride(panels, kc);
  const float* group = filter + int64_t{o0 / kWinoMaxGroup} * p.in_c * 9 * kWinoMaxGroup;
  for (int32_t c = c0; c < c0 + kc; ++c) {
    // The filter streams from memory (a network's weights do not stay in cache) while each
    // channel's taps take long to transform: ask for the taps a few channels ahead.
    if (c + kWinoPrefetch < c0 + kc) {
      const char* ahead = reinterpret_cast<const char*>(group + int64_t{c + kWinoPrefetch} * 9 * kWinoMaxGroup);
      for (int32_t b = 0; b < 9 * kWinoMaxGroup * 4; b += 64) prefetch(ahead + b);
    }
    for (int32_t q = 0; q < panels; ++q) {
#pragma GCC unroll 4
      for (int32_t j = 0; j < 16; j += V::N) {
        const int32_t o = o0 % kWinoMaxGroup + q * 16 + j;
        const float* src = group + int64_t{c} * 9 * kWinoMaxGroup + o;
        T gw[6][3];  // G w over ky, for each kx
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; ++kx) {
          const T tap[3] = {V::load(src + kx * kWinoMaxGroup), V::load(src + (3 + kx) * kWinoMaxGroup),
                            V::load(src + (6 + kx) * kWinoMaxGroup)};
          T col[6];
          wino_g(tap, col);
#pragma GCC unroll 6
          for (int a = 0; a < 6; ++a) gw[a][kx] = col[a];
        }
        float* dst = u + (int64_t{q} * kc + c - c0) * 16 + j;
#pragma GCC unroll 6
        for (int a = 0; a < 6; ++a) {
          T row[6];
          wino_g(gw[a], row);
#pragma GCC unroll 6
          for (int b = 0; b < 6; ++b) V::store(dst + (a * 6 + b) * stride, row[b]);
        }
      }
    }
  }
}

// One vector of a tile's outputs: bias, clamp, fused epilogue (post, slope) or residual, store.
template <int kLazy = 0>
inline void wino_store(const ConvParams& p, typename V::T val, typename V::T bv, const float* res, float* out,
                       int64_t at, int cn) {
  using T = typename V::T;
  val = V::min(V::set1(p.act.hi), V::max(V::set1(p.act.lo), V::add(val, bv)));
  if (p.post != UnaryKind::kNone) val = unary_op(p.post, val);
  if (p.slope.period != 0) {  // a fused PRELU / LEAKY_RELU: output element `at`'s slopes
    const float* alpha = p.slope.alpha == nullptr ? nullptr : p.slope.alpha + at % p.slope.period;
    const T a = alpha == nullptr ? V::set1(p.slope.value) : cn == V::N ? V::load(alpha) : V::loadn(alpha, cn);
    val = V::select_gt(V::zero(), val, V::mul(val, a), val);
  }
  if (res != nullptr) {
    const T r = cn == V::N ? V::load(res + at) : V::loadn(res + at, cn);
    val = V::min(V::set1(p.res_act.hi), V::max(V::set1(p.res_act.lo), V::add(val, r)));
  }
  if (cn == V::N) {
    V::store(out + at, val);
  } else {
    V::storen(out + at, val, cn);
  }
}

// Y for the tiles [t0, t0 + n) and output channels [o0, o0 + cols) from M[e][i][ldm].
template <int kLazy = 0>
inline void wino_output(const ConvParams& p, const float* m, int64_t t0, int32_t n, int32_t ldm,
                        int32_t o0, int32_t cols, const float* bias, const float* res, float* out) {
  using T = typename V::T;
  const int32_t O = p.out_c;
  const int64_t ms = wino_rows_stride(n, ldm);
  for (int32_t i = 0; i < n; ++i) {
    const WinoTile tile = wino_tile(p, t0 + i);
    const bool inside = tile.oy + 4 <= p.out_h && tile.ox + 4 <= p.out_w;
    const int64_t at0 = ((int64_t{tile.b} * p.out_h + tile.oy) * p.out_w + tile.ox) * O + o0;
    for (int32_t j = 0; j < cols; j += V::N) {
      const int cn = cols - j < V::N ? cols - j : V::N;
      T s[4][6];  // A^T over rows, for each column b
#pragma GCC unroll 6
      for (int b = 0; b < 6; ++b) {
        T col[6];
#pragma GCC unroll 6
        for (int a = 0; a < 6; ++a) col[a] = V::load(m + (a * 6 + b) * ms + int64_t{i} * ldm + j);
        T o[4];
        wino_at(col, o);
#pragma GCC unroll 4
        for (int y = 0; y < 4; ++y) s[y][b] = o[y];
      }
      const T bv = bias != nullptr ? V::load(bias + o0 + j) : V::zero();
      if (inside) {  // all 16 outputs: no bounds checks, loops unrolled
#pragma GCC unroll 4
        for (int y = 0; y < 4; ++y) {
          T o[4];
          wino_at(s[y], o);
#pragma GCC unroll 4
          for (int x = 0; x < 4; ++x) wino_store(p, o[x], bv, res, out, at0 + (int64_t{y} * p.out_w + x) * O + j, cn);
        }
      } else {
        for (int y = 0; y < 4 && tile.oy + y < p.out_h; ++y) {
          T o[4];
          wino_at(s[y], o);
          for (int x = 0; x < 4 && tile.ox + x < p.out_w; ++x)
            wino_store(p, o[x], bv, res, out, at0 + (int64_t{y} * p.out_w + x) * O + j, cn);
        }
      }
    }
  }
}

// Work units [u0, u1): unit u is output channels [32 * (u % chunks), + 32) (chunks =
// ceil(out_c / 32)) of tile block u / chunks, the blocks being the `blocks` equal blocks
// (of at most `block` tiles) that the `tiles` tiles are cut into. A task's consecutive
// units of one block share its input transform. scratch: V, U and M for `block` tiles, laid
// out by wino_scratch (params.h).
template <int kLazy = 0>
inline void conv2d_winograd(const ConvParams& p, const float* in, const float* filter, const float* bias,
                            const float* res, float* out, float* scratch, int32_t block, int64_t tiles,
                            int64_t blocks, int64_t u0, int64_t u1) {
  constexpr int32_t kGroup = 16 * kNP;
  static_assert(kGroup <= kWinoMaxGroup, "a group of the GEMM's panels fits in M's kWinoMaxGroup columns");
  const int32_t C = p.in_c, chunks = (p.out_c + kWinoMaxGroup - 1) / kWinoMaxGroup;
  const WinoScratch layout = wino_scratch(block, C);
  float* v = scratch;
  float* u = scratch + layout.u;
  float* m = scratch + layout.m;
  const Clamp<float> none{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  int64_t have = -1;  // the block whose input transform v holds
  for (int64_t unit = u0; unit < u1; ++unit) {
    const int64_t k = unit / chunks;
    int64_t b0, b1;
    task_range(tiles, static_cast<int32_t>(blocks), static_cast<int32_t>(k), &b0, &b1);
    const int32_t n = static_cast<int32_t>(b1 - b0);
    if (k != have) {
      wino_input(p, in, b0, n, v);
      have = k;
    }
    const int32_t u_lo = static_cast<int32_t>(unit % chunks) * kWinoMaxGroup;  // the unit's outputs
    const int32_t u_hi = p.out_c < u_lo + kWinoMaxGroup ? p.out_c : u_lo + kWinoMaxGroup;
    for (int32_t o0 = u_lo; o0 < u_hi; o0 += kGroup) {
      const int32_t cols = u_hi - o0 < kGroup ? u_hi - o0 : kGroup;
      const int32_t panels = (cols + 15) / 16;
      const int32_t ldm = panels * 16;
      for (int32_t c0 = 0; c0 < C; c0 += kWinoChunk) {  // M += V[.., c0:c0+kc] U[c0:c0+kc]
        const int32_t kc = C - c0 < kWinoChunk ? C - c0 : kWinoChunk;
        wino_filter(p, filter, c0, kc, o0, panels, u);
        for (int e = 0; e < 36; ++e) {
          float* me = m + e * wino_rows_stride(n, ldm);
          const GemmParams g{n, ldm, kc, C, ldm, none, UnaryKind::kNone, c0 == 0 ? nullptr : me, ldm, none, 0,
                             Slope{nullptr, 0, 0.0f}, nullptr};
          gemm(g, v + e * wino_rows_stride(n, C) + c0, u + e * wino_u_stride(panels, kc), nullptr, me);
        }
      }
      wino_output(p, m, b0, n, ldm, o0, cols, bias, res, out);
    }
  }
}
