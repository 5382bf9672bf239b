// The rows of DLCODER_ADD_CHANNEL_PAD (channel_pad.h), written once against the vector traits `V` (see simd.h).
//
// NOT a normal header, like simd_kernels.h: simd.h includes it once per ISA, after
// simd_math.h (whose binary runs it uses), inside the ISA's namespace and target pragma. It
// must not include anything itself; its kernel is a template so that only a model that
// calls it instantiates it.

// Pixels [p0, p1) of out[p][i] = act(a[p][i] + x[p][i - lo]) for lo <= i < lo + cx, and
// act(a[p][i] + 0.0f) for the other i < c (the zeros of a folded PAD: adding them is what
// TFLite's ADD does, -0 becoming +0). Three runs a pixel, each vectorised.
template <int kLazy = 0>  // instantiated only where used
inline void add_channel_pad(const float* a, const float* x, float* out, int32_t c, int32_t cx, int32_t lo,
                            Clamp<float> act, int64_t p0, int64_t p1) {
  const typename V::T vlo = V::set1(act.lo), vhi = V::set1(act.hi);
  const float zero = 0.0f;
  const int32_t hi = c - lo - cx;  // padded channels after x's
  for (int64_t p = p0; p < p1; ++p) {
    const float* pa = a + p * c;
    float* po = out + p * c;
    if (lo > 0) binary_run_k<BinaryKind::kAdd, 1, 0>(lo, pa, &zero, po, vlo, vhi);
    binary_run_k<BinaryKind::kAdd, 1, 1>(cx, pa + lo, x + p * cx, po + lo, vlo, vhi);
    if (hi > 0) binary_run_k<BinaryKind::kAdd, 1, 0>(hi, pa + lo + cx, &zero, po + lo + cx, vlo, vhi);
  }
}
