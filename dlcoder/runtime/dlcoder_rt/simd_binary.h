// SIMD float binary ops (ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE) with
// broadcasting, written once against the vector traits `V`.
//
// NOT a normal header, like simd_math.h: simd.h includes it once per ISA, inside a
// namespace that defines `V`, under that ISA's target pragma, right after simd_math.h. It
// must not include anything itself. Every function is a template (at least over a dummy
// `kLazy`) so that a model instantiates, for each ISA, only what it calls.

// ---- binary ops ----------------------------------------------------------------------
template <int kLazy = 0>  // instantiated only where used
inline typename V::T binary_op(BinaryKind kind, typename V::T a, typename V::T b) {
  switch (kind) {
    case BinaryKind::kAdd: return V::add(a, b);
    case BinaryKind::kSub: return V::sub(a, b);
    case BinaryKind::kMul: return V::mul(a, b);
    case BinaryKind::kDiv: return V::div(a, b);
    case BinaryKind::kMax: return V::pick_max(a, b);  // TFLite's a > b ? a : b, NaN included
    case BinaryKind::kMin: return V::pick_min(a, b);
    default: {
      const typename V::T d = V::sub(a, b);
      return V::mul(d, d);
    }
  }
}

// One run of n outputs; kSA / kSB are 1 (dense) or 0 (a broadcast scalar, set once).
template <BinaryKind kKind, int kSA, int kSB>
void binary_run_k(int32_t n, const float* a, const float* b, float* out, typename V::T lo, typename V::T hi) {
  using T = typename V::T;
  const T sa = V::set1(*a), sb = V::set1(*b);
  int32_t i = 0;
  for (; i + V::N <= n; i += V::N) {
    const T va = kSA ? V::load(a + i) : sa, vb = kSB ? V::load(b + i) : sb;
    V::store(out + i, V::min(hi, V::max(lo, binary_op(kKind, va, vb))));
  }
  if (i < n) {
    const int32_t r = n - i;
    const T va = kSA ? V::loadn(a + i, r) : sa, vb = kSB ? V::loadn(b + i, r) : sb;
    V::storen(out + i, V::min(hi, V::max(lo, binary_op(kKind, va, vb))), r);
  }
}

// The run kernel of an op and a stride pattern (sa, sb: 1 dense, 0 broadcast, not both 0),
// picked once per call: a loop of short runs (a [1,56,56,64] x [1,56,56,1] MUL has 3136 runs
// of 64) then pays one indirect call a run, and each op has one copy of each kernel.
using BinaryRunFn = void (*)(int32_t, const float*, const float*, float*, typename V::T, typename V::T);

template <BinaryKind kKind>
inline BinaryRunFn binary_run_fn_k(int32_t sa, int32_t sb) {
  if (sa && sb) return &binary_run_k<kKind, 1, 1>;
  return sa ? &binary_run_k<kKind, 1, 0> : &binary_run_k<kKind, 0, 1>;
}

template <int kLazy = 0>  // instantiated only where used
inline BinaryRunFn binary_run_fn(BinaryKind kind, int32_t sa, int32_t sb) {
  switch (kind) {
    case BinaryKind::kAdd: return binary_run_fn_k<BinaryKind::kAdd>(sa, sb);
    case BinaryKind::kSub: return binary_run_fn_k<BinaryKind::kSub>(sa, sb);
    case BinaryKind::kMul: return binary_run_fn_k<BinaryKind::kMul>(sa, sb);
    case BinaryKind::kDiv: return binary_run_fn_k<BinaryKind::kDiv>(sa, sb);
    case BinaryKind::kMax: return binary_run_fn_k<BinaryKind::kMax>(sa, sb);
    case BinaryKind::kMin: return binary_run_fn_k<BinaryKind::kMin>(sa, sb);
    default: return binary_run_fn_k<BinaryKind::kSquaredDifference>(sa, sb);
  }
}

// A row x column broadcast ([1,1,W,C] op [1,H,1,C]: for each h, W runs of C over a dense
// operand, each with the same run of the other): `rows` runs of c <= kRowsVectors * V::N
// outputs, the repeated run (`fixed`) held in registers, the dense one and the output rows
// c apart. Through binary_run_fn each run of 64 cost an indirect call (1.05x XNNPACK's time
// on a 32x32x64 ADD).
constexpr int32_t kRowsVectors = 8;

template <BinaryKind kKind, bool kFixedFirst>
void binary_rows_k(int64_t rows, int32_t c, const float* dense, const float* fixed, float* out, typename V::T lo,
                   typename V::T hi) {
  using T = typename V::T;
  const int32_t nv = c / V::N, rem = c % V::N;
  T f[kRowsVectors];
  for (int32_t j = 0; j < kRowsVectors; ++j)
    f[j] = j < nv ? V::load(fixed + j * V::N) : j == nv && rem ? V::loadn(fixed + j * V::N, rem) : V::set1(0.0f);
  for (int64_t r = 0; r < rows; ++r, dense += c, out += c) {
#pragma GCC unroll 8
    for (int32_t j = 0; j < kRowsVectors; ++j) {
      if (j < nv) {
        const T x = V::load(dense + j * V::N);
        V::store(out + j * V::N, V::min(hi, V::max(lo, kFixedFirst ? binary_op(kKind, f[j], x) : binary_op(kKind, x, f[j]))));
      }
    }
    if (rem) {
      const T x = V::loadn(dense + nv * V::N, rem);
      const T y = kFixedFirst ? binary_op(kKind, f[nv], x) : binary_op(kKind, x, f[nv]);
      V::storen(out + nv * V::N, V::min(hi, V::max(lo, y)), rem);
    }
  }
}

using BinaryRowsFn = void (*)(int64_t, int32_t, const float*, const float*, float*, typename V::T, typename V::T);

template <BinaryKind kKind>
inline BinaryRowsFn binary_rows_fn_k(bool fixed_first) {
  return fixed_first ? &binary_rows_k<kKind, true> : &binary_rows_k<kKind, false>;
}

template <int kLazy = 0>  // instantiated only where used
inline BinaryRowsFn binary_rows_fn(BinaryKind kind, bool fixed_first) {
  switch (kind) {
    case BinaryKind::kAdd: return binary_rows_fn_k<BinaryKind::kAdd>(fixed_first);
    case BinaryKind::kSub: return binary_rows_fn_k<BinaryKind::kSub>(fixed_first);
    case BinaryKind::kMul: return binary_rows_fn_k<BinaryKind::kMul>(fixed_first);
    case BinaryKind::kDiv: return binary_rows_fn_k<BinaryKind::kDiv>(fixed_first);
    case BinaryKind::kMax: return binary_rows_fn_k<BinaryKind::kMax>(fixed_first);
    case BinaryKind::kMin: return binary_rows_fn_k<BinaryKind::kMin>(fixed_first);
    default: return binary_rows_fn_k<BinaryKind::kSquaredDifference>(fixed_first);
  }
}

// One run of n outputs; sa/sb are 1 (dense) or 0 (broadcast scalar).
template <int kLazy = 0>  // instantiated only where used
inline void binary_run(BinaryKind kind, int32_t n, const float* a, int32_t sa, const float* b,
                       int32_t sb, float* out, Clamp<float> act) {
  const typename V::T lo = V::set1(act.lo), hi = V::set1(act.hi);
  if (!sa && !sb) {  // all one value
    const BinaryRunFn one = binary_run_fn(kind, 1, 1);
    for (int32_t i = 0; i < n; ++i) one(1, a, b, out + i, lo, hi);
    return;
  }
  binary_run_fn(kind, sa, sb)(n, a, b, out, lo, hi);
}

// A dense operand and one repeating every c elements (an input normalisation x - mean[c]
// over NHWC with 3 channels, a bias or scale per channel): runs of c elements would be one
// masked vector each below V::N, and one call through the run's function pointer each
// above it (a 112x112x32 ADD of a [32] bias: 12544 calls, 1.2x XNNPACK's time). The short
// operand is laid out repeated over kPeriodFloats once (whole vectors where c < V::N), and
// the loop runs dense. Up to 64 channels: at 256 the runs are long already, and the
// pattern measured 8% slower. Output elements [lo, hi) of the periods * c.
constexpr int32_t kPeriodFloats = 1024;

template <int kLazy = 0>  // instantiated only where used
inline void binary_periodic(BinaryKind kind, int32_t c, const float* dense, const float* period, bool period_first,
                            float* out, Clamp<float> act, int64_t lo, int64_t hi) {
  alignas(64) float pattern[kPeriodFloats];
  const int32_t len = c < V::N ? c * V::N : kPeriodFloats / c * c;
  const int64_t used = std::min<int64_t>(len, lo % len + (hi - lo));  // what [lo, hi) reads of it
  for (int32_t i = 0; i < used; ++i) pattern[i] = period[i % c];
  for (int64_t e = lo; e < hi;) {
    const int32_t phase = static_cast<int32_t>(e % len);
    const int32_t n = static_cast<int32_t>(hi - e < len - phase ? hi - e : len - phase);
    if (period_first) {
      binary_run(kind, n, pattern + phase, 1, dense + e, 1, out + e, act);
    } else {
      binary_run(kind, n, dense + e, 1, pattern + phase, 1, out + e, act);
    }
    e += n;
  }
}

// The runs (innermost dim) of output elements [lo, hi) of a Loop6, dense in loop order,
// each as run(n, a, b, out) at its first element; runs across lo or hi are cut.
template <class Run>
inline void for_runs(const Loop6& loop, const float* a, const float* b, float* out, int64_t lo, int64_t hi,
                     Run run) {
  const int32_t* d = loop.dims;
  const int32_t* sa = loop.a_strides;
  const int32_t* sb = loop.b_strides;
  int64_t o = 0;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3) {
          const float* pa = a + (int64_t{i0} * sa[0] + int64_t{i1} * sa[1] + int64_t{i2} * sa[2] + int64_t{i3} * sa[3]);
          const float* pb = b + (int64_t{i0} * sb[0] + int64_t{i1} * sb[1] + int64_t{i2} * sb[2] + int64_t{i3} * sb[3]);
          for (int32_t i4 = 0; i4 < d[4]; ++i4, o += d[5], pa += sa[4], pb += sb[4]) {
            if (o + d[5] <= lo) continue;
            if (o >= hi) return;
            const int64_t skip = lo > o ? lo - o : 0;  // elements of the run before lo
            const int32_t n = static_cast<int32_t>((hi < o + d[5] ? hi : o + d[5]) - o - skip);
            run(n, pa + skip * sa[5], pb + skip * sb[5], out + o + skip);
          }
        }
}

// Output elements [lo, hi) of a Loop6 whose innermost two dims are a row x column broadcast
// (one operand dense over them, the other the same run of d[5] for every d[4], d[5] <=
// kRowsVectors * V::N): each block of d[4] runs through binary_rows_k, a run cut by lo or hi
// through binary_run_fn.
template <int kLazy = 0>  // instantiated only where used
inline void binary_row_blocks(const Loop6& loop, BinaryKind kind, const float* a, const float* b, float* out,
                              Clamp<float> act, int64_t lo, int64_t hi) {
  const int32_t* d = loop.dims;
  const int32_t* sa = loop.a_strides;
  const int32_t* sb = loop.b_strides;
  const int32_t c = d[5];
  const bool fixed_first = sa[4] == 0;
  const BinaryRowsFn rows = binary_rows_fn(kind, fixed_first);
  const BinaryRunFn run = binary_run_fn(kind, 1, 1);
  const typename V::T vlo = V::set1(act.lo), vhi = V::set1(act.hi);
  const int64_t block = int64_t{d[4]} * c;
  // the run of block element e in [e, end): a partial one when e or end cut it
  const auto part = [&](const float* dense, const float* fixed, float* o, int64_t e, int64_t end) {
    const float* fx = fixed + e % c;
    const int32_t n = static_cast<int32_t>(end - e);
    run(n, fixed_first ? fx : dense + e, fixed_first ? dense + e : fx, o + e, vlo, vhi);
  };
  int64_t o = 0;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3, o += block) {
          if (o + block <= lo) continue;
          if (o >= hi) return;
          const float* pa = a + (int64_t{i0} * sa[0] + int64_t{i1} * sa[1] + int64_t{i2} * sa[2] + int64_t{i3} * sa[3]);
          const float* pb = b + (int64_t{i0} * sb[0] + int64_t{i1} * sb[1] + int64_t{i2} * sb[2] + int64_t{i3} * sb[3]);
          const float* dense = fixed_first ? pb : pa;
          const float* fixed = fixed_first ? pa : pb;
          int64_t e = lo > o ? lo - o : 0;
          const int64_t end = hi < o + block ? hi - o : block;
          if (e % c != 0) {
            const int64_t stop = std::min(end, (e / c + 1) * c);
            part(dense, fixed, out + o, e, stop);
            e = stop;
          }
          const int64_t whole = (end - e) / c;
          rows(whole, c, dense + e, fixed, out + o + e, vlo, vhi);
          e += whole * c;
          if (e < end) part(dense, fixed, out + o, e, end);
        }
}

// A broadcast binary op over a Loop6 (see common.h): runs whose strides are 0 or 1 are
// vectorised, others go element by element. Computes the output elements [lo, hi) (dense,
// in loop order), so that tasks can split any loop.
template <int kLazy = 0>  // instantiated only where used
inline void binary_loop(const Loop6& loop, BinaryKind kind, const float* a, const float* b,
                        float* out, Clamp<float> act, int64_t lo, int64_t hi) {
  const int32_t* d = loop.dims;
  const int32_t* sa = loop.a_strides;
  const int32_t* sb = loop.b_strides;
  if (d[0] == 1 && d[1] == 1 && d[2] == 1 && d[3] == 1 && d[5] <= kPeriodFloats / 16 && sa[5] == 1 && sb[5] == 1) {
    if (sa[4] == d[5] && sb[4] == 0) return binary_periodic(kind, d[5], a, b, false, out, act, lo, hi);
    if (sb[4] == d[5] && sa[4] == 0) return binary_periodic(kind, d[5], b, a, true, out, act, lo, hi);
  }
  if (sa[5] == 1 && sb[5] == 1 && d[4] > 1 && d[5] <= kRowsVectors * V::N &&
      ((sa[4] == 0 && sb[4] == d[5]) || (sb[4] == 0 && sa[4] == d[5])))
    return binary_row_blocks(loop, kind, a, b, out, act, lo, hi);
  const int32_t ia5 = sa[5], ib5 = sb[5];
  const typename V::T vlo = V::set1(act.lo), vhi = V::set1(act.hi);
  if ((ia5 == 1 && (ib5 == 0 || ib5 == 1)) || (ia5 == 0 && ib5 == 1)) {
    const BinaryRunFn run = binary_run_fn(kind, ia5, ib5);
    return for_runs(loop, a, b, out, lo, hi, [&](int32_t n, const float* pa, const float* pb, float* po) {
      run(n, pa, pb, po, vlo, vhi);
    });
  }
  const BinaryRunFn one = binary_run_fn(kind, 1, 1);  // element by element
  for_runs(loop, a, b, out, lo, hi, [&](int32_t n, const float* pa, const float* pb, float* po) {
    for (int32_t i = 0; i < n; ++i) one(1, pa + int64_t{i} * ia5, pb + int64_t{i} * ib5, po + i, vlo, vhi);
  });
}

