// Quantized TRANSPOSE_CONV, the accumulation of one input row (qtransposeconv.h has the
// layout and the entry point). Included once per instruction set inside a namespace that
// defines `V`, a vector of V::kLanes int32 with:
//   R zero(); load(const int16_t* w) (kLanes pairs of int16); splat(int32_t pair);
//   R mac(R acc, w, x) (acc + w.lo * x.lo + w.hi * x.hi per lane, vpmaddwd);
//   void add_to(int32_t* p, R v) (p[0..kLanes) += v); kTileM, the pixels of a tile.
// A tile is kTileM input pixels (8 with AVX-512's 32 registers, else 4) x NB vectors of
// channels: per pair of input channels, kTileM splats, NB weight loads and kTileM * NB
// multiply-adds; then each pixel's accumulators are added into the output pixel its tap
// lands on (col2im).
// No include guard: qtransposeconv.h includes it once per namespace.

constexpr int kTileM = V::kTileM;

template <int NB>
inline void qtc_tile(const QTransposeConvParams& p, const int32_t* const* px, const int16_t* w,
                     int32_t* const* dst) {
  using R = typename V::R;
  R acc[kTileM][NB];
  for (int m = 0; m < kTileM; ++m)
    for (int j = 0; j < NB; ++j) acc[m][j] = V::zero();
  const int64_t wstep = int64_t{p.out_cp} * 2;
  for (int32_t k = 0; k < p.k_pairs; ++k, w += wstep) {
    decltype(V::load(w)) wv[NB];
    for (int j = 0; j < NB; ++j) wv[j] = V::load(w + j * 2 * V::kLanes);
    for (int m = 0; m < kTileM; ++m) {
      const auto xv = V::splat(px[m][k]);
      for (int j = 0; j < NB; ++j) acc[m][j] = V::mac(acc[m][j], wv[j], xv);
    }
  }
  for (int m = 0; m < kTileM; ++m)
    if (dst[m] != nullptr)
      for (int j = 0; j < NB; ++j) V::add_to(dst[m] + j * V::kLanes, acc[m][j]);
}

// Adds the products of input row `iy` (pairs [in_w][k_pairs], zero point subtracted) into
// the accumulator image `acc` ([out_h][out_w][out_cp]).
inline void qtc_row(const QTransposeConvParams& p, const int32_t* pairs, int32_t iy, const int16_t* w,
                    int32_t* acc) {
  constexpr int32_t kStep = 2 * V::kLanes;
  const int64_t tap_size = int64_t{p.k_pairs} * p.out_cp * 2;
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    const int32_t oy = iy * p.stride_h - p.pad_top + ky;
    if (oy < 0 || oy >= p.out_h) continue;
    int32_t* arow = acc + int64_t{oy} * p.out_w * p.out_cp;
    for (int32_t kx = 0; kx < p.k_w; ++kx) {
      const int16_t* wt = w + (int64_t{ky} * p.k_w + kx) * tap_size;
      for (int32_t ix0 = 0; ix0 < p.in_w; ix0 += kTileM) {
        const int32_t* px[kTileM];
        int32_t* dst[kTileM];
        bool any = false;
        for (int m = 0; m < kTileM; ++m) {
          const int32_t ix = ix0 + m < p.in_w ? ix0 + m : p.in_w - 1;   // past the row: recomputed, dropped
          px[m] = pairs + int64_t{ix} * p.k_pairs;
          const int32_t ox = (ix0 + m) * p.stride_w - p.pad_left + kx;
          const bool in = ix0 + m < p.in_w && ox >= 0 && ox < p.out_w;
          dst[m] = in ? arow + int64_t{ox} * p.out_cp : nullptr;
          any = any || in;
        }
        if (!any) continue;
        int32_t c = 0;
        for (; c + kStep <= p.out_cp; c += kStep) {
          int32_t* d[kTileM];
          for (int m = 0; m < kTileM; ++m) d[m] = dst[m] ? dst[m] + c : nullptr;
          qtc_tile<2>(p, px, wt + int64_t{c} * 2, d);
        }
        for (; c < p.out_cp; c += V::kLanes) {
          int32_t* d[kTileM];
          for (int m = 0; m < kTileM; ++m) d[m] = dst[m] ? dst[m] + c : nullptr;
          qtc_tile<1>(p, px, wt + int64_t{c} * 2, d);
        }
      }
    }
  }
}
