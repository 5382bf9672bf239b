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
// and clamp (in int32, where the packs then change nothing). `folded`: the results hold the
// zero point already and never wrap, so saturating packs and the clamp of Q's lanes do it.
template <typename Q>
struct Output {
  T zp, lo, hi, zp16, lo_q, hi_q;
  bool vec, wrap, folded;
  Output(int32_t zero_point, int32_t lo_, int32_t hi_, bool vec_, bool wrap_, bool folded_ = false)
      : zp(V::set1(zero_point)), lo(V::set1(lo_)), hi(V::set1(hi_)), zp16(V::set1_16(zero_point)),
        lo_q(sizeof(Q) == 1 ? V::set1_8(lo_) : V::set1_16(lo_)), hi_q(sizeof(Q) == 1 ? V::set1_8(hi_) : V::set1_16(hi_)),
        vec(vec_), wrap(wrap_), folded(folded_) {}
  T clamp(T v) const { return V::min(V::max(V::add(v, zp), lo), hi); }
  // the first n (<= 4 N) of the results v0..v3 to p
  [[gnu::always_inline]] void store(Q* p, T v0, T v1, T v2, T v3, int64_t n) const {
    T w01, w23;
    if (folded) {
      w01 = V::pack16(v0, v1, false);
      w23 = V::pack16(v2, v3, false);
    } else if (vec) {
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
[[gnu::always_inline]] inline void blocks(const K& k, Q* out, int64_t n, const One& one, const Part& part) {
  const auto tail = [&](int64_t i) { return i < n ? part(i, n - i) : T{}; };
  int64_t i = 0;
  for (; i + 4 * V::N <= n; i += 4 * V::N)
    k.output.store(out + i, one(i), one(i + V::N), one(i + 2 * V::N), one(i + 3 * V::N), 4 * V::N);
  if (i < n) k.output.store(out + i, tail(i), tail(i + V::N), tail(i + 2 * V::N), tail(i + 3 * V::N), n - i);
}

// From this many elements on, a segment with a broadcast 8-bit operand is a table lookup.
constexpr int64_t kTableFrom = 1024;

// out[i] = k.output(k.value(k.in_a(a[i * sa]), k.in_b(b[i * sb]))) for i < n; a broadcast
// operand (stride 0: kA or kB false) goes through its in_ step once. Always inlined, as are
// blocks() and Output::store: GCC -O2 kept them as calls, made once per inner run, which
// cost a row x column ADD ([1,1,32,64] + [1,32,1,64]) a third of its time.
template <bool kA, bool kB, typename Q, typename K>
[[gnu::always_inline]] inline void each_direct(const K& k, const Q* a, const Q* b, Q* out, int64_t n) {
  const T ca = kA ? T{} : k.in_a(V::set1(*a));
  const T cb = kB ? T{} : k.in_b(V::set1(*b));
  blocks(k, out, n, [&](int64_t i) {
    return k.value(kA ? k.in_a(V::load(a + i)) : ca, kB ? k.in_b(V::load(b + i)) : cb);
  }, [&](int64_t i, int64_t m) {
    return k.value(kA ? k.in_a(V::loadn(a + i, m)) : ca, kB ? k.in_b(V::loadn(b + i, m)) : cb);
  });
}

// each_direct, except over a long segment with a broadcast operand, where an 8-bit output
// is a function of the other operand's byte: the kernel computes its 256 values once and
// the segment is looked up (simd_lut.h).
template <bool kA, bool kB, typename Q, typename K>
inline void each(const K& k, const Q* a, const Q* b, Q* out, int64_t n) {
  if constexpr (sizeof(Q) == 1 && !(kA && kB)) {
    if (n >= kTableFrom) {
      alignas(64) Q bytes[256], table[256];
      for (int i = 0; i < 256; ++i) bytes[i] = static_cast<Q>(i);
      each_direct<kA, kB>(k, kA ? bytes : a, kB ? bytes : b, table, 256);
      return lookup_u8_simd(n, kA ? a : b, out, table);
    }
  }
  each_direct<kA, kB>(k, a, b, out, n);
}

// The same with one operand's in_ step already taken: `terms` (int32) for a (kTermsA) or b.
template <bool kTermsA, typename Q, typename K>
inline void each_terms(const K& k, const int32_t* terms, const Q* x, Q* out, int64_t n) {
  const auto value = [&](T t, T v) { return kTermsA ? k.value(t, k.in_b(v)) : k.value(k.in_a(v), t); };
  blocks(k, out, n, [&](int64_t i) { return value(V::load(terms + i), V::load(x + i)); },
         [&](int64_t i, int64_t m) { return value(V::loadn(terms + i, m), V::loadn(x + i, m)); });
}

template <typename Q, typename K>
[[gnu::always_inline]] inline void each(const K& k, const Q* a, int32_t sa, const Q* b, int32_t sb, Q* out, int64_t n) {
  if (sa != 0 && sb != 0) return each<true, true>(k, a, b, out, n);
  if (sa != 0) return each<true, false>(k, a, b, out, n);
  return each<false, true>(k, a, b, out, n);
}

// ---- MUL ----------------------------------------------------------------------------------
// 8-bit data with a multiplier below 1 (shift e = -out_shift >= 0) takes AddFast's output step (the high
// half of 2 x m + 2^31 + 2^(31+e), then (h - [x < 0]) >> e); |x| < 2^17.
template <typename Q>
struct Mul {
  T a_offset, b_offset;
  Rescale scale;
  T mult, c, e;
  bool high, away;
  Output<Q> output;
  Mul(const QMulOp& op, bool vec)
      : a_offset(V::set1(op.p.a_offset)), b_offset(V::set1(op.p.b_offset)),
        scale(qrescale_away(op.p.out_mult, op.p.out_shift)), mult(V::set1(op.p.out_mult)),
        c(V::set1_64((int64_t{1} << 31) + (op.p.out_shift < 0 ? int64_t{1} << (31 - op.p.out_shift) : 0))),
        e(V::set1(-op.p.out_shift)), high(sizeof(Q) == 1 && op.p.out_shift <= 0 && op.p.out_shift >= -30), away(op.p.out_shift < 0),
        output(op.p.out_zp, op.p.lo, op.p.hi, vec, op.p.vec_wrap != 0) {}
  T in_a(T x) const { return V::add(x, a_offset); }
  T in_b(T x) const { return V::add(x, b_offset); }
  T value(T a, T b) const {
    const T x = V::mullo(a, b);
    if (!high) return scale(x);
    const T h = V::mul_hi(V::add(x, x), mult, c);
    return away ? V::srav(V::add(h, V::srai31(x)), e) : h;
  }
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

// 8-bit ADD and SUB with each input scaled exactly in int32 (QInput32, two 32-bit
// multiplies), then the output's SRDHM(s, m) and rounding_divide_by_pot(., e), e > 0, as
//   h = floor((2 s m + 2^31 + 2^(31+e) + zp 2^(32+e)) / 2^32) (the high half of a 64-bit
//       product, V::mul_hi) = SRDHM + 2^(e-1) + zp 2^e,
//   y = (h - [s < 0]) >> e (h < 0 exactly where s < 0 but where both roundings give 0),
// the zero point in it (`folded` output) while e <= 20, else added in int32. Made by
// add_fast where the constants allow.
template <QAddKind K, typename Q>
struct AddFast {
  // one input; `shift`: m is 2^30 (the input of the larger scale), so v q = v << j is all
  // (r = 0, 0 <= c - neg and c < 2^k)
  struct Input {
    T offset, q, r, c, neg, k, j;
    bool negative, shift;
    explicit Input(const QInput32& in)
        : offset(V::set1(in.offset)), q(V::set1(in.q)), r(V::set1(in.r)), c(V::set1(in.c)), neg(V::set1(in.neg)),
          k(V::set1(in.k)), j(V::set1(in.k <= 30 ? 30 - in.k : 0)), negative(in.neg != 0),
          shift(in.k <= 30 && in.q == 1 << (30 - in.k) && in.r == 0 && in.c - in.neg >= 0 && in.c < 1 << in.k) {}
    T operator()(T x) const {
      const T v = V::add(x, offset);
      if (shift) return V::sllv(v, j);
      T t = V::add(V::mullo(v, r), c);
      if (negative) t = V::sub_if_negative(t, v, neg);
      return V::add(V::mullo(v, q), V::srav(t, k));
    }
  };
  Input a, b;
  T out_mult, out_c, out_e;
  bool away;
  Output<Q> output;
  AddFast(const QAddParams& p, const QInput32& ia, const QInput32& ib)
      : a(ia), b(ib), out_mult(V::set1(p.out_mult)),
        out_c(V::set1_64((int64_t{1} << 31) + (p.out_shift < 0 ? int64_t{1} << (31 - p.out_shift) : 0) +
                         (p.out_shift >= -20 ? int64_t{p.out_zp} * (int64_t{1} << (32 - p.out_shift)) : 0))),
        out_e(V::set1(-p.out_shift)), away(p.out_shift < 0),
        output(p.out_shift >= -20 ? 0 : p.out_zp, p.lo, p.hi, false, false, p.out_shift >= -20) {}
  T in_a(T x) const { return a(x); }
  T in_b(T x) const { return b(x); }
  T value(T x, T y) const {
    const T s = K == QAddKind::kAdd ? V::add(x, y) : V::sub(x, y);
    const T h = V::mul_hi(V::add(s, s), out_mult, out_c);
    return away ? V::srav(V::add(h, V::srai31(s)), out_e) : h;
  }
};

// The AddFast of one lane kind, if its constants fit: each input's (qadd_input32), the
// output's shift (up to 30: the 64-bit sums below 2^62), and on vector lanes results that never
// reach the int16 narrowing's wrap (bounded by the inputs' extremes).
template <QAddKind K, typename Q>
bool add_fast(const QAddParams& p, bool vec, AddFast<K, Q>* out) {
  QInput32 ia, ib;
  const bool fold = p.vec_fold != 0;
  if (!qadd_input32(p.left_shift, p.a_offset, p.a_mult, p.a_shift, vec, fold, &ia) ||
      !qadd_input32(p.left_shift, p.b_offset, p.b_mult, p.b_shift, vec, fold, &ib) || p.out_shift < -30)
    return false;
  const int64_t s = 255 * (int64_t{ia.q} + ib.q + 2);
  const int64_t y = ((s * p.out_mult) >> (31 - p.out_shift)) + 2;
  if (vec && y + (p.out_zp < 0 ? -p.out_zp : p.out_zp) > 32767) return false;
  *out = AddFast<K, Q>(p, ia, ib);
  return true;
}

// 8-bit ADD and SUB as the generator's linear form of the stored bytes (QAddParams lin_*):
// two 32-bit multiplies, an add and a shift per element.
template <typename Q>
struct AddLinear {
  T ma, mb, c, shift;
  Output<Q> output;
  AddLinear(int32_t ma_, int32_t mb_, int32_t c_, int32_t shift_, int32_t lo, int32_t hi)
      : ma(V::set1(ma_)), mb(V::set1(mb_)), c(V::set1(c_)), shift(V::set1(shift_)),
        output(0, lo, hi, false, false, true) {}
  T in_a(T x) const { return V::mullo(x, ma); }
  T in_b(T x) const { return V::add(V::mullo(x, mb), c); }
  T value(T x, T y) const { return V::srav(V::add(x, y), shift); }
};

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

// Both operands broadcast and small next to the range (a row times a column: [1,1,W,C] +
// [1,H,1,C]), every element of one lane kind: each operand's in_ step is taken once per
// element of it, into a buffer, and the range only combines them.
constexpr int64_t kTermsBuffer = 4096;

// The elements an operand's strides reach: its size.
inline int64_t operand_extent(const Loop6& loop, const int32_t* strides) {
  int64_t last = 0;
  for (int k = 0; k < kMaxDims; ++k) last += int64_t{loop.dims[k] - 1} * strides[k];
  return last + 1;
}

template <typename Q, typename K>
inline bool range_terms(const K& k, const Loop6& loop, const Q* a, const Q* b, Q* out, int64_t lo, int64_t hi) {
  const int64_t na = operand_extent(loop, loop.a_strides), nb = operand_extent(loop, loop.b_strides);
  if (na > kTermsBuffer || nb > kTermsBuffer || 4 * (na + nb) > hi - lo) return false;
  alignas(64) int32_t ta[kTermsBuffer + 4 * V::N], tb[kTermsBuffer + 4 * V::N];
  for (int64_t j = 0; j < na; j += V::N) V::store(ta + j, k.in_a(V::loadn(a + j, na - j)));
  for (int64_t j = 0; j < nb; j += V::N) V::store(tb + j, k.in_b(V::loadn(b + j, nb - j)));
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  for_each_run(loop, lo, hi, [&](int64_t ia, int64_t ib, int64_t io, int64_t n) {
    const auto term = [&](const int32_t* t, int32_t stride, int64_t i) { return stride ? V::load(t + i) : V::set1(*t); };
    const auto one = [&](int64_t i) { return k.value(term(ta + ia, sa, i), term(tb + ib, sb, i)); };
    blocks(k, out + io, n, one, [&](int64_t i, int64_t) { return one(i); });
  });
  return true;
}

// qbinary's range [lo, hi) with the kernels of the two lane kinds.
template <typename Q, typename K>
inline void range_with(const K& ref, const K& vec, const Loop6& loop, const QLanes& lanes, const Q* a, const Q* b,
                       Q* out, int64_t lo, int64_t hi) {
  const int64_t length = repeat_length(loop, lanes);
  if (length > 0) return range_repeated(lanes.vec_end > 0 ? vec : ref, loop, length, a, b, out, lo, hi);
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  if (lanes.vec_end == 0 || lanes.vec_end == lanes.run) {  // one lane kind
    const K& k = lanes.vec_end > 0 ? vec : ref;
    if (sa + sb > 0 && range_terms(k, loop, a, b, out, lo, hi)) return;
    return for_each_run(loop, lo, hi, [&](int64_t ia, int64_t ib, int64_t io, int64_t n) {
      each(k, a + ia, sa, b + ib, sb, out + io, n);
    });
  }
  for_each_lane_segment(loop, lanes, lo, hi, [&](int64_t ia, int64_t ib, int64_t io, int64_t n, bool v) {
    each(v ? vec : ref, a + ia, sa, b + ib, sb, out + io, n);
  });
}

template <typename Q, typename Op>
inline void range(const Op& op, const Loop6& loop, const QLanes& lanes, const Q* a, const Q* b, Q* out, int64_t lo,
                  int64_t hi) {
  range_with(kernel(op, false, a), kernel(op, true, a), loop, lanes, a, b, out, lo, hi);
}

template <QAddKind K, typename Q>
inline void range(const QAddOp<K>& op, const Loop6& loop, const QLanes& lanes, const Q* a, const Q* b, Q* out,
                  int64_t lo, int64_t hi) {
  if constexpr (sizeof(Q) == 1 && K != QAddKind::kSquaredDifference) {
    const QAddParams& p = op.p;
    if (p.lin_shift > 0 && (lanes.vec_end == 0 || p.vlin_shift > 0)) {
      const AddLinear<Q> lin(p.lin_a, p.lin_b, p.lin_c, p.lin_shift, p.lo, p.hi);
      const AddLinear<Q> vlin = lanes.vec_end == 0 ? lin : AddLinear<Q>(p.vlin_a, p.vlin_b, p.vlin_c, p.vlin_shift, p.lo, p.hi);
      return range_with(lin, vlin, loop, lanes, a, b, out, lo, hi);
    }
    AddFast<K, Q> ref(op.p, {}, {}), vec = ref;
    if (add_fast(op.p, false, &ref) && (lanes.vec_end == 0 ? (vec = ref, true) : add_fast(op.p, true, &vec)))
      return range_with(ref, vec, loop, lanes, a, b, out, lo, hi);
  }
  range_with(kernel(op, false, a), kernel(op, true, a), loop, lanes, a, b, out, lo, hi);
}
