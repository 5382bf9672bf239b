// The byte MAXIMUM / MINIMUM run of simd_qminmax.h, compiled once per instruction set:
// included there inside a namespace that names the byte-vector traits `V`. Never on its own.

// n output elements; each operand read with stride 1 or broadcast (stride 0), else the
// plain loop. Full vectors first, then the tail element by element.
template <bool kMax, typename T>
inline void minmax_run(int32_t n, const T* a, int32_t sa, const T* b, int32_t sb, T* o) {
  constexpr bool kSigned = std::is_signed_v<T>;
  int32_t i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + V::N <= n; i += V::N)
      V::store(o + i, V::template pick<kMax, kSigned>(V::load(a + i), V::load(b + i)));
  } else if (sa == 1 && sb == 0) {
    const typename V::T vb = V::set1(static_cast<char>(*b));
    for (; i + V::N <= n; i += V::N) V::store(o + i, V::template pick<kMax, kSigned>(V::load(a + i), vb));
  } else if (sa == 0 && sb == 1) {
    const typename V::T va = V::set1(static_cast<char>(*a));
    for (; i + V::N <= n; i += V::N) V::store(o + i, V::template pick<kMax, kSigned>(va, V::load(b + i)));
  }
  for (; i < n; ++i) {
    const T x = a[int64_t{i} * sa], y = b[int64_t{i} * sb];
    o[i] = kMax ? (x > y ? x : y) : (x < y ? x : y);
  }
}

template <bool kMax, typename T>
inline void minmax_loop(const Loop6& loop, const T* a, const T* b, T* out) {
  const int32_t n = loop.dims[5];
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  for_each_run(loop, [&](int64_t ia, int64_t ib, int64_t io) {
    minmax_run<kMax>(n, a + ia, sa, b + ib, sb, out + io);
  });
}
