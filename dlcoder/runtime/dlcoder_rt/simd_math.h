// SIMD vector math and elementwise kernels, written once against the vector traits `V`.
//
// NOT a normal header: simd.h includes it once per ISA, inside a namespace that defines `V`,
// under that ISA's target pragma, before simd_kernels.h (whose epilogues use it). It must
// not include anything itself. Every function is a template (at least over a dummy `kLazy`)
// so that a model instantiates, for each ISA, only what it calls.

// ---- vector math (also the epilogues of GEMM and depthwise tiles) ------------------
// exp(kS x), kS in {1, -1, -2}: kS x = t ln2 + r, t = n / 32 (n integral), with |r| <= ln2/64,
// then exp(kS x) = 2^floor(t) 2^(t - floor(t)) exp(r), the middle factor one of 32 table
// entries (kExp2Frac32) and exp(r) a degree-2 minimax polynomial, 2^floor(t) by vscalefps.
// n comes from a magic-number addition that leaves it in the low mantissa bits, which index
// the table as they are (one permute of two registers): 9 instructions, against 10 for the
// table-free form below with a chain of 5 FMAs; AVX-512 on Zen 4, ns per 16 floats: tanh
// 3.39 -> 2.67, ELU 2.79 -> 2.20, GELU-tanh 4.78 -> 3.55, logistic 3.25 -> 2.82, exp 2.38 ->
// 2.14 (with the tanh, ELU and GELU changes in unary_op). The table-free form, on ISAs
// without a two-register permute (V::kLut false):
// t = n integral and |r| <= ln2/2, exp(r) by a degree-5 minimax polynomial, times 2^n
// (V::scale2n: exponent bits). ln2 is split in two (Cody-Waite) so that r is exact enough
// for the full range; kRr1 allows one step on the table path, where the fused multiply-add
// rounds t ln2 + x once, for callers whose |kS x| stays small or whose absolute error does
// not see the relative error of a large exp (tanh, ELU, GELU: 2.9e-7 relative at |kS x| = 104).
// kS folds into the reduction and the coefficients, as powers of two (exact), so that
// logistic, swish and tanh need no separate negate or scale. Relative error below 2 ulp
// (measured 1.73 for the table form, whose polynomial and table entries tools/fit_exp_lut.py
// fits and bounds; 1.96 for the other with FMA, 2.12 without), and the ends are std::exp's (what
// TFLite calls), at no cost in the normal range: exp_v clamps kS x to [-104, 89], where 2^t
// is at most 2^128 and at least 2^-151, so the result itself rounds to inf above
// ln(FLT_MAX) = 88.72 (+inf included), to subnormals below -87.34 and to 0 below -103.97
// (-inf included). NaN stays NaN (the clamp's operand order, see simd.h). kNonPositive:
// kS x <= 0 is known (SOFTMAX's x - max), so only the bottom clamp is needed.
alignas(64) constexpr float kExp2Frac32[32] = {  // 2^(j/32) rounded to float, j = 0..31
    0x1.000000p+0f, 0x1.059B0Ep+0f, 0x1.0B5586p+0f, 0x1.11301Ep+0f, 0x1.172B84p+0f, 0x1.1D4874p+0f,
    0x1.2387A6p+0f, 0x1.29E9E0p+0f, 0x1.306FE0p+0f, 0x1.371A74p+0f, 0x1.3DEA64p+0f, 0x1.44E086p+0f,
    0x1.4BFDAEp+0f, 0x1.5342B6p+0f, 0x1.5AB07Ep+0f, 0x1.6247ECp+0f, 0x1.6A09E6p+0f, 0x1.71F75Ep+0f,
    0x1.7A1148p+0f, 0x1.82589Ap+0f, 0x1.8ACE54p+0f, 0x1.93737Cp+0f, 0x1.9C4918p+0f, 0x1.A5503Cp+0f,
    0x1.AE89FAp+0f, 0x1.B7F770p+0f, 0x1.C199BEp+0f, 0x1.CB720Ep+0f, 0x1.D5818Ep+0f, 0x1.DFC974p+0f,
    0x1.EA4AFAp+0f, 0x1.F50766p+0f};

// exp(kS x) for kS x in [-104, 89] (the callers clamp): the table form. A template on the
// traits W = V, so that ISAs without lut32 never instantiate it.
template <class W, int kS, bool kRr1>
inline typename W::T exp_table(typename W::T x) {
  using T = typename W::T;
  constexpr float s = kS;
  // v = 1.5 * 2^18 + t, rounded to a multiple of 2^-5: n in its low mantissa bits
  const T magic = W::set1(0x1.8p18f);
  const T v = W::fma(x, W::set1(s * 1.44269504088896341f), magic);
  const T frac = W::lut32(kExp2Frac32, v);  // 2^((n mod 32) / 32)
  const T t = W::sub(v, magic);
  T q;  // r = s q
  if constexpr (kRr1) {
    q = W::fma(t, W::set1(-0.693147180559945f / s), x);
  } else {
    q = W::fma(t, W::set1(-0.693359375f / s), x);
    q = W::fma(t, W::set1(2.12194440e-4f / s), q);
  }
  // exp(r) = 1 + r (c1 + c2 r), times the table entry: frac + (frac q) (c1 s + c2 s^2 q)
  const T p = W::fma(q, W::set1(0x1.000006p-1f * s * s), W::set1(0x1.0000F6p+0f * s));
  return W::scale2floor(W::fma(W::mul(q, frac), p, frac), t);
}

// the same, in either form
template <int kS, bool kRr1 = false>
inline typename V::T exp_core(typename V::T x) {
  if constexpr (V::kLut) {
    return exp_table<V, kS, kRr1>(x);
  } else {
    using T = typename V::T;
    constexpr float s = kS;
    const T n = V::round(V::mul(x, V::set1(s * 1.44269504088896341f)));
    T q = V::fma(n, V::set1(-0.693359375f / s), x);  // r = s q
    q = V::fma(n, V::set1(2.12194440e-4f / s), q);
    T y = V::set1(0x1.0F9F9Cp-7f * s * s * s * s * s);
    y = V::fma(y, q, V::set1(0x1.573A1Ap-5f * s * s * s * s));
    y = V::fma(y, q, V::set1(0x1.555A80p-3f * s * s * s));
    y = V::fma(y, q, V::set1(0x1.FFFDC6p-2f * s * s));
    y = V::fma(y, q, V::set1(0x1.FFFFF6p-1f * s));
    y = V::fma(y, q, V::set1(1.0f));
    return V::scale2n(y, n);  // n in [-150, 128]
  }
}

template <int kS = 1, bool kNonPositive = false, bool kRr1 = false>
inline typename V::T exp_v(typename V::T x) {
  static_assert(kS == 1 || kS == -1 || kS == -2, "a power-of-two factor keeps the reduction exact");
  using T = typename V::T;
  constexpr float s = kS;
  // the x where kS x is at the top and bottom of the clamp (exact: s is a power of two)
  const T top = V::set1(89.0f / s), bottom = V::set1(-104.0f / s);
  if constexpr (kNonPositive) {
    x = s > 0 ? V::max(bottom, x) : V::min(bottom, x);
  } else {
    x = s > 0 ? V::min(top, V::max(bottom, x)) : V::min(bottom, V::max(top, x));
  }
  return exp_core<kS, kRr1>(x);
}

template <int kLazy = 0>  // instantiated only where used
inline typename V::T unary_op(UnaryKind kind, typename V::T x) {
  const typename V::T one = V::set1(1.0f), zero = V::zero();
  switch (kind) {
    // logistic, swish, tanh and gelu-tanh divide rather than refine a reciprocal estimate:
    // fewer instructions, and measured faster on this Zen 5 (swish: 9.0 -> 7.4 cycles per
    // 16 floats)
    case UnaryKind::kLogistic: return V::div(one, V::add(one, exp_v<-1>(x)));
    case UnaryKind::kTanh: {
      // (1 - e) / (1 + e), e = exp(-2x): the absolute error stays ~1e-7 everywhere. x is
      // clamped to +-9.1, where e (at most 8e7, no overflow) makes the ends exactly -1 and
      // 1 (tanh(9.02) rounds to 1); NaN passes (operand order, simd.h)
      const typename V::T e = exp_core<-2, true>(V::min(V::set1(9.1f), V::max(V::set1(-9.1f), x)));
      return V::div(V::sub(one, e), V::add(one, e));
    }
    // x > 0 ? x : exp(x) - 1 as max(exp(min(0, x)) - 1, x), one instruction less than a
    // select: exp(0) - 1 is exactly 0, and for x < 0 the true exp(x) - 1 > x, so the max
    // takes x only where that is closer. exp's input is clamped at -18 (exp(-18) - 1 rounds
    // to -1). Operand order (simd.h): a NaN x comes out of min, exp and max, and on x86 -0
    // comes out as -0 (as TFLite's), on NEON as 0.
    case UnaryKind::kElu: {
      const typename V::T neg = V::max(V::set1(-18.0f), V::min(zero, x));
      return V::max(V::sub(exp_core<1, true>(neg), one), x);
    }
    case UnaryKind::kHardSwish:
      return V::mul(x, V::mul(V::min(V::max(V::add(x, V::set1(3.0f)), zero), V::set1(6.0f)),
                              V::set1(1.0f / 6.0f)));
    case UnaryKind::kExp: return exp_v(x);
    // x * logistic(x) as TFLite's MUL, which clamps to the float range: only x = inf gives
    // inf here (|x / (1 + e)| <= |x|), so clamping the numerator is enough
    case UnaryKind::kSwish:
      return V::div(V::min(V::set1(std::numeric_limits<float>::max()), x), V::add(one, exp_v<-1>(x)));
    case UnaryKind::kGelu: {
      // h (1 + erf(x / sqrt 2)), h = x / 2, with erf(x / sqrt 2) = x P(x^2) / Q(x^2) for
      // |x| <= 5.55 (beyond, erf is 1 in float): a 5/5 rational fit, weighted towards the
      // least maximum error (1.7e-8; 3.6e-7 evaluated in float, against 5e-7 for the A&S 7.1.26
      // form with exp that it replaces; tools/fit_gelu_erf.py). 17 instructions, one a
      // division, against 27.
      using T = typename V::T;
      const T xc = V::min(V::set1(5.5507884f), V::max(V::set1(-5.5507884f), x));
      const T w = V::mul(xc, xc);
      T p = V::set1(4.488006766223407e-08f), q = V::set1(1.188529154205753e-06f);
      p = V::fma(p, w, V::set1(1.2705246263067238e-05f));
      q = V::fma(q, w, V::set1(7.435265433741733e-05f));
      p = V::fma(p, w, V::set1(0.00034257929655723274f));
      q = V::fma(q, w, V::set1(0.001898423652164638f));
      p = V::fma(p, w, V::set1(0.009383819065988064f));
      q = V::fma(q, w, V::set1(0.028790650889277458f));
      p = V::fma(p, w, V::set1(0.06822183728218079f));
      q = V::fma(q, w, V::set1(0.2521692216396332f));
      p = V::fma(p, w, V::set1(0.797884464263916f));
      q = V::fma(q, w, one);
      const T h = V::mul(V::set1(0.5f), x);
      const T erf = V::div(V::mul(xc, p), q);  // exactly -1 at the clamp with FMA
      if constexpr (V::kFma) return V::fma(h, erf, h);
      // without FMA (scalar, SSE2) erf is 1 ulp above -1 at the clamp, and h erf + h would
      // be -2.4e-4 at x = -1e4, not 0: take 1 + erf (exact, erf < -1/2) and flush it below
      // 2^-22 (x < -5.1, where the exact value is under 6e-7)
      const T d = V::add(one, erf);
      return V::mul(h, V::select_gt(V::set1(0x1p-22f), d, zero, d));
    }
    case UnaryKind::kGeluTanh: {
      // 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3), with
      // -2u = x (k0 + k1 x^2); exp overflows to inf below u = -44, so x = -inf gives
      // -inf / inf = NaN as TFLite's 0.5 x (1 + -1) does
      const typename V::T w = V::mul(x, V::fma(V::mul(x, x), V::set1(-0.0713548162726f), V::set1(-1.5957691216057308f)));
      return V::div(x, V::add(one, exp_v<1, false, true>(w)));
    }
    // operand order (simd.h): a NaN x passes, as through TFLite's clamps
    case UnaryKind::kRelu: return V::max(zero, x);
    case UnaryKind::kRelu6: return V::min(V::set1(6.0f), V::max(zero, x));
    case UnaryKind::kReluN1To1: return V::min(one, V::max(V::set1(-1.0f), x));
    case UnaryKind::kRelu0To1: return V::min(one, V::max(zero, x));
    case UnaryKind::kAbs: return V::abs(x);
    case UnaryKind::kNeg: return V::sub(zero, x);
    case UnaryKind::kSquare: return V::mul(x, x);
    case UnaryKind::kSqrt: return V::sqrt(x);
    case UnaryKind::kRsqrt: return V::rsqrt(x);
    default: return x;
  }
}

template <UnaryKind kKind>
inline void unary_k(int64_t n, const float* in, float* out) {
  int64_t i = 0;
  for (; i + V::N <= n; i += V::N) V::store(out + i, unary_op(kKind, V::load(in + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    V::storen(out + i, unary_op(kKind, V::loadn(in + i, r)), r);
  }
}

template <int kLazy = 0>  // instantiated only where used
inline void unary(UnaryKind kind, int64_t n, const float* in, float* out) {
  switch (kind) {
#define DLCODER_RT_UNARY_CASE(K) \
  case UnaryKind::K: return unary_k<UnaryKind::K>(n, in, out);
    DLCODER_RT_UNARY_CASE(kLogistic) DLCODER_RT_UNARY_CASE(kTanh) DLCODER_RT_UNARY_CASE(kHardSwish)
    DLCODER_RT_UNARY_CASE(kExp) DLCODER_RT_UNARY_CASE(kRelu) DLCODER_RT_UNARY_CASE(kRelu6)
    DLCODER_RT_UNARY_CASE(kReluN1To1) DLCODER_RT_UNARY_CASE(kRelu0To1) DLCODER_RT_UNARY_CASE(kAbs)
    DLCODER_RT_UNARY_CASE(kNeg) DLCODER_RT_UNARY_CASE(kSquare) DLCODER_RT_UNARY_CASE(kSqrt)
    DLCODER_RT_UNARY_CASE(kRsqrt) DLCODER_RT_UNARY_CASE(kElu) DLCODER_RT_UNARY_CASE(kSwish)
    DLCODER_RT_UNARY_CASE(kGelu) DLCODER_RT_UNARY_CASE(kGeluTanh)
#undef DLCODER_RT_UNARY_CASE
    case UnaryKind::kNone:
      if (in != out) std::memcpy(out, in, sizeof(float) * n);
      return;
  }
}

// ---- SOFTMAX ---------------------------------------------------------------------------
// Rows of `depth`: exp(beta (x - max)) / sum, in XNNPACK's three passes: the max (four
// accumulators, so that the max's latency does not bound a short row), exp(beta (x - max))
// stored and summed (exp_v), the scaling by 1 / sum. A short row (at most kSoftmaxShort
// vectors: 256 floats on AVX-512, where 32 registers hold them, else 8 vectors) keeps its
// exps in registers between the last two passes. With beta = 1 (kUnitBeta; the only beta
// XNNPACK takes) there is no multiply, and x - max <= 0 needs only exp_v's bottom clamp.
// A row's partial last vector counts its lanes past the end as -inf in the max and as 0 in
// the sum (lanes_below), so that neither beta nor the max can make them inf or NaN.
constexpr int kSoftmaxShort = V::N == 16 ? 16 : 8;

// lane j of v where j < n, else fill's
template <int kLazy = 0>  // instantiated only where used
inline typename V::T lanes_below(int n, typename V::T v, typename V::T fill) {
  static constexpr float kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return V::select_gt(V::set1(static_cast<float>(n)), V::load(kIota), v, fill);
}

// max(x[0, depth)); a partial last vector re-reads the last whole one (max is idempotent)
template <int kLazy = 0>  // instantiated only where used
inline float row_max(int32_t depth, const float* x) {
  using T = typename V::T;
  const T ninf = V::set1(-std::numeric_limits<float>::infinity());
  if (depth < V::N) return V::hmax(lanes_below(depth, V::loadn(x, depth), ninf));
  T m0 = V::load(x), m1 = m0, m2 = m0, m3 = m0;
  int32_t i = V::N;
  for (; i + 4 * V::N <= depth; i += 4 * V::N) {
    m0 = V::max(m0, V::load(x + i));
    m1 = V::max(m1, V::load(x + i + V::N));
    m2 = V::max(m2, V::load(x + i + 2 * V::N));
    m3 = V::max(m3, V::load(x + i + 3 * V::N));
  }
  for (; i + V::N <= depth; i += V::N) m0 = V::max(m0, V::load(x + i));
  if (i < depth) m1 = V::max(m1, V::load(x + depth - V::N));
  return V::hmax(V::max(V::max(m0, m1), V::max(m2, m3)));
}

// exp(beta (x - max)) of the vector at x (of its first n lanes, the others 0)
template <bool kUnitBeta>
inline typename V::T softmax_exp(const float* x, int n, typename V::T vmx, typename V::T vbeta) {
  const typename V::T d = V::sub(n == V::N ? V::load(x) : V::loadn(x, n), vmx);
  const typename V::T e = kUnitBeta ? exp_v<1, true>(d) : exp_v(V::mul(d, vbeta));
  return n == V::N ? e : lanes_below(n, e, V::zero());
}

template <bool kUnitBeta>
inline void softmax_short_row(int32_t depth, typename V::T vbeta, const float* x, float* o) {
  using T = typename V::T;
  const T vmx = V::set1(row_max(depth, x));
  const int32_t vecs = (depth + V::N - 1) / V::N;
  T e[kSoftmaxShort] = {};  // every e[j < vecs] is set below; the rest are never read
  T s0 = V::zero(), s1 = V::zero();
#pragma GCC unroll 16
  for (int j = 0; j < kSoftmaxShort; j += 2) {
    if (j < vecs) {
      e[j] = softmax_exp<kUnitBeta>(x + j * V::N, std::min(V::N, depth - j * V::N), vmx, vbeta);
      s0 = V::add(s0, e[j]);
    }
    if (j + 1 < vecs) {
      e[j + 1] = softmax_exp<kUnitBeta>(x + (j + 1) * V::N, std::min(V::N, depth - (j + 1) * V::N), vmx, vbeta);
      s1 = V::add(s1, e[j + 1]);
    }
  }
  const T inv = V::set1(1.0f / V::hsum(V::add(s0, s1)));
#pragma GCC unroll 16
  for (int j = 0; j < kSoftmaxShort; ++j) {
    if (j >= vecs) break;
    const int n = std::min(V::N, depth - j * V::N);
    if (n == V::N) {
      V::store(o + j * V::N, V::mul(e[j], inv));
    } else {
      V::storen(o + j * V::N, V::mul(e[j], inv), n);
    }
  }
}

template <bool kUnitBeta>
inline void softmax_long_row(int32_t depth, typename V::T vbeta, const float* x, float* o) {
  using T = typename V::T;
  const T vmx = V::set1(row_max(depth, x));
  T s0 = V::zero(), s1 = V::zero();
  int32_t i = 0;
  for (; i + 2 * V::N <= depth; i += 2 * V::N) {
    const T e0 = softmax_exp<kUnitBeta>(x + i, V::N, vmx, vbeta);
    const T e1 = softmax_exp<kUnitBeta>(x + i + V::N, V::N, vmx, vbeta);
    V::store(o + i, e0);
    V::store(o + i + V::N, e1);
    s0 = V::add(s0, e0);
    s1 = V::add(s1, e1);
  }
  for (; i < depth; i += V::N) {
    const int n = std::min(V::N, depth - i);
    const T e = softmax_exp<kUnitBeta>(x + i, n, vmx, vbeta);
    V::storen(o + i, e, n);
    s0 = V::add(s0, e);
  }
  const T inv = V::set1(1.0f / V::hsum(V::add(s0, s1)));
  for (i = 0; i + V::N <= depth; i += V::N) V::store(o + i, V::mul(V::load(o + i), inv));
  if (i < depth) V::storen(o + i, V::mul(V::loadn(o + i, depth - i), inv), depth - i);
}

template <bool kUnitBeta>
inline void softmax_rows(int64_t rows, int32_t depth, float beta, const float* in, float* out) {
  const typename V::T vbeta = V::set1(beta);
  if (depth <= kSoftmaxShort * V::N) {
    for (int64_t r = 0; r < rows; ++r) softmax_short_row<kUnitBeta>(depth, vbeta, in + r * depth, out + r * depth);
  } else {
    for (int64_t r = 0; r < rows; ++r) softmax_long_row<kUnitBeta>(depth, vbeta, in + r * depth, out + r * depth);
  }
}

template <int kLazy = 0>  // instantiated only where used
inline void softmax(int64_t rows, int32_t depth, float beta, const float* in, float* out) {
  if (beta == 1.0f) return softmax_rows<true>(rows, depth, beta, in, out);
  softmax_rows<false>(rows, depth, beta, in, out);
}

// out[j] += in[j] for a dense run (SUM/MEAN over outer dims).
template <int kLazy = 0>  // instantiated only where used
inline void accumulate(int32_t n, const float* in, float* out) {
  int32_t i = 0;
  for (; i + V::N <= n; i += V::N) V::store(out + i, V::add(V::load(out + i), V::load(in + i)));
  for (; i < n; ++i) out[i] += in[i];
}

// out[j] += x[0][j] + x[1][j] + ... + x[rows-1][j] for j in [0, n), rows `ldx` floats
// apart, added in row order (as a sequential loop would) with up to four column vectors
// held in registers across all rows (e.g. MEAN over H and W: rows are pixels).
template <int kLazy = 0>  // instantiated only where used
inline void sum_rows(int64_t rows, int32_t n, const float* x, int64_t ldx, float* out) {
  constexpr int kQ = 4;
  for (int32_t j0 = 0; j0 < n; j0 += kQ * V::N) {
    const int32_t w = n - j0 < kQ * V::N ? n - j0 : kQ * V::N;  // columns in this block
    typename V::T acc[kQ];
#pragma GCC unroll 4
    for (int q = 0; q < kQ; ++q) {
      const int32_t c = w - q * V::N;
      acc[q] = c >= V::N ? V::load(out + j0 + q * V::N) : c > 0 ? V::loadn(out + j0 + q * V::N, c) : V::zero();
    }
    if (w == kQ * V::N) {
      for (int64_t r = 0; r < rows; ++r) {
        const float* p = x + r * ldx + j0;
#pragma GCC unroll 4
        for (int q = 0; q < kQ; ++q) acc[q] = V::add(acc[q], V::load(p + q * V::N));
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        const float* p = x + r * ldx + j0;
#pragma GCC unroll 4
        for (int q = 0; q < kQ; ++q) {
          const int32_t c = w - q * V::N;
          if (c > 0) acc[q] = V::add(acc[q], c >= V::N ? V::load(p + q * V::N) : V::loadn(p + q * V::N, c));
        }
      }
    }
#pragma GCC unroll 4
    for (int q = 0; q < kQ; ++q) {
      const int32_t c = w - q * V::N;
      if (c >= V::N) {
        V::store(out + j0 + q * V::N, acc[q]);
      } else if (c > 0) {
        V::storen(out + j0 + q * V::N, acc[q], c);
      }
    }
  }
}

// The sum of x[0, n): lane-wise partial sums in two registers, then across lanes (a
// different rounding order than a sequential sum, within float rounding of it).
template <int kLazy = 0>  // instantiated only where used
inline float sum(int32_t n, const float* x) {
  typename V::T a0 = V::zero(), a1 = V::zero();
  int32_t i = 0;
  for (; i + 2 * V::N <= n; i += 2 * V::N) {
    a0 = V::add(a0, V::load(x + i));
    a1 = V::add(a1, V::load(x + i + V::N));
  }
  if (i + V::N <= n) {
    a0 = V::add(a0, V::load(x + i));
    i += V::N;
  }
  float s = V::hsum(V::add(a0, a1));
  for (; i < n; ++i) s += x[i];
  return s;
}

// out[r * ldo] += sum(row r) for `rows` rows of n floats, ldx apart: a SUM or MEAN over the
// last axis in one call, each row added as sum() adds it (the rows' chains overlap; one ISA
// dispatch for them all rather than one per row, which cost MEAN over 256 channels 1.25x
// XNNPACK's time).
template <int kLazy = 0>  // instantiated only where used
inline void sum_each_row(int64_t rows, int32_t n, const float* x, int64_t ldx, float* out, int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r) out[r * ldo] += sum<kLazy>(n, x + r * ldx);
}

// x[i] = x[i] / d: MEAN's division by its count, a true division as TFLite's.
template <int kLazy = 0>  // instantiated only where used
inline void divide_by(int64_t n, float* x, float d) {
  const typename V::T vd = V::set1(d);
  int64_t i = 0;
  for (; i + V::N <= n; i += V::N) V::store(x + i, V::div(V::load(x + i), vd));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    V::storen(x + i, V::div(V::loadn(x + i, r), vd), r);
  }
}

// Layer normalisation of rows of `depth` (passes/fuse_layer_norm.py): mean, then the mean
// squared difference from it, then (x - mean) / sqrt(var + eps) * gamma + beta.
template <int kLazy = 0>  // instantiated only where used
inline void layer_norm(int64_t rows, int32_t depth, float eps, const float* in, const float* gamma,
                       const float* beta, float* out) {
  using T = typename V::T;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * depth;
    float* o = out + r * depth;
    const float mean = sum<kLazy>(depth, x) / static_cast<float>(depth);
    const T vm = V::set1(mean);
    T a0 = V::zero();
    int32_t i = 0;
    for (; i + V::N <= depth; i += V::N) {
      const T d = V::sub(V::load(x + i), vm);
      a0 = V::fma(d, d, a0);
    }
    float sq = V::hsum(a0);
    for (; i < depth; ++i) sq += (x[i] - mean) * (x[i] - mean);
    // the pattern's ADD(variance, eps) clamps to FLT_MAX as every float ADD does in TFLite:
    // an infinite variance gives 1 / sqrt(FLT_MAX), not 0 (NaN passes)
    const float var_eps = std::min(sq / static_cast<float>(depth) + eps, std::numeric_limits<float>::max());
    const float rs = 1.0f / std::sqrt(var_eps);
    const T vr = V::set1(rs);
    for (i = 0; i + V::N <= depth; i += V::N) {
      const T g = V::mul(vr, V::load(gamma + i));
      V::store(o + i, V::fma(V::sub(V::load(x + i), vm), g, V::load(beta + i)));
    }
    for (; i < depth; ++i) o[i] = (x[i] - mean) * (rs * gamma[i]) + beta[i];
  }
}

// One step of an LSTM cell on `rows` rows of n units (passes/fuse_lstm_cell.py). A row of z
// (4 * n floats) holds the four gates' pre-activations, gate k at offset at[k] (k: input,
// forget, cell, output), to which bias + at[k] is added when bias is not null. Then
// c = sigma(f) * c_prev + sigma(i) * tanh(g) and h = sigma(o) * tanh(c), with the same
// vector functions and the same roundings as the unfused LOGISTIC, TANH, MUL and ADD ops.
template <int kLazy = 0>  // instantiated only where used
inline void lstm_cell(int64_t rows, int32_t n, const int32_t* at, const float* z, const float* bias,
                      const float* c_prev, float* c, float* h) {
  using T = typename V::T;
  for (int64_t r = 0; r < rows; ++r) {
    const float* zr = z + r * 4 * n;
    const int64_t row = r * n;
    for (int32_t j = 0; j < n; j += V::N) {
      const int m = n - j < V::N ? n - j : V::N;
      auto load = [&](const float* p) { return m == V::N ? V::load(p) : V::loadn(p, m); };
      auto gate = [&](int k, UnaryKind act) {
        T v = load(zr + at[k] + j);
        if (bias != nullptr) v = V::add(v, load(bias + at[k] + j));
        return unary_op(act, v);
      };
      const T i = gate(0, UnaryKind::kLogistic), f = gate(1, UnaryKind::kLogistic);
      const T g = gate(2, UnaryKind::kTanh), o = gate(3, UnaryKind::kLogistic);
      const T cn = V::add(V::mul(f, load(c_prev + row + j)), V::mul(i, g));
      const T hn = V::mul(o, unary_op(UnaryKind::kTanh, cn));
      if (m == V::N) {
        V::store(c + row + j, cn);
        V::store(h + row + j, hn);
      } else {
        V::storen(c + row + j, cn, m);
        V::storen(h + row + j, hn, m);
      }
    }
  }
}

// GEMM panels [panels][k][16] with row kk scaled by scale[kk] (a per-input-channel
// multiplier folded into a 1x1 conv's weights: ops/conv.py, passes/fuse_input_scale.py).
// packed: floats, or float16 weights (uint16_t), widened exactly first, so the float
// products are those of the float32 weights.
template <class B>
inline void scale_panel_rows(int32_t panels, int32_t k, const B* packed, const float* scale, float* out) {
  static_assert(std::is_same<B, float>::value || std::is_same<B, uint16_t>::value, "float or float16 panels");
  for (int32_t q = 0; q < panels; ++q) {
    for (int32_t kk = 0; kk < k; ++kk) {
      const typename V::T s = V::set1(scale[kk]);
      const int64_t at = (int64_t{q} * k + kk) * 16;
#pragma GCC unroll 4
      for (int j = 0; j < 16; j += V::N) {
        typename V::T w;
        if constexpr (std::is_same<B, uint16_t>::value) {
          w = V::load_half(packed + at + j);
        } else {
          w = V::load(packed + at + j);
        }
        V::store(out + at + j, V::mul(w, s));
      }
    }
  }
}
