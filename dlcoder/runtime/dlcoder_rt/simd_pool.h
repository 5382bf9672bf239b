// SIMD pooling, written once against the vector traits `V` (see simd.h).
//
// NOT a normal header, like simd_kernels.h: simd.h includes it once per ISA, after
// simd_math.h and simd_kernels.h, inside the ISA's namespace and target pragma. It must not
// include anything itself; every kernel is a template so that a model instantiates, per
// ISA, only the kernels it calls.

// ---- pooling -------------------------------------------------------------------------
// Channels are the vector dimension, masked for a last partial block (pool_tail). Windows are
// clipped to the input: padded positions are neither counted nor compared, as in TFLite.
// Every lane adds (or compares) its window in (ky, kx) order and an average divides the
// sum by the count, as TFLite's reference kernel does, so results match it bit for bit;
// V::pick_max(x, acc) is std::max(acc, x) (x only if x > acc: a NaN x is passed over, a NaN
// acc replaced), as TFLite's max pool on every ISA.
template <PoolKind kKind>
inline typename V::T pool_init() {
  return kKind == PoolKind::kMax ? V::set1(std::numeric_limits<float>::lowest()) : V::zero();
}

template <PoolKind kKind>
inline typename V::T pool_step(typename V::T acc, typename V::T v) {
  if (kKind == PoolKind::kMax) return V::pick_max(v, acc);
  if (kKind == PoolKind::kAverage) return V::add(acc, v);
  return V::add(acc, V::mul(v, v));
}

template <PoolKind kKind>
inline typename V::T pool_finish(const PoolParams& p, typename V::T acc, typename V::T count) {
  if (kKind == PoolKind::kAverage) acc = V::div(acc, count);
  if (kKind == PoolKind::kL2) acc = V::sqrt(V::div(acc, count));
  return V::min(V::set1(p.act.hi), V::max(V::set1(p.act.lo), acc));
}

// kB whole channel blocks at once: kB independent chains hide the add latency (a 3x3
// average is 9 dependent adds per block, 1.5x XNNPACK's time one block at a time).
template <PoolKind kKind, int kB>
inline void pool_blocks(const PoolParams& p, const float* win, int32_t kh, int32_t kw,
                        typename V::T count, float* o) {
  const int32_t c = p.channels;
  typename V::T acc[kB];
#pragma GCC unroll 4
  for (int b = 0; b < kB; ++b) acc[b] = pool_init<kKind>();
  for (int32_t ky = 0; ky < kh; ++ky) {
    const float* x = win + int64_t{ky} * p.in_w * c;
    for (int32_t kx = 0; kx < kw; ++kx, x += c) {
#pragma GCC unroll 4
      for (int b = 0; b < kB; ++b) acc[b] = pool_step<kKind>(acc[b], V::load(x + b * V::N));
    }
  }
#pragma GCC unroll 4
  for (int b = 0; b < kB; ++b) V::store(o + b * V::N, pool_finish<kKind>(p, acc[b], count));
}

// The last, partial channel block (nc < V::N lanes), masked.
template <PoolKind kKind>
inline void pool_tail(const PoolParams& p, const float* win, int32_t kh, int32_t kw,
                      typename V::T count, float* o, int32_t nc) {
  const int32_t c = p.channels;
  typename V::T acc = pool_init<kKind>();
  for (int32_t ky = 0; ky < kh; ++ky) {
    const float* x = win + int64_t{ky} * p.in_w * c;
    for (int32_t kx = 0; kx < kw; ++kx, x += c) acc = pool_step<kKind>(acc, V::loadn(x, nc));
  }
  V::storen(o, pool_finish<kKind>(p, acc, count), nc);
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
        const int32_t kh = ky1 - ky0, kw = kx1 - kx0;
        const typename V::T count = V::set1(static_cast<float>(kh * kw));
        int32_t c0 = 0;
        for (; c0 + 4 * V::N <= c; c0 += 4 * V::N) pool_blocks<kKind, 4>(p, win + c0, kh, kw, count, o + c0);
        for (; c0 + V::N <= c; c0 += V::N) pool_blocks<kKind, 1>(p, win + c0, kh, kw, count, o + c0);
        if (c0 < c) pool_tail<kKind>(p, win + c0, kh, kw, count, o + c0, c - c0);
      }
    }
  }
}
