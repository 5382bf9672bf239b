// SIMD float RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR, written once against the vector
// traits `V` (see simd.h).
//
// NOT a normal header, like simd_pool.h: simd.h includes it once per ISA, inside the ISA's
// namespace and target pragma. It must not include anything itself. The kernels are
// templates over resize.h's ResizeParams / ResizeAxis (which includes simd.h, so the types
// cannot be named here), and a model instantiates, per ISA, only what it calls.
//
// Bilinear, by channel vectors (masked for a last partial block; the 8-float VNarrow traits
// below V::N channels, the 4-float VQuad below VNarrow::N, scalars below 4: a masked 8-float
// load and store per pixel of 4 channels measured twice the time of 4 scalar ones), each
// lane computing what TFLite's
// optimized float kernel computes, in its order:
// - a plain 2x upsample (neither flag) copies and averages, ResizeBilinear2x2: output row
//   2j is input row j, 2j + 1 the mean of rows j and j + 1; output column 2i is column i,
//   2i + 1 the mean of columns i and i + 1; the odd/odd pixel the mean of the two column
//   means (resize.h says why the order matters: infinities);
// - anything else sums the four corners times the products of their weights, in (y0, x0),
//   (y0, x1), (y1, x0), (y1, x1) order (ResizeBilinearGeneric), the weights computed per
//   output pixel as scalars;
// so that the results differ from TFLite's only where the compiler fuses a multiply and an
// add. Few channels (the general case up to 16) go by flat rows instead, interpolated
// along x once per input row and reused by the output rows that share it, all but a
// half-pixel upsample's clamped first rows and columns, which keep TFLite's order (see below).
// The generator picks the path (resize.h: BilinearPath); the channel count the traits.
//
// Nearest neighbour copies each output pixel's channels with inline vector moves.

template <class W, bool kFull>
inline typename W::T resize_load(const float* p, int32_t n) {
  return kFull ? W::load(p) : W::loadn(p, n);
}

template <class W, bool kFull>
inline void resize_store(float* p, typename W::T v, int32_t n) {
  if (kFull) {
    W::store(p, v);
  } else {
    W::storen(p, v, n);
  }
}

// o = a * s[0] + b * s[1] + c * s[2] + d * s[3] over n <= W::N channels.
template <class W, bool kFull>
inline void bilinear_block(const float* a, const float* b, const float* c, const float* d,
                           const typename W::T* s, float* o, int32_t n) {
  typename W::T v = W::mul(resize_load<W, kFull>(a, n), s[0]);
  v = W::add(v, W::mul(resize_load<W, kFull>(b, n), s[1]));
  v = W::add(v, W::mul(resize_load<W, kFull>(c, n), s[2]));
  v = W::add(v, W::mul(resize_load<W, kFull>(d, n), s[3]));
  resize_store<W, kFull>(o, v, n);
}

// One pixel of a 2x upsample over n <= W::N channels; kOddY / kOddX as the output's
// row / column.
template <class W, bool kFull, bool kOddY, bool kOddX>
inline void twice_block(const float* a, const float* b, const float* c, const float* d, float* o,
                        int32_t n) {
  const typename W::T half = W::set1(0.5f);
  typename W::T v = resize_load<W, kFull>(a, n);
  if (kOddY) v = W::mul(W::add(v, resize_load<W, kFull>(c, n)), half);
  if (kOddX) {
    typename W::T right = resize_load<W, kFull>(b, n);
    if (kOddY) right = W::mul(W::add(right, resize_load<W, kFull>(d, n)), half);
    v = W::mul(W::add(v, right), half);
  }
  resize_store<W, kFull>(o, v, n);
}

// One output row of a 2x upsample from input rows r0 (y0) and r1 (y1): output columns
// x (even) and x + 1 both start at input column lo[x]; out_w is even.
template <class W, bool kOddY, class A>
inline void twice_row(const A& ax, int32_t out_w, int32_t depth, const float* r0, const float* r1,
                      float* out) {
  for (int32_t x = 0; x < out_w; x += 2) {
    const int64_t c0 = int64_t{ax.lo[x]} * depth;
    const int64_t c1 = int64_t{ax.hi[x + 1]} * depth;
    float* o = out + int64_t{x} * depth;
    int32_t k = 0;
    for (; k + W::N <= depth; k += W::N) {
      twice_block<W, true, kOddY, false>(r0 + c0 + k, nullptr, r1 + c0 + k, nullptr, o + k, W::N);
      twice_block<W, true, kOddY, true>(r0 + c0 + k, r0 + c1 + k, r1 + c0 + k, r1 + c1 + k,
                                        o + depth + k, W::N);
    }
    if (k == depth) continue;
    const int32_t n = depth - k;
    twice_block<W, false, kOddY, false>(r0 + c0 + k, nullptr, r1 + c0 + k, nullptr, o + k, n);
    twice_block<W, false, kOddY, true>(r0 + c0 + k, r0 + c1 + k, r1 + c0 + k, r1 + c1 + k,
                                       o + depth + k, n);
  }
}

// The first out_w pixels of an output row of the general case, from input rows r0 (y0)
// and r1 (y1), dy past y0.
template <class W, class A>
inline void bilinear_row(const A& ax, int32_t out_w, int32_t depth, float dy, const float* r0,
                         const float* r1, float* out) {
  for (int32_t x = 0; x < out_w; ++x, out += depth) {
    const float dx = ax.frac[x];
    const typename W::T s[4] = {W::set1((1 - dy) * (1 - dx)), W::set1((1 - dy) * dx),
                                W::set1(dy * (1 - dx)), W::set1(dy * dx)};
    const int64_t c0 = int64_t{ax.lo[x]} * depth, c1 = int64_t{ax.hi[x]} * depth;
    int32_t k = 0;
    for (; k + W::N <= depth; k += W::N)
      bilinear_block<W, true>(r0 + c0 + k, r0 + c1 + k, r1 + c0 + k, r1 + c1 + k, s, out + k, W::N);
    if (k < depth)
      bilinear_block<W, false>(r0 + c0 + k, r0 + c1 + k, r1 + c0 + k, r1 + c1 + k, s, out + k,
                               depth - k);
  }
}

// By channel vectors: TFLite's 2x special case (kTwice) or its general sum.
template <class W, bool kTwice, class P, class A>
inline void resize_bilinear_with(const P& p, const A& ay, const A& ax, const float* in, float* out) {
  const int64_t row = int64_t{p.in_w} * p.depth, out_row = int64_t{p.out_w} * p.depth;
  for (int32_t n = 0; n < p.batches; ++n) {
    const float* image = in + n * (p.in_h * row);
    for (int32_t y = 0; y < p.out_h; ++y, out += out_row) {
      const float* r0 = image + ay.lo[y] * row;
      const float* r1 = image + ay.hi[y] * row;
      if (!kTwice) {
        bilinear_row<W>(ax, p.out_w, p.depth, ay.frac[y], r0, r1, out);
      } else if (y % 2 == 0) {
        twice_row<W, false>(ax, p.out_w, p.depth, r0, r1, out);
      } else {
        twice_row<W, true>(ax, p.out_w, p.depth, r0, r1, out);
      }
    }
  }
}

template <bool kTwice, class P, class A>
inline void resize_bilinear_channels(const P& p, const A& ay, const A& ax, const float* in, float* out) {
  if (p.depth < VQuad::N) {
    resize_bilinear_with<simd::Scalar, kTwice>(p, ay, ax, in, out);
  } else if (p.depth < VNarrow::N) {
    resize_bilinear_with<VQuad, kTwice>(p, ay, ax, in, out);
  } else if (p.depth < V::N) {
    resize_bilinear_with<VNarrow, kTwice>(p, ay, ax, in, out);
  } else {
    resize_bilinear_with<V, kTwice>(p, ay, ax, in, out);
  }
}

// Entry points, one per path (resize.h: BilinearPath), so that a model compiles only its own.
template <class P, class A>
inline void resize_bilinear_twice(const P& p, const A& ay, const A& ax, const float* in, float* out) {
  resize_bilinear_channels<true>(p, ay, ax, in, out);
}

template <class P, class A>
inline void resize_bilinear_general(const P& p, const A& ay, const A& ax, const float* in, float* out) {
  resize_bilinear_channels<false>(p, ay, ax, in, out);
}

// ---- few channels, general case ------------------------------------------------------
// With few channels, vectors along the channels would be mostly empty and every output
// pixel would pay for its four weights. The output rows are then flat runs of
// out_w * depth floats, made a chunk of whole pixels at a time (depth <= 16, so a chunk
// holds at least 32 pixels): each input row the chunk needs is interpolated along x once
// (kept in one of two slots while the output rows that share it are made: every input row
// feeds about two output rows of a 2x upsample), and each output row of the chunk is one
// full-width vector blend of two such rows, (1 - dy) * top + dy * bottom.
// This rounds unlike TFLite's four products (a few ulp of the result's magnitude) but,
// while every weight is in [0, 1], agrees with it on inf and NaN: an inf weighted 0 gives
// NaN in both, an inf weighted otherwise spreads alike, and no partial sum outgrows the
// inputs.
// A half-pixel upsample clamps its first rows and columns (v < 0) to input 0: lo = hi = 0
// and frac < 0, so one pixel a is weighted 1 - frac > 1 and frac < 0. There a finite a
// near the float maximum overflows in one order and not the other (along x first,
// a * 1.25 + a * -0.25 = inf, then inf * (1 - dy) + ... = inf or NaN, where TFLite's
// a * (1 - dy) * 1.25 may stay finite), so those rows and columns (leading_outside) are
// made in TFLite's order, by bilinear_row, and the flat rows make the rest.
template <class W, class A>
inline void lerp_columns(const A& ax, int32_t x0, int32_t x1, int32_t depth, const float* r, float* t) {
  for (int32_t x = x0; x < x1; ++x, t += depth) {
    const float dx = ax.frac[x];
    const typename W::T wa = W::set1(1 - dx), wb = W::set1(dx);
    const float* a = r + int64_t{ax.lo[x]} * depth;
    const float* b = r + int64_t{ax.hi[x]} * depth;
    int32_t k = 0;
    for (; k + W::N <= depth; k += W::N)
      W::store(t + k, W::add(W::mul(W::load(a + k), wa), W::mul(W::load(b + k), wb)));
    for (; k < depth; ++k) t[k] = a[k] * (1 - dx) + b[k] * dx;  // scalars beat a masked tail
  }
}

template <class W>
inline void lerp_rows(int32_t n, float dy, const float* t0, const float* t1, float* o) {
  const typename W::T w0 = W::set1(1 - dy), w1 = W::set1(dy);
  int32_t k = 0;
  for (; k + W::N <= n; k += W::N)
    W::store(o + k, W::add(W::mul(W::load(t0 + k), w0), W::mul(W::load(t1 + k), w1)));
  if (k < n) {
    const typename W::T top = W::loadn(t0 + k, n - k), bottom = W::loadn(t1 + k, n - k);
    W::storen(o + k, W::add(W::mul(top, w0), W::mul(bottom, w1)), n - k);
  }
}

// Two input rows interpolated along x over one chunk of output pixels, by input row.
struct LerpedRows {
  static constexpr int32_t kFloats = 512;
  int32_t row[2] = {-1, -1};
  float data[2][kFloats];

  // The slot holding input row r, filled unless there already; never slot `keep`.
  template <class W, class A>
  int slot(int32_t r, int keep, const A& ax, int32_t x0, int32_t x1, int32_t depth, const float* image,
           int64_t in_row) {
    if (row[0] == r || row[1] == r) return row[0] == r ? 0 : 1;
    const int s = keep == 0 ? 1 : 0;
    lerp_columns<W>(ax, x0, x1, depth, image + r * in_row, data[s]);
    row[s] = r;
    return s;
  }
};

// How many leading outputs of an axis have a weight outside [0, 1] (a half-pixel
// upsample's clamped border, frac < 0). The generator picks flat rows only where every
// later weight is inside (ops/spatial.py: _bilinear_path).
template <class A>
inline int32_t leading_outside(const A& a, int32_t n) {
  int32_t i = 0;
  while (i < n && !(a.frac[i] >= 0 && a.frac[i] <= 1)) ++i;
  return i;
}

// Output pixels [x0, x1) of a row from input rows r0 and r1 straight from their corners,
// along x then y as the flat rows round (lerp_columns, then lerp_rows), without the row
// buffers: for a downsample, whose input rows feed one output row or two, not about two
// each as an upsample's do.
// Three channels (an RGB image) go as four, the fourth lane the next pixel's first channel,
// wherever that stays inside the input row and the output row (not at either's end).
template <class WX, class A>
inline void lerp_pixels(const A& ax, int32_t x0, int32_t x1, int32_t depth, int32_t in_w, float dy,
                        const float* r0, const float* r1, float* o) {
  const typename WX::T w0 = WX::set1(1 - dy), w1 = WX::set1(dy);
  for (int32_t x = x0; x < x1; ++x, o += depth) {
    const float dx = ax.frac[x];
    const typename WX::T wa = WX::set1(1 - dx), wb = WX::set1(dx);
    const int64_t c0 = int64_t{ax.lo[x]} * depth, c1 = int64_t{ax.hi[x]} * depth;
    int32_t k = 0;
    if (WX::N == 4 && depth == 3 && ax.hi[x] + 1 < in_w && x + 1 < x1) {
      const typename WX::T top = WX::add(WX::mul(WX::load(r0 + c0), wa), WX::mul(WX::load(r0 + c1), wb));
      const typename WX::T bottom = WX::add(WX::mul(WX::load(r1 + c0), wa), WX::mul(WX::load(r1 + c1), wb));
      WX::store(o, WX::add(WX::mul(top, w0), WX::mul(bottom, w1)));
      continue;
    }
    for (; k + WX::N <= depth; k += WX::N) {
      const typename WX::T top = WX::add(WX::mul(WX::load(r0 + c0 + k), wa), WX::mul(WX::load(r0 + c1 + k), wb));
      const typename WX::T bottom = WX::add(WX::mul(WX::load(r1 + c0 + k), wa), WX::mul(WX::load(r1 + c1 + k), wb));
      WX::store(o + k, WX::add(WX::mul(top, w0), WX::mul(bottom, w1)));
    }
    for (; k < depth; ++k) {
      const float top = r0[c0 + k] * (1 - dx) + r0[c1 + k] * dx, bottom = r1[c0 + k] * (1 - dx) + r1[c1 + k] * dx;
      o[k] = top * (1 - dy) + bottom * dy;
    }
  }
}

// lerp_pixels for 4 channels, V::N / 4 output pixels a vector (quads: each pixel's corner
// one 128-bit lane), lane for lane the same products and sums. Returns where it stopped:
// the last pixels, fewer than a vector (or whose spread4 would read past ax.frac), are
// lerp_pixels'.
template <class W, class A>
inline int32_t lerp_quads(const A& ax, int32_t x0, int32_t x1, float dy, const float* r0, const float* r1,
                          float* o) {
  const typename W::T w0 = W::set1(1 - dy), w1 = W::set1(dy), one = W::set1(1);
  int32_t x = x0;
  for (; x + 4 <= x1; x += W::N / 4, o += W::N) {
    const typename W::T wb = W::spread4(ax.frac + x), wa = W::sub(one, wb);
    const typename W::T top = W::add(W::mul(W::quads(r0, ax.lo + x), wa), W::mul(W::quads(r0, ax.hi + x), wb));
    const typename W::T bottom = W::add(W::mul(W::quads(r1, ax.lo + x), wa), W::mul(W::quads(r1, ax.hi + x), wb));
    W::store(o, W::add(W::mul(top, w0), W::mul(bottom, w1)));
  }
  return x;
}

// WX: the channel-vector traits of the depth, for the rows along x and the border.
template <class W, class WX, class P, class A>
inline void resize_bilinear_flat(const P& p, const A& ay, const A& ax, const float* in, float* out) {
  const int64_t in_row = int64_t{p.in_w} * p.depth, out_row = int64_t{p.out_w} * p.depth;
  const int32_t pixels = LerpedRows::kFloats / p.depth;
  const int32_t by = leading_outside(ay, p.out_h), bx = leading_outside(ax, p.out_w);
  for (int32_t n = 0; n < p.batches; ++n, out += p.out_h * out_row) {
    const float* image = in + n * (p.in_h * in_row);
    // the border in TFLite's order: the first by rows whole, the first bx columns of the rest
    for (int32_t y = 0; y < p.out_h; ++y)
      bilinear_row<WX>(ax, y < by ? p.out_w : bx, p.depth, ay.frac[y], image + ay.lo[y] * in_row,
                       image + ay.hi[y] * in_row, out + y * out_row);
    if (p.out_h <= p.in_h) {
      for (int32_t y = by; y < p.out_h; ++y) {
        const float *r0 = image + ay.lo[y] * in_row, *r1 = image + ay.hi[y] * in_row;
        int32_t x = bx;
        if constexpr (W::N > 4) {
          if (p.depth == 4) x = lerp_quads<W>(ax, bx, p.out_w, ay.frac[y], r0, r1, out + y * out_row + int64_t{bx} * 4);
        }
        lerp_pixels<WX>(ax, x, p.out_w, p.depth, p.in_w, ay.frac[y], r0, r1, out + y * out_row + int64_t{x} * p.depth);
      }
      continue;
    }
    for (int32_t x0 = bx; x0 < p.out_w; x0 += pixels) {
      const int32_t x1 = x0 + pixels < p.out_w ? x0 + pixels : p.out_w;
      LerpedRows rows;
      for (int32_t y = by; y < p.out_h; ++y) {
        const int keep = rows.row[1] == ay.hi[y] ? 1 : 0;
        const int top = rows.slot<WX>(ay.lo[y], keep, ax, x0, x1, p.depth, image, in_row);
        const int bottom = rows.slot<WX>(ay.hi[y], top, ax, x0, x1, p.depth, image, in_row);
        lerp_rows<W>((x1 - x0) * p.depth, ay.frac[y], rows.data[top], rows.data[bottom],
                     out + y * out_row + int64_t{x0} * p.depth);
      }
    }
  }
}

template <class P, class A>
inline void resize_bilinear_flat_rows(const P& p, const A& ay, const A& ax, const float* in, float* out) {
  if (p.depth < VQuad::N - 1) {
    resize_bilinear_flat<V, simd::Scalar>(p, ay, ax, in, out);
  } else if (p.depth < VNarrow::N) {  // 3 channels too: lerp_pixels
    resize_bilinear_flat<V, VQuad>(p, ay, ax, in, out);
  } else if (p.depth < V::N) {
    resize_bilinear_flat<V, VNarrow>(p, ay, ax, in, out);
  } else {
    resize_bilinear_flat<V, V>(p, ay, ax, in, out);
  }
}

// ---- nearest neighbour ---------------------------------------------------------------
// Inline vector copies rather than a memcpy call per pixel, which for a few hundred bytes
// costs about as much as the copy itself.
template <class W>
inline void copy_floats(const float* src, float* dst, int32_t n) {
  int32_t k = 0;
  for (; k + W::N <= n; k += W::N) W::store(dst + k, W::load(src + k));
  if (k < n) W::storen(dst + k, W::loadn(src + k, n - k), n - k);
}

template <class W, class P>
inline void resize_nearest_with(const P& p, const int32_t* ys, const int32_t* xs, const float* in,
                                float* out) {
  const int64_t row = int64_t{p.in_w} * p.depth;
  for (int32_t b = 0; b < p.batches; ++b) {
    const float* image = in + b * (p.in_h * row);
    for (int32_t y = 0; y < p.out_h; ++y) {
      const float* r = image + ys[y] * row;
      for (int32_t x = 0; x < p.out_w; ++x, out += p.depth)
        copy_floats<W>(r + int64_t{xs[x]} * p.depth, out, p.depth);
    }
  }
}

template <class P>
inline void resize_nearest_f32(const P& p, const int32_t* ys, const int32_t* xs, const float* in,
                             float* out) {
  if (p.depth < V::N) {
    resize_nearest_with<VNarrow>(p, ys, xs, in, out);
  } else {
    resize_nearest_with<V>(p, ys, xs, in, out);
  }
}
