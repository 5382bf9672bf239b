// SIMD depthwise convolution and the expand/depthwise/project chain, written once against the vector traits `V` (see simd.h).
//
// NOT a normal header, like simd_kernels.h: simd.h includes it once per ISA, after
// simd_math.h and simd_kernels.h (whose GEMM it uses), inside the ISA's namespace and target
// pragma. It must not include anything itself; every kernel is a template so that a model
// instantiates, per ISA, only the kernels it calls.

// ---- depthwise convolution -----------------------------------------------------------
// Channels are the vector dimension. For each output row the input rows of the window are
// resolved once (null when they fall into the padding). The interior of a row (every tap
// inside the input) runs a fully unrolled KHxKW kernel with the taps in registers and four
// pixels at a time, so four independent FMA chains hide the FMA latency; a partial channel
// block (nc < V::N: few channels, or the tail) does the same with masked loads and stores
// (kFull false). The border pixels and unusual kernel sizes take dwconv_pixel. Rows with
// 64 or more whole channels take dwconv_interior_wide (four pixels across all channels),
// and stride-1 5x5 kernels and 3x3 ones on 32+ channels compute two rows at a time
// (dwconv_row_pair). Every path adds the taps in the same (ky, kx) order, so they agree
// bit for bit.
//
// Spec (conv.h: DwSpec) names what the generator knows of the layer: every kernel here
// takes the cases it allows and no other, so a model instantiates, per ISA, only the
// variants its layers reach (a 3x3 stride-2 layer: no 5x5, no stride-1, no row-pair code).
//
// kS: the stride when it is 1 or 2 and the dilation 1, so that the four pixels' taps of a
// row fall on 3 * kS + KW input pixels, each loaded once (a 3x3 stride-1 kernel: 6 loads
// for 12 FMAs per row instead of 12 loads, which also leave the address registers to
// spill); 0 for any other stride and dilation, read from p.
template <int KH, int KW, bool kFull, int kS>
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
      if constexpr (kS != 0) {
        constexpr int kSpan = 3 * kS + KW;
        typename V::T x[kSpan];
#pragma GCC unroll 16
        for (int i = 0; i < kSpan; ++i) x[i] = load(r + i * int64_t{p.in_c});
#pragma GCC unroll 5
        for (int kx = 0; kx < KW; ++kx) {
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) acc[q] = V::fma(x[q * kS + kx], w[ky * KW + kx], acc[q]);
        }
      } else {
#pragma GCC unroll 5
        for (int kx = 0; kx < KW; ++kx) {
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) acc[q] = V::fma(load(r + q * step + kx * dil), w[ky * KW + kx], acc[q]);
        }
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

// The interior of one channel block for a KHxKW kernel, full or masked (none with
// Spec::kWhole: every block is whole), for the strides Spec allows.
template <int KH, int KW, class Spec>
inline void dwconv_interior_block(const DepthwiseParams& p, const float* const* rows, const float* filter,
                                  typename V::T b0, float* out_row, int32_t c0, int32_t nc, int32_t x_lo,
                                  int32_t x_hi) {
  if (nc != V::N) {
    if constexpr (!Spec::kWhole) {
      dwconv_interior<KH, KW, false, 0>(p, rows, filter, b0, out_row, c0, nc, x_lo, x_hi);
    }
    return;
  }
  const int s = Spec::stride(p);
  if (s == 1) {
    if constexpr (Spec::allows_stride(1)) {
      dwconv_interior<KH, KW, true, 1>(p, rows, filter, b0, out_row, c0, nc, x_lo, x_hi);
    }
  } else if (s == 2) {
    if constexpr (Spec::allows_stride(2)) {
      dwconv_interior<KH, KW, true, 2>(p, rows, filter, b0, out_row, c0, nc, x_lo, x_hi);
    }
  } else if constexpr (Spec::allows_stride(-1)) {
    dwconv_interior<KH, KW, true, 0>(p, rows, filter, b0, out_row, c0, nc, x_lo, x_hi);
  }
}

// The interior of whole channel blocks [c_lo, c_hi) when a row has many of them (>=
// kWideChannels): four pixels at a time, and for those four every block in turn, the taps
// loaded from the filter per block. Walking a row once per 16-channel block (as above) reads
// its pixels kWideChannels * 4 bytes or more apart, one cache line each; four pixels across
// all channels read whole contiguous runs instead: 56x56x128 and 28x28x256 3x3 stride 2
// 20-33% faster, 3x3 stride 1 (on the rows that take no row pair) 10-20%. Same taps, same
// (ky, kx) order as dwconv_interior, so the result is the same bit for bit.
constexpr int32_t kWideChannels = 64;

template <int KH, int KW, int kS>
inline void dwconv_interior_wide(const DepthwiseParams& p, const float* const* rows, const float* filter,
                                 const float* bias, float* out_row, int32_t c_lo, int32_t c_hi, int32_t x_lo,
                                 int32_t x_hi) {
  constexpr int kP = 4;
  constexpr int kSpan = (kP - 1) * kS + KW;  // input pixels under the four pixels' taps
  const int32_t c_all = p.out_c;
  const int64_t in_c = p.in_c;
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  auto tap = [&](int t, int32_t c0) { return V::load(filter + int64_t{t} * c_all + c0); };
  int32_t ox = x_lo;
  for (; ox + kP <= x_hi; ox += kP) {
    const int64_t base = int64_t{ox * kS - p.pad_left} * in_c;
    float* dst = out_row + int64_t{ox} * c_all;
    for (int32_t c0 = c_lo; c0 < c_hi; c0 += V::N) {
      const typename V::T b0 = bias == nullptr ? V::zero() : V::load(bias + c0);
      typename V::T acc[kP] = {b0, b0, b0, b0};
#pragma GCC unroll 5
      for (int ky = 0; ky < KH; ++ky) {
        const float* r = rows[ky] + base + c0;
        typename V::T x[kSpan];
#pragma GCC unroll 16
        for (int i = 0; i < kSpan; ++i) x[i] = V::load(r + i * in_c);
#pragma GCC unroll 5
        for (int kx = 0; kx < KW; ++kx) {
          const typename V::T w = tap(ky * KW + kx, c0);
#pragma GCC unroll 4
          for (int q = 0; q < kP; ++q) acc[q] = V::fma(x[q * kS + kx], w, acc[q]);
        }
      }
#pragma GCC unroll 4
      for (int q = 0; q < kP; ++q) V::store(dst + int64_t{q} * c_all + c0, V::min(hi, V::max(lo, acc[q])));
    }
  }
  for (; ox < x_hi; ++ox) {
    const int64_t base = int64_t{ox * kS - p.pad_left} * in_c;
    for (int32_t c0 = c_lo; c0 < c_hi; c0 += V::N) {
      typename V::T acc = bias == nullptr ? V::zero() : V::load(bias + c0);
#pragma GCC unroll 5
      for (int ky = 0; ky < KH; ++ky)
#pragma GCC unroll 5
        for (int kx = 0; kx < KW; ++kx) acc = V::fma(V::load(rows[ky] + base + kx * in_c + c0), tap(ky * KW + kx, c0), acc);
      V::store(out_row + int64_t{ox} * c_all + c0, V::min(hi, V::max(lo, acc)));
    }
  }
}

// The one table of unrolled interiors: calls f(KH, KW) (std::integral_constant) for a
// k x k kernel, k 3 or 5, with kh of its rows inside the input (a 5x5 kernel with 3 rows
// present is a 3x5 one), if Spec reaches that case; any other (k, kh) calls nothing.
template <class Spec, int KH, int KW, class F>
inline void dw_case(int32_t k, int32_t kh, F& f) {
  if constexpr (Spec::allows_rows(KH, KW)) {
    if (k == KW && kh == KH) f(std::integral_constant<int, KH>{}, std::integral_constant<int, KW>{});
  }
}

template <class Spec, class F>
inline void dw_interior_cases(int32_t k, int32_t kh, F&& f) {
  dw_case<Spec, 1, 3>(k, kh, f), dw_case<Spec, 2, 3>(k, kh, f), dw_case<Spec, 3, 3>(k, kh, f);
  dw_case<Spec, 1, 5>(k, kh, f), dw_case<Spec, 2, 5>(k, kh, f), dw_case<Spec, 3, 5>(k, kh, f);
  dw_case<Spec, 4, 5>(k, kh, f), dw_case<Spec, 5, 5>(k, kh, f);
}

// dwconv_interior_wide for stride s (1 or 2), if Spec allows it.
template <int KH, int KW, class Spec>
inline void dwconv_interior_wide_at(const DepthwiseParams& p, const float* const* rows, const float* filter,
                                    const float* bias, float* out_row, int32_t c_lo, int32_t c_hi, int32_t x_lo,
                                    int32_t x_hi, int s) {
  if (s == 1) {
    if constexpr (Spec::allows_stride(1)) {
      dwconv_interior_wide<KH, KW, 1>(p, rows, filter, bias, out_row, c_lo, c_hi, x_lo, x_hi);
    }
  } else if constexpr (Spec::allows_stride(2)) {
    dwconv_interior_wide<KH, KW, 2>(p, rows, filter, bias, out_row, c_lo, c_hi, x_lo, x_hi);
  }
}

// One output pixel, all channels, with its window clipped to the input: the border
// pixels, and every pixel of unusual kernel sizes. Four channel blocks at a time, so that
// four independent FMA chains hide the FMA latency; taps in the same (ky, kx) order.
template <int kLazy = 0>  // instantiated only where used
inline void dwconv_pixel(const DepthwiseParams& p, const float* const* rows, const float* filter,
                         const float* bias, float* out_row, int32_t ox, int32_t c_lo, int32_t c_hi) {
  constexpr int kQ = 4;
  const int32_t ix0 = ox * p.stride_w - p.pad_left;
  int32_t kx_lo = 0, kx_hi = p.k_w;  // taps inside the row
  while (kx_lo < p.k_w && ix0 + kx_lo * p.dil_w < 0) ++kx_lo;
  while (kx_hi > kx_lo && ix0 + (kx_hi - 1) * p.dil_w >= p.in_w) --kx_hi;
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  float* dst = out_row + int64_t{ox} * p.out_c;
  for (int32_t c0 = c_lo; c0 < c_hi; c0 += kQ * V::N) {
    int32_t nc[kQ];
    typename V::T acc[kQ];
#pragma GCC unroll 4
    for (int q = 0; q < kQ; ++q) {
      const int32_t left = c_hi - c0 - q * V::N;
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

// ---- few channels: the row as one flat run of floats ---------------------------------
// A row of out_c channels not a multiple of 16 (8, 24, 40; 4, 12, 20) walked once per
// channel block leaves a partial block, which runs at part of the vector width with masked
// loads (24 channels on AVX-512: a whole block and a half one, a third of the FMA lanes
// idle). But a stride-1 row is one flat run of out_w * C floats, and output float j of it
// is the sum over the taps of input float j + (kx - pad_left) * C of the tap's row times
// the tap's weight j mod C. So the interior runs over whole vectors of the flat run: the
// taps repeated over a period of P = lcm(16, C) floats (R = P / C pixels; at most
// kFlatPeriod floats), the vector at offset v of a period takes its weights at offset v of
// the tap's period. They are laid out per vector of the period, [P / N][k * k][N], built per
// row on the stack, so that a vector's taps lie at constant offsets (with offsets that are
// multiples of a run-time P, GCC keeps 25 addresses and spills them). kQ periods a step
// share their input loads (period q's tap kx reads input pixel R * q + kx of the step), each
// loaded once. Every pixel still adds its taps in (ky, kx) order from the bias, so rows
// equal the other paths' bit for bit; the pixels after the last whole period take
// dwconv_pixel.
constexpr int32_t kFlatPeriod = 96;

// The interior pixels [ox, x_hi) of a k x k (K) stride-1 row, kQ periods of R pixels at a
// time while they fit; returns the first pixel left.
template <int K, int R, int kQ>
inline int32_t dwconv_flat_steps(const DepthwiseParams& p, const float* const* rows, const float* tiled,
                                 const float* tiled_bias, float* out_row, int32_t ox, int32_t x_hi) {
  constexpr int kSpan = R * (kQ - 1) + K;  // input pixels under a step's taps
  const int64_t c = p.out_c;
  const int32_t period = R * p.out_c;
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  for (; ox + kQ * R <= x_hi; ox += kQ * R) {
    const int64_t in0 = int64_t{ox - p.pad_left} * c;
    float* dst = out_row + int64_t{ox} * c;
    const float* taps = tiled;
    for (int32_t v = 0; v < period; v += V::N, taps += K * K * V::N) {
      typename V::T acc[kQ];
#pragma GCC unroll 4
      for (int q = 0; q < kQ; ++q) acc[q] = V::load(tiled_bias + v);
#pragma GCC unroll 5
      for (int ky = 0; ky < K; ++ky) {
        const float* r = rows[ky] + in0 + v;
        typename V::T x[kSpan];
#pragma GCC unroll 17
        for (int i = 0; i < kSpan; ++i, r += c) x[i] = V::load(r);
#pragma GCC unroll 5
        for (int kx = 0; kx < K; ++kx) {
          const typename V::T w = V::load(taps + (ky * K + kx) * V::N);
#pragma GCC unroll 4
          for (int q = 0; q < kQ; ++q) acc[q] = V::fma(x[R * q + kx], w, acc[q]);
        }
      }
#pragma GCC unroll 4
      for (int q = 0; q < kQ; ++q) V::store(dst + q * period + v, V::min(hi, V::max(lo, acc[q])));
    }
  }
  return ox;
}

// The interior [x_lo, x_hi) of a k x k (K) stride-1 row with all k window rows inside the
// input, R pixels a period.
template <int K, int R>
inline void dwconv_interior_flat(const DepthwiseParams& p, const float* const* rows, const float* filter,
                                 const float* bias, float* out_row, int32_t x_lo, int32_t x_hi) {
  constexpr int kQ = V::N >= 16 ? 4 : 2;  // kQ accumulators and kSpan inputs: 16 registers are few
  alignas(64) float tiled[K * K * kFlatPeriod];
  alignas(64) float tiled_bias[kFlatPeriod];
  alignas(64) float tap[kFlatPeriod];  // one tap's period
  const int32_t c = p.out_c, period = R * c;
  auto repeat = [c](const float* src, float* dst) {  // R copies: whole vectors, then a masked one
    for (int32_t r = 0; r < R; ++r) {
      int32_t i = 0;
      for (; i + V::N <= c; i += V::N) V::store(dst + r * c + i, V::load(src + i));
      if (i < c) V::storen(dst + r * c + i, V::loadn(src + i, c - i), c - i);
    }
  };
  if (bias != nullptr) repeat(bias, tiled_bias);
  for (int32_t i = 0; bias == nullptr && i < period; i += V::N) V::store(tiled_bias + i, V::zero());
#pragma GCC unroll 1
  for (int32_t t = 0; t < K * K; ++t) {
    repeat(filter + t * c, tap);
    for (int32_t v = 0; v < period; v += V::N) V::store(tiled + (v / V::N * K * K + t) * V::N, V::load(tap + v));
  }
  int32_t ox = dwconv_flat_steps<K, R, kQ>(p, rows, tiled, tiled_bias, out_row, x_lo, x_hi);
  ox = dwconv_flat_steps<K, R, 1>(p, rows, tiled, tiled_bias, out_row, ox, x_hi);
  for (; ox < x_hi; ++ox) dwconv_pixel(p, rows, filter, bias, out_row, ox, 0, c);
}

// Pixels a period of a layer whose rows may run flat: 2 or 4 (16 / gcd(16, out_c)) for a
// stride-1 layer whose out_c leaves a partial block on this ISA, with a period of at most
// kFlatPeriod floats; else 0. (Whole 8-float blocks stay with the blocks: on AVX2, with 16
// registers, flat rows of 8 and 24 channels are 20-40% slower than the blocks.)
template <class Spec>
inline int32_t dwconv_flat_pixels(const DepthwiseParams& p) {
  if constexpr (Spec::kWhole || V::N == 1 || !Spec::allows_stride(1)) {
    return 0;
  } else {
    const int32_t c = p.out_c;
    const int32_t r = c % 4 != 0 ? 0 : c % 8 != 0 ? 4 : c % 16 != 0 ? 2 : 0;
    return c % V::N != 0 && r * c <= kFlatPeriod && Spec::stride(p) == 1 ? r : 0;
  }
}

// Runs the interior [x_lo, x_hi) of a row flat if it can: dwconv_flat_pixels(p) != 0, a
// k x k kernel with kh == k window rows inside the input, all channels, enough interior
// pixels to pay for the tiling (16 periods). Returns whether it did.
template <class Spec>
inline bool dwconv_flat(const DepthwiseParams& p, int32_t kh, const float* const* rows, const float* filter,
                        const float* bias, float* out_row, int32_t c_lo, int32_t c_hi, int32_t x_lo, int32_t x_hi) {
  if constexpr (Spec::kWhole || V::N == 1 || !Spec::allows_stride(1)) {
    return false;
  } else {
    const int32_t r = dwconv_flat_pixels<Spec>(p);
    if (r == 0 || kh != p.k_h || c_lo != 0 || c_hi != p.out_c || x_hi - x_lo < 16 * r) return false;
    bool done = false;
    dw_interior_cases<Spec>(p.k_w, kh, [&](auto h, auto w) {
      if constexpr (decltype(h)::value == decltype(w)::value) {
        if (r == 2) {
          dwconv_interior_flat<decltype(w)::value, 2>(p, rows, filter, bias, out_row, x_lo, x_hi);
        } else {
          dwconv_interior_flat<decltype(w)::value, 4>(p, rows, filter, bias, out_row, x_lo, x_hi);
        }
        done = true;
      }
    });
    return done;
  }
}

// One output row from the k_h input rows of its window (null where they fall into the
// padding). Channels [c_lo, c_hi) only (c_lo a multiple of 16), so that tasks can split
// channels.
template <class Spec>
inline void dwconv_row_at(const DepthwiseParams& p, const float* const* rows, const float* filter,
                          const float* bias, float* out_row, int32_t c_lo, int32_t c_hi) {
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
  const bool fast = all_rows && p.k_h == p.k_w && (p.k_w == 3 || p.k_w == 5);
  const int32_t lo = fast ? x_lo : p.out_w, hi = fast ? x_hi : p.out_w;
  for (int32_t ox = 0; ox < lo; ++ox) dwconv_pixel(p, rows, filter, bias, out_row, ox, c_lo, c_hi);
  for (int32_t ox = hi; ox < p.out_w; ++ox) dwconv_pixel(p, rows, filter, bias, out_row, ox, c_lo, c_hi);
  // many whole channel blocks: the pixel-major interior for them, the rest (a partial block)
  // below
  const int32_t c_whole = c_lo + (c_hi - c_lo) / V::N * V::N;
  const int s = Spec::stride(p);
  const bool wide = Spec::kWide && fast && s != 0 && c_whole - c_lo >= kWideChannels;
  if constexpr (Spec::kWide) {
    if (wide) {
      dw_interior_cases<Spec>(p.k_w, kh, [&](auto h, auto w) {
        dwconv_interior_wide_at<decltype(h)::value, decltype(w)::value, Spec>(p, live, live_filter, bias, out_row,
                                                                              c_lo, c_whole, x_lo, x_hi, s);
      });
    }
  }
  const bool flat = fast && !wide && dwconv_flat<Spec>(p, kh, live, live_filter, bias, out_row, c_lo, c_hi, x_lo, x_hi);
  for (int32_t c0 = wide ? c_whole : c_lo; fast && !flat && c0 < c_hi; c0 += V::N) {
    const int32_t nc = c_hi - c0 < V::N ? c_hi - c0 : V::N;
    const typename V::T b0 = bias == nullptr ? V::zero() : (nc == V::N ? V::load(bias + c0) : V::loadn(bias + c0, nc));
    dw_interior_cases<Spec>(p.k_w, kh, [&](auto h, auto w) {
      dwconv_interior_block<decltype(h)::value, decltype(w)::value, Spec>(p, live, live_filter, b0, out_row, c0, nc,
                                                                          x_lo, x_hi);
    });
  }
  // the fused activation, on the row just written (still in cache)
  if (p.post != UnaryKind::kNone && c_lo == 0 && c_hi == p.out_c) {
    unary(p.post, int64_t{p.out_w} * p.out_c, out_row, out_row);
  } else if (p.post != UnaryKind::kNone) {
    for (int32_t ox = 0; ox < p.out_w; ++ox) {
      float* px = out_row + int64_t{ox} * p.out_c + c_lo;
      unary(p.post, c_hi - c_lo, px, px);
    }
  }
  // a fused PRELU / LEAKY_RELU: its period divides a pixel's out_c (DepthwiseParams)
  for (int32_t ox = 0; p.slope.period != 0 && ox < p.out_w; ++ox) {
    float* px = out_row + int64_t{ox} * p.out_c + c_lo;
    slope(p.slope, c_lo, c_hi - c_lo, px, px);
  }
}

// ---- two output rows at once (stride 1) ----------------------------------------------
// Two consecutive output rows of a stride-1 KHxKH kernel share KH - 1 of their KH + 1
// input rows. Computing them together loads each of those rows once for both (a 3x3
// kernel: 4 row loads for 2 rows instead of 6), which halves the input traffic of maps
// whose window rows do not stay in L1 (112x112x32: 3 rows are 43 KB) and lets one pass
// keep 2 x kP accumulators busy: 5x5 kernels 15-25% faster, 3x3 on large maps or many
// channels 10-25%. Each output still adds its taps in (ky, kx) order from the bias, so
// both rows equal what dwconv_row_at computes, bit for bit.
// rows: the KH + 1 input rows (all inside the input); out0, out1: the two output rows.
template <int KH>
inline void dwconv_interior_pair(const DepthwiseParams& p, const float* const* rows, const float* filter,
                                 typename V::T b0, float* out0, float* out1, int32_t c0, int32_t x_lo,
                                 int32_t x_hi) {
  constexpr int KW = KH;
  constexpr int kP = V::N >= 16 ? 4 : 2;  // 2 x kP accumulators and the taps: 16 registers are few
  constexpr int kSpan = kP - 1 + KW;
  const int32_t c_all = p.out_c;
  const int64_t in_c = p.in_c;
  typename V::T w[KH * KW];
#pragma GCC unroll 25
  for (int t = 0; t < KH * KW; ++t) w[t] = V::load(filter + int64_t{t} * c_all + c0);
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  int32_t ox = x_lo;
  for (; ox + kP <= x_hi; ox += kP) {
    const int64_t base = int64_t{ox - p.pad_left} * in_c + c0;
    typename V::T a0[kP], a1[kP];
#pragma GCC unroll 4
    for (int q = 0; q < kP; ++q) a0[q] = a1[q] = b0;
#pragma GCC unroll 6
    for (int j = 0; j <= KH; ++j) {  // input row j is row j of out0's window, row j - 1 of out1's
      typename V::T x[kSpan];
#pragma GCC unroll 8
      for (int i = 0; i < kSpan; ++i) x[i] = V::load(rows[j] + base + i * in_c);
#pragma GCC unroll 5
      for (int kx = 0; kx < KW; ++kx) {
        if (j < KH) {
#pragma GCC unroll 4
          for (int q = 0; q < kP; ++q) a0[q] = V::fma(x[q + kx], w[j * KW + kx], a0[q]);
        }
        if (j > 0) {
#pragma GCC unroll 4
          for (int q = 0; q < kP; ++q) a1[q] = V::fma(x[q + kx], w[(j - 1) * KW + kx], a1[q]);
        }
      }
    }
#pragma GCC unroll 4
    for (int q = 0; q < kP; ++q) {
      V::store(out0 + int64_t{ox + q} * c_all + c0, V::min(hi, V::max(lo, a0[q])));
      V::store(out1 + int64_t{ox + q} * c_all + c0, V::min(hi, V::max(lo, a1[q])));
    }
  }
  for (; ox < x_hi; ++ox) {
    const int64_t base = int64_t{ox - p.pad_left} * in_c + c0;
    typename V::T a0 = b0, a1 = b0;
#pragma GCC unroll 5
    for (int ky = 0; ky < KH; ++ky)
#pragma GCC unroll 5
      for (int kx = 0; kx < KW; ++kx) {
        a0 = V::fma(V::load(rows[ky] + base + kx * in_c), w[ky * KW + kx], a0);
        a1 = V::fma(V::load(rows[ky + 1] + base + kx * in_c), w[ky * KW + kx], a1);
      }
    V::store(out0 + int64_t{ox} * c_all + c0, V::min(hi, V::max(lo, a0)));
    V::store(out1 + int64_t{ox} * c_all + c0, V::min(hi, V::max(lo, a1)));
  }
}

// Whether depthwise_conv2d may compute rows in pairs: a stride-1, dilation-1 5x5 kernel,
// or 3x3 with 32 channels or more, at least one whole channel block, and no epilogue after
// the clamp (the pairs end at the clamp; dwconv_row_at's `post` block runs per row). An
// epilogue added to DepthwiseParams must be added here. 3x3 kernels on 16 channels gain
// nothing from pairs (their window rows fit L1) and lose up to 25% on rows of 12-16 KB.
// Rows that can run flat do (128x128x24 5x5: 25% faster than pairs on AVX-512).
template <class Spec>
inline bool dwconv_pairs(const DepthwiseParams& p) {
  if constexpr (!Spec::kPairs) return false;
  return p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && p.k_h == p.k_w &&
         (p.k_h == 5 || (p.k_h == 3 && p.out_c >= 32)) && p.out_c >= V::N && p.post == UnaryKind::kNone &&
         p.slope.period == 0 && dwconv_flat_pixels<Spec>(p) == 0;
}

// Output rows out0 and out1 = out0's next from the k_h + 1 input rows of both windows, all
// inside the input (dwconv_pairs(p) holds). The border pixels per row as dwconv_row_at.
template <class Spec>
inline void dwconv_row_pair(const DepthwiseParams& p, const float* const* rows, const float* filter,
                            const float* bias, float* out0, float* out1) {
  int32_t x_lo = p.pad_left;  // output x range whose taps all lie inside the row
  int32_t x_hi = p.in_w - p.k_w + p.pad_left + 1;
  if (x_hi > p.out_w) x_hi = p.out_w;
  if (x_hi < 0) x_hi = 0;
  if (x_lo > x_hi) x_lo = x_hi;
  for (int32_t ox = 0; ox < p.out_w; ++ox) {
    if (ox == x_lo) ox = x_hi;
    if (ox == p.out_w) break;
    dwconv_pixel(p, rows, filter, bias, out0, ox, 0, p.out_c);
    dwconv_pixel(p, rows + 1, filter, bias, out1, ox, 0, p.out_c);
  }
  const int32_t c_whole = p.out_c / V::N * V::N;
  for (int32_t c0 = 0; c0 < c_whole; c0 += V::N) {
    const typename V::T b0 = bias == nullptr ? V::zero() : V::load(bias + c0);
    dw_interior_cases<Spec>(p.k_w, p.k_h, [&](auto h, auto w) {  // k_h == k_w here: only KxK cases
      if constexpr (decltype(h)::value == decltype(w)::value) {
        dwconv_interior_pair<decltype(h)::value>(p, rows, filter, b0, out0, out1, c0, x_lo, x_hi);
      }
    });
  }
  if (Spec::kWhole || c_whole == p.out_c) return;
  const int32_t nc = p.out_c - c_whole;  // the partial block, one row at a time
  const typename V::T b0 = bias == nullptr ? V::zero() : V::loadn(bias + c_whole, nc);
  for (int q = 0; q < 2; ++q) {
    dw_interior_cases<Spec>(p.k_w, p.k_h, [&](auto h, auto w) {
      if constexpr (decltype(h)::value == decltype(w)::value) {
        dwconv_interior_block<decltype(h)::value, decltype(w)::value, Spec>(p, rows + q, filter, b0, q == 0 ? out0 : out1,
                                                                            c_whole, nc, x_lo, x_hi);
      }
    });
  }
}

// depth_multiplier == 1 only (in_c == out_c). Output rows [r0, r1) of the batch * out_h rows.
// rows: the k_h input rows of the window (kernels of height > 64 take the scalar kernel).
template <class Spec>
inline void depthwise_conv2d(Spec, const DepthwiseParams& p, const float* in, const float* filter,
                             const float* bias, float* out, int64_t r0, int64_t r1) {
  const float* rows[65];
  const bool pairs = dwconv_pairs<Spec>(p);
  const int64_t in_row = int64_t{p.in_w} * p.in_c, out_row = int64_t{p.out_w} * p.out_c;
  for (int64_t r = r0; r < r1;) {
    const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
    const float* in_b = in + int64_t{b} * p.in_h * in_row;
    const int32_t iy0 = oy * p.stride_h - p.pad_top;
    // rows oy and oy + 1 of the same image, with all k_h + 1 input rows inside the input
    if constexpr (Spec::kPairs) {
      if (pairs && r + 1 < r1 && oy + 1 < p.out_h && iy0 >= 0 && iy0 + p.k_h < p.in_h) {
        for (int32_t j = 0; j <= p.k_h; ++j) rows[j] = in_b + (iy0 + j) * in_row;
        dwconv_row_pair<Spec>(p, rows, filter, bias, out + r * out_row, out + (r + 1) * out_row);
        r += 2;
        continue;
      }
    }
    for (int32_t ky = 0; ky < p.k_h; ++ky) {
      const int32_t iy = iy0 + ky * p.dil_h;
      rows[ky] = (iy >= 0 && iy < p.in_h) ? in_b + int64_t{iy} * in_row : nullptr;
    }
    dwconv_row_at<Spec>(p, rows, filter, bias, out + r * out_row, 0, p.out_c);
    ++r;
  }
}

// ---- depthwise convolution between convolutions (1x1, or a KxK one before) -----------
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
// [pw ? slots * dw.in_w * dw.in_c : 0] + [pj ? rows * dw.out_w * dw.out_c : 0] floats,
// then a KxK head's own scratch (below).
// pw may also be a KxK convolution (any window, stride, padding and dilation; one group),
// the stem of MobileNetV2 (224x224x3 -> 112x112x32, 3x3 stride 2) that feeds its first
// depthwise conv: `head` then computes its rows into the ring, the implicit GEMM that runs
// the conv alone (simd_kernels.h: conv2d_implicit, tap offsets koff / band_koff), called
// on a view of the conv whose output row 0 is the run's first row. Each output pixel is its
// bias plus the same taps in the same order as in the standalone kernel: the same bits.
// Computes output rows [r0, r1) of the batch * out_h rows; a range that starts mid-image
// recomputes the expanded rows its first window needs. Without pj and head, only channels
// [c_lo, c_hi) (c_lo a multiple of 16): the depthwise channel c needs expanded channel c
// alone, so tasks can split channels instead of rows (else: c_lo = 0, c_hi = out_c).
// The depthwise rows are the only part that depends on the layer's DwSpec: the chain takes
// them as a pointer to dwconv_row_at<Spec> (dw_row_fn; one indirect call per output row), so
// that it is instantiated once per B and ISA, not once per DwSpec as well.
using DwRowFn = void (*)(const DepthwiseParams&, const float* const*, const float*, const float*, float*, int32_t,
                         int32_t);

// A KxK conv's output rows [r0, r1) (conv_rows_at<kRS, B>): the head of a chain.
template <class B>
using ConvRowsFn = void (*)(const ConvParams&, const float*, const B*, const float*, const int32_t*, const int32_t*,
                            float*, float*, int64_t, int64_t);

// conv2d_implicit with no residual; kRS: stride_w * in_c as a constant, or 0 (WindowAK).
// Its scratch: kMaxMR * k_h * k_w * in_c floats, or the band's (ops/conv.py: _conv_scratch).
template <int kRS, class B>
inline void conv_rows_at(const ConvParams& p, const float* in, const B* packed, const float* bias, const int32_t* koff,
                         const int32_t* band_koff, float* out, float* scratch, int64_t r0, int64_t r1) {
  conv2d_implicit(std::integral_constant<int, kRS>{}, p, in, packed, bias, koff, band_koff, nullptr, out, scratch, r0,
                  r1);
}

// B: the 1x1 filters' panels, float or uint16_t (float16; simd_kernels.h: load_b).
// head: null (pw is 1x1), or pw's rows as a KxK conv, with its tap offsets koff, band_koff.
template <class B>
inline void conv_chain_rows(DwRowFn row_at, ConvRowsFn<B> head, const int32_t* koff, const int32_t* band_koff,
                            const ConvParams* pw, const DepthwiseParams& dw, const ConvParams* pj,
                            const float* in, const B* pw_packed, const float* pw_bias,
                            const float* dw_filter, const float* dw_bias, const B* pj_packed,
                            const float* pj_bias, const float* res, float* out, float* scratch,
                            ChainSteps steps, int64_t r0, int64_t r1, int32_t c_lo, int32_t c_hi) {
  const int64_t in_row = int64_t{dw.in_w} * dw.in_c, dw_row = int64_t{dw.out_w} * dw.out_c;
  float* ring = scratch;
  float* dw_buf = scratch + (pw != nullptr ? steps.slots * in_row : 0);
  float* head_scratch = dw_buf + (pj != nullptr ? steps.rows * dw_row : 0);
  // a stage's slope has a period of one pixel's channels or 1 (ops/fused.py): the ring's rows
  // start at a pixel, so the ring serves as the expansion's origin
  GemmParams gpw = pw != nullptr ? GemmParams{pw->out_w, pw->out_c, pw->in_c, pw->in_c, pw->out_c, pw->act, pw->post,
                                              nullptr, 0, {}, 0, pw->slope, ring}
                                 : GemmParams{};
  GemmParams gpj = pj != nullptr ? GemmParams{pj->out_w, pj->out_c, pj->in_c, pj->in_c, pj->out_c, pj->act, pj->post,
                                              nullptr, pj->out_c, pj->res_act, 0, pj->slope, out}
                                 : GemmParams{};
  const int64_t x_row = pw != nullptr ? int64_t{pw->in_w} * pw->in_c : in_row;
  const int32_t x_h = pw != nullptr ? pw->in_h : dw.in_h;  // a KxK head's input has rows of its own
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
    const float* in_b = in + int64_t{b} * x_h * x_row;
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
        if (head != nullptr) {  // the conv's rows [iy, end) of image b, as its rows [0, end - iy)
          ConvParams view = *pw;
          view.batch = 1;
          view.out_h = end - iy;
          view.pad_top = pw->pad_top - iy * pw->stride_h;
          head(view, in_b, pw_packed, pw_bias, koff, band_koff, ring + (iy % steps.slots) * in_row, head_scratch, 0,
               end - iy);
        } else {
          gpw.m = (end - iy) * pw->out_w;
          gpw.n = c_hi - c_lo;
          gemm(gpw, in_b + iy * x_row, pw_packed + int64_t{c_lo} * pw->in_c,
               pw_bias == nullptr ? nullptr : pw_bias + c_lo, ring + (iy % steps.slots) * in_row + c_lo);
        }
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
      row_at(dw, rows, dw_filter, dw_bias, pj == nullptr ? out + (r + q) * out_row : dw_buf + q * dw_row, c_lo, c_hi);
    }
    if (pj != nullptr) {
      gpj.m = n * pj->out_w;
      gpj.res = res == nullptr ? nullptr : res + r * out_row;
      gemm(gpj, dw_buf, pj_packed, pj_bias, out + r * out_row);
    }
    r += n;
  }
}

// This ISA's dwconv_row_at<Spec>, for conv_chain_rows (conv.h: conv_chain_f32).
template <class Spec>
inline DwRowFn dw_row_fn(Spec) {
  return &dwconv_row_at<Spec>;
}

// This ISA's conv_rows_at<kRS, B>, for conv_chain_rows (conv.h: conv_chain_kxk_f32).
template <int kRS, class B>
inline ConvRowsFn<B> conv_rows_fn(std::integral_constant<int, kRS>, const B*) {
  return &conv_rows_at<kRS, B>;
}
