// The quantized binary elementwise kernels on the int32 lanes of `V`: included by
// simd_qelementwise.h once per instruction set, inside its namespace and target (no include
// guard on purpose). The arithmetic is described there.

using T = V::T;

// A QRescale in vectors: its two roundings as one (V::mul_round, see the top).
struct Rescale {
  T mult, left, right, c, s;
  bool shifted, away;
  explicit Rescale(const QRescale& r)
      : mult(V::set1(r.mult)), left(V::set1(r.left)), right(V::set1(r.right)),
        c(V::set1_64((int64_t{1} << 30) + (r.away ? int64_t{1} << (30 + r.rs) : 0))), s(V::set1_64(31 + r.rs)),
        shifted(r.left != 0 || r.right != 0), away(r.away) {}
  T operator()(T x) const {
    if (shifted) x = V::srav(V::sllv(x, left), right);
    return V::mul_round(x, mult, c, s, away);
  }
};

// The output stage of one lane kind, on four vectors of int32 results packed together:
// the vector bodies' narrow_vector_output (to int16 saturating or wrapping, the zero point
// added in wrapping int16, saturated to Q by the packs, clamped), or requantize's zero point
// and clamp (in int32, where the packs then change nothing).
template <typename Q>
struct Output {
  T zp, lo, hi, zp16, lo_q, hi_q;
  bool vec, wrap;
  Output(int32_t zero_point, int32_t lo_, int32_t hi_, bool vec_, bool wrap_)
      : zp(V::set1(zero_point)), lo(V::set1(lo_)), hi(V::set1(hi_)), zp16(V::set1_16(zero_point)),
        lo_q(sizeof(Q) == 1 ? V::set1_8(lo_) : V::set1_16(lo_)), hi_q(sizeof(Q) == 1 ? V::set1_8(hi_) : V::set1_16(hi_)),
        vec(vec_), wrap(wrap_) {}
  T clamp(T v) const { return V::min(V::max(V::add(v, zp), lo), hi); }
  // the first n (<= 4 N) of the results v0..v3 to p
  void store(Q* p, T v0, T v1, T v2, T v3, int64_t n) const {
    T w01, w23;
    if (vec) {
      w01 = V::add16(V::pack16(v0, v1, wrap), zp16);
      w23 = V::add16(V::pack16(v2, v3, wrap), zp16);
    } else {
      w01 = V::pack16(clamp(v0), clamp(v1), false);
      w23 = V::pack16(clamp(v2), clamp(v3), false);
    }
    if constexpr (sizeof(Q) == 1) {
      const T y = V::order8(V::clamp_q<Q>(V::pack8<Q>(w01, w23), lo_q, hi_q));
      if (n == 4 * V::N) return V::store(p, y);
      V::storen(p, y, n);
    } else {
      const T y0 = V::order16(V::clamp_q<Q>(w01, lo_q, hi_q)), y1 = V::order16(V::clamp_q<Q>(w23, lo_q, hi_q));
      if (n == 4 * V::N) return V::store(p, y0), V::store(p + 2 * V::N, y1);
      V::storen(p, y0, std::min<int64_t>(n, 2 * V::N));
      if (n > 2 * V::N) V::storen(p + 2 * V::N, y1, n - 2 * V::N);
    }
  }
};

// out[i, i + n) from value(i): the int32 results of V::N elements from i on, and
// part(i, count) of the first count of them; blocks of 4 N.
template <typename Q, typename K, typename One, typename Part>
inline void blocks(const K& k, Q* out, int64_t n, const One& one, const Part& part) {
  const auto tail = [&](int64_t i) { return i < n ? part(i, n - i) : T{}; };
  int64_t i = 0;
  for (; i + 4 * V::N <= n; i += 4 * V::N)
    k.output.store(out + i, one(i), one(i + V::N), one(i + 2 * V::N), one(i + 3 * V::N), 4 * V::N);
  if (i < n) k.output.store(out + i, tail(i), tail(i + V::N), tail(i + 2 * V::N), tail(i + 3 * V::N), n - i);
}

// out[i] = k.output(k.value(k.in_a(a[i * sa]), k.in_b(b[i * sb]))) for i < n; a broadcast
// operand (stride 0: kA or kB false) goes through its in_ step once.
template <bool kA, bool kB, typename Q, typename K>
inline void each(const K& k, const Q* a, const Q* b, Q* out, int64_t n) {
  const T ca = kA ? T{} : k.in_a(V::set1(*a));
  const T cb = kB ? T{} : k.in_b(V::set1(*b));
  blocks(k, out, n, [&](int64_t i) {
    return k.value(kA ? k.in_a(V::load(a + i)) : ca, kB ? k.in_b(V::load(b + i)) : cb);
  }, [&](int64_t i, int64_t m) {
    return k.value(kA ? k.in_a(V::loadn(a + i, m)) : ca, kB ? k.in_b(V::loadn(b + i, m)) : cb);
  });
}

// The same with one operand's in_ step already taken: `terms` (int32) for a (kTermsA) or b.
template <bool kTermsA, typename Q, typename K>
inline void each_terms(const K& k, const int32_t* terms, const Q* x, Q* out, int64_t n) {
  const auto value = [&](T t, T v) { return kTermsA ? k.value(t, k.in_b(v)) : k.value(k.in_a(v), t); };
  blocks(k, out, n, [&](int64_t i) { return value(V::load(terms + i), V::load(x + i)); },
         [&](int64_t i, int64_t m) { return value(V::loadn(terms + i, m), V::loadn(x + i, m)); });
}

template <typename Q, typename K>
inline void each(const K& k, const Q* a, int32_t sa, const Q* b, int32_t sb, Q* out, int64_t n) {
  if (sa != 0 && sb != 0) return each<true, true>(k, a, b, out, n);
  if (sa != 0) return each<true, false>(k, a, b, out, n);
  return each<false, true>(k, a, b, out, n);
}

// ---- MUL ----------------------------------------------------------------------------------
template <typename Q>
struct Mul {
  T a_offset, b_offset;
  Rescale scale;
  Output<Q> output;
  Mul(const QMulOp& op, bool vec)
      : a_offset(V::set1(op.p.a_offset)), b_offset(V::set1(op.p.b_offset)),
        scale(qrescale_away(op.p.out_mult, op.p.out_shift)),
        output(op.p.out_zp, op.p.lo, op.p.hi, vec, op.p.vec_wrap != 0) {}
  T in_a(T x) const { return V::add(x, a_offset); }
  T in_b(T x) const { return V::add(x, b_offset); }
  T value(T a, T b) const { return scale(V::mullo(a, b)); }
};

template <typename Q>
Mul<Q> kernel(const QMulOp& op, bool vec, const Q*) {
  return Mul<Q>(op, vec);
}

// ---- ADD, SUB, SQUARED_DIFFERENCE ---------------------------------------------------------
// One input's scaling: the reference (x << left_shift, then multiply_by_quantized_multiplier),
// or the vector bodies' (qadd_vector_input: the shift folded into the left shift, or floored).
// Shifts are at most 0 (qelementwise.py refuses the others).
inline QRescale add_input(const QAddParams& p, int32_t mult, int32_t shift, bool vec) {
  if (!vec) {
    QRescale r = qrescale_away(mult, shift);
    r.left = p.left_shift;
    return r;
  }
  if (p.vec_fold != 0) {
    const int32_t total = p.left_shift + shift;
    return qrescale_floor(mult, total > 0 ? total : 0, total < 0 ? -total : 0, 0);
  }
  return qrescale_floor(mult, p.left_shift, 0, -shift);
}

template <QAddKind K, typename Q>
struct AddLike {
  T a_offset, b_offset;
  Rescale scale_a, scale_b, scale_out;
  Output<Q> output;
  AddLike(const QAddOp<K>& op, bool vec)
      : a_offset(V::set1(op.p.a_offset)), b_offset(V::set1(op.p.b_offset)),
        scale_a(add_input(op.p, op.p.a_mult, op.p.a_shift, vec)),
        scale_b(add_input(op.p, op.p.b_mult, op.p.b_shift, vec)),
        scale_out(qrescale_away(op.p.out_mult, op.p.out_shift)),
        output(op.p.out_zp, op.p.lo, op.p.hi, vec, op.p.vec_wrap != 0) {}
  T in_a(T x) const { return scale_a(V::add(x, a_offset)); }
  T in_b(T x) const { return scale_b(V::add(x, b_offset)); }
  T value(T a, T b) const {
    if constexpr (K == QAddKind::kAdd) {
      return scale_out(V::add(a, b));
    } else if constexpr (K == QAddKind::kSub) {
      return scale_out(V::sub(a, b));
    } else {
      const T d = V::sub(a, b);
      return scale_out(V::mullo(d, d));
    }
  }
};

template <QAddKind K, typename Q>
AddLike<K, Q> kernel(const QAddOp<K>& op, bool vec, const Q*) {
  return AddLike<K, Q>(op, vec);
}

// ---- the entry: qbinary's output range [lo, hi) -------------------------------------------
// A per-channel operand (efficientnet's squeeze-excite scales): the loop is runs of `inner`
// elements side by side, one operand contiguous, the other the same run every time, and
// every element of one lane kind. The repeated run is then laid out in a buffer as long as
// fits and is a multiple of it and of the blocks, and each call takes that many elements.
constexpr int64_t kRepeatBuffer = 1024;

inline int64_t repeat_length(const Loop6& loop, const QLanes& lanes) {
  const int64_t inner = loop.dims[5];
  for (int k = 0; k < 4; ++k)
    if (loop.dims[k] != 1) return 0;
  const bool uniform = lanes.vec_end == 0 || lanes.vec_end == lanes.run;
  const bool side_by_side = loop.a_strides[5] == 1 && loop.b_strides[5] == 1 &&
                            ((loop.a_strides[4] == inner && loop.b_strides[4] == 0) ||
                             (loop.a_strides[4] == 0 && loop.b_strides[4] == inner));
  if (!uniform || !side_by_side) return 0;
  int64_t length = inner;
  while (length % (4 * V::N) != 0) length += inner;
  return length > kRepeatBuffer / 2 ? 0 : length * (kRepeatBuffer / length);
}

template <typename Q, typename K>
inline void range_repeated(const K& k, const Loop6& loop, int64_t length, const Q* a, const Q* b, Q* out,
                           int64_t lo, int64_t hi) {
  const bool a_repeats = loop.a_strides[4] == 0;
  const Q* run = a_repeats ? a : b;
  // the repeated run's in_ step (a rescale for ADD), taken once per element of the buffer
  Q buffer[kRepeatBuffer];
  alignas(64) int32_t terms[kRepeatBuffer];
  for (int64_t j = 0; j < length; ++j) buffer[j] = run[j % loop.dims[5]];
  for (int64_t j = 0; j < length; j += V::N) {
    const T v = V::load(buffer + j);
    V::store(terms + j, a_repeats ? k.in_a(v) : k.in_b(v));
  }
  for (int64_t io = lo; io < hi;) {
    const int64_t at = io % length, n = std::min(hi - io, length - at);
    if (a_repeats) {
      each_terms<true>(k, terms + at, b + io, out + io, n);
    } else {
      each_terms<false>(k, terms + at, a + io, out + io, n);
    }
    io += n;
  }
}

template <typename Q, typename Op>
inline void range(const Op& op, const Loop6& loop, const QLanes& lanes, const Q* a, const Q* b, Q* out, int64_t lo,
                  int64_t hi) {
  const auto ref = kernel(op, false, a), vec = kernel(op, true, a);
  const int64_t length = repeat_length(loop, lanes);
  if (length > 0) return range_repeated(lanes.vec_end > 0 ? vec : ref, loop, length, a, b, out, lo, hi);
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  for_each_lane_segment(loop, lanes, lo, hi, [&](int64_t ia, int64_t ib, int64_t io, int64_t n, bool v) {
    each(v ? vec : ref, a + ia, sa, b + ib, sb, out + io, n);
  });
}
