// The int8 bilinear resize of simd_qresize.h, compiled once per instruction set: included
// there inside a namespace that names the int32-lane traits `V`. Never on its own.

// One output pixel's `depth` channels from the four corners, N channels at a time in
// int32 lanes (exact: see simd_qresize.h), the tail masked (V::kMasked) or element by
// element as resize.h's resize_bilinear_integer.
inline void bilinear_i8_pixel(int32_t depth, const int8_t* a, const int8_t* b, const int8_t* c,
                              const int8_t* d, int32_t w00, int32_t w01, int32_t w10, int32_t w11,
                              int8_t* o) {
  const typename V::T v00 = V::set1(w00), v01 = V::set1(w01), v10 = V::set1(w10), v11 = V::set1(w11);
  int32_t k = 0;
  for (; k + V::N <= depth; k += V::N) {
    const typename V::T s = V::add(V::add(V::mul(V::load(a + k), v00), V::mul(V::load(b + k), v01)),
                                   V::add(V::mul(V::load(c + k), v10), V::mul(V::load(d + k), v11)));
    V::store(o + k, V::round20(s));
  }
  if constexpr (V::kMasked) {
    if (k < depth) {
      const int32_t n = depth - k;
      const typename V::T s = V::add(V::add(V::mul(V::loadn(a + k, n), v00), V::mul(V::loadn(b + k, n), v01)),
                                     V::add(V::mul(V::loadn(c + k, n), v10), V::mul(V::loadn(d + k, n), v11)));
      V::storen(o + k, V::round20(s), n);
    }
  } else {
    for (; k < depth; ++k) {
      const int32_t s = a[k] * w00 + b[k] * w01 + c[k] * w10 + d[k] * w11;
      const int32_t q = ((s < 0 ? -s : s) + (1 << 19)) >> 20;
      o[k] = static_cast<int8_t>(s < 0 ? -q : q);
    }
  }
}

// P, A: resize.h's ResizeParams and ResizeAxisQ
template <class P, class A>
inline void bilinear_i8(const P& p, const A& ay, const A& ax, const int8_t* in, int8_t* out) {
  constexpr int32_t kOne = 1 << 10;
  for_each_pixel(p, ay, ax, in, out,
                 [&](const int8_t* a, const int8_t* b, const int8_t* c, const int8_t* d, int32_t dy,
                     int32_t dx, int8_t* o) {
                   bilinear_i8_pixel(p.depth, a, b, c, d, (kOne - dy) * (kOne - dx), (kOne - dy) * dx,
                                     dy * (kOne - dx), dy * dx, o);
                 });
}
