// SIMD pooling, written once against the vector traits `V` (see simd.h).
//
// NOT a normal header, like simd_kernels.h: simd.h includes it once per ISA, after
// simd_math.h and simd_kernels.h, inside the ISA's namespace and target pragma. It must not
// include anything itself; every kernel is a template so that a model instantiates, per
// ISA, only the kernels it calls.

// ---- pooling -------------------------------------------------------------------------
// Channels are the vector dimension, masked (kFull false) for a partial block. Windows are
// clipped to the input: padded positions are neither counted nor compared, as in TFLite.
// Every lane adds (or compares) its window in (ky, kx) order and an average divides the
// sum by the count, as TFLite's reference kernel does, so results match it bit for bit;
// V::pick_max(x, acc) is std::max(acc, x) (x only if x > acc: a NaN x is passed over, a NaN
// acc replaced), as TFLite's max pool on every ISA.
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
        acc = V::pick_max(v, acc);
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
