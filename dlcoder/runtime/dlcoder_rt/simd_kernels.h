// SIMD kernels, written once against the vector traits `V` (see simd.h).
//
// NOT a normal header: simd.h includes it once per ISA, inside a namespace that defines
// `V` (the traits), `VNarrow` (8-float traits, or V), `kMR` (rows of the GEMM tile) and
// `kNP` (16-column panels per tile at most; see gemm_rows), under that ISA's target pragma.
// It must not include anything itself; simd_math.h comes before it. Every kernel is a
// template (at least over a dummy `kLazy`) so that a model instantiates, for each ISA, only
// the kernels it calls. Kernels get raw pointers and params; every packed-weight layout here
// is ISA independent, so the generator can pack once.

// ---- GEMM ------------------------------------------------------------------------------
// gemm_tile prefetches B for tiles of at least this many FMAs a k step (registers per row
// times rows): measured where it pays, see there.
constexpr int kPrefetchFmas = 12;
// gemm_rows' tiles of many rows take one panel up to this depth k, two past it.
constexpr int32_t kOnePanelMaxK = 1536;
// gemm keeps a chunk of B's panels of about kChunkBytes in L2 while the row blocks pass
// (params.h: kGemmChunkBytes). gemm_deep: the most k of a depth block (its A rows, kMR x 256
// floats, 12 KB at most, stay in L1), and the bytes of B's panels over one depth block kept
// in L2 while the row blocks pass (about 3/4 of a 1 MB L2, the rest for C's rows and A's).
// The tests shrink them so that small GEMMs take every blocked path (tests/test_fgemm_paths.py,
// which shrinks the generator's copy of the chunk, ops/_gemm.py, alike).
#ifndef DLCODER_RT_GEMM_CHUNK_BYTES
#define DLCODER_RT_GEMM_CHUNK_BYTES kGemmChunkBytes
#endif
#ifndef DLCODER_RT_GEMM_DEEP_KC
#define DLCODER_RT_GEMM_DEEP_KC 256
#endif
constexpr int64_t kChunkBytes = DLCODER_RT_GEMM_CHUNK_BYTES;
constexpr int32_t kDeepKc = DLCODER_RT_GEMM_DEEP_KC;
constexpr int64_t kDeepChunkBytes = 3 * kChunkBytes;

// The generator packs B and sizes scratch with params.h's kPanel and kMaxMR (it reads them
// there): these kernels spell the panel width as 16, and a tile's rows go up to 12
// (DLCODER_RT_ROWS_SWITCH), so a change of either must come with them.
static_assert(kPanel == 16, "the GEMM kernels are written for 16-column panels (params.h: kPanel)");
static_assert(kMR <= kMaxMR && kMaxMR <= 12, "this ISA's tile rows kMR exceed kMaxMR (params.h), or kMaxMR the "
                                             "rows DLCODER_RT_ROWS_SWITCH covers");

// A switch over a tile's row count n, known only at run time, from 12 down to 1: case M
// expands CASE(M), the caller's macro that turns n into a template constant and calls its
// tile right there (one helper taking a generic lambda instead slowed a stem conv from 14.1
// to 16.7 us). Kernels with fewer rows guard their cases with M <= their maximum.
#ifndef DLCODER_RT_ROWS_SWITCH
#define DLCODER_RT_ROWS_SWITCH(n, CASE)                                                         \
  switch (n) {                                                                                  \
    CASE(12) CASE(11) CASE(10) CASE(9) CASE(8) CASE(7) CASE(6) CASE(5) CASE(4) CASE(3) CASE(2) \
    CASE(1)                                                                                     \
    default:                                                                                    \
      break;                                                                                    \
  }
#endif

// How a tile reads A[r][kk]: a dense matrix (rows `lda` apart), or the input of a
// convolution read in place ("implicit GEMM"): row r is an output pixel `rs` floats after
// the previous one, and kk a filter tap at offset koff[kk] from the pixel's window origin.
struct DenseA {
  const float* a;
  int64_t lda;
  const float* row(int r) const { return a + r * lda; }
  int64_t col(int32_t kk) const { return kk; }
};
// A dense matrix whose rows are a compile-time kLd floats apart (gemm_deep's copy of A): a
// tile row is one base register plus an immediate, as in WindowAK.
template <int kLd>
struct DenseAK {
  const float* a;
  const float* row(int r) const { return a + r * kLd; }
  int64_t col(int32_t kk) const { return kk; }
};
struct WindowA {
  const float* a;
  int64_t rs;
  const int32_t* koff;
  const float* row(int r) const { return a + r * rs; }
  int64_t col(int32_t kk) const { return koff[kk]; }
};
// The same with the pixel stride a compile-time constant (ops/conv.py picks it for small
// strides): a tile row's tap is then one base register plus an immediate, instead of one
// pointer register per row, which a 12-row tile does not have and spilled inside its K loop.
// An RGB stem (stride 2 x 3 channels): 91 -> 75 us with 16 channels, 119 -> 101 us with 32.
template <int kRS>
struct WindowAK {
  const float* a;
  const int32_t* koff;
  const float* row(int r) const { return a + r * kRS; }
  int64_t col(int32_t kk) const { return koff[kk]; }
};
// A WindowA or, with kRS != 0 (then equal to rs), a WindowAK<kRS>.
template <int kRS>
inline auto window_a(const float* a, int64_t rs, const int32_t* koff) {
  if constexpr (kRS != 0) {
    (void)rs;
    return WindowAK<kRS>{a, koff};
  } else {
    return WindowA{a, rs, koff};
  }
}

// A row of a B panel: floats, or float16 weights (IEEE half bits, the model's float16
// constants kept so: ops/_gemm.py) widened exactly in registers, so the same sums.
template <class W>
inline typename W::T load_b(const float* p) { return W::load(p); }
template <class W>
inline typename W::T load_b(const uint16_t* p) { return W::load_half(p); }

// ---- fused PRELU / LEAKY_RELU (Slope, params.h) -----------------------------------------
// out = x < 0 ? x * a : x (TFLite's PRELU: x >= 0 ? x : x * a; a NaN x passes) for n floats,
// a from alpha[i] (alpha null: `value` for all). in may be out.
template <int kLazy = 0>  // instantiated only where used
inline void slope_span(const float* alpha, float value, int64_t n, const float* in, float* out) {
  using T = typename V::T;
  const T zero = V::zero();
  const T one_a = V::set1(value);
  int64_t i = 0;
  for (; i + V::N <= n; i += V::N) {
    const T x = V::load(in + i), a = alpha == nullptr ? one_a : V::load(alpha + i);
    V::store(out + i, V::select_gt(zero, x, V::mul(x, a), x));
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    const T x = V::loadn(in + i, r), a = alpha == nullptr ? one_a : V::loadn(alpha + i, r);
    V::storen(out + i, V::select_gt(zero, x, V::mul(x, a), x), r);
  }
}

// The slope s on output elements [at, at + n) (in may be out): runs that do not cross the
// end of alpha, each one slope_span (one per pixel with a slope per channel).
template <int kLazy = 0>  // instantiated only where used
inline void slope(const Slope& s, int64_t at, int64_t n, const float* in, float* out) {
  if (s.alpha == nullptr) return slope_span(nullptr, s.value, n, in, out);
  for (int64_t idx = at % s.period; n > 0; idx = 0) {
    const int64_t run = s.period - idx < n ? s.period - idx : n;
    slope_span(s.alpha + idx, 0.0f, run, in, out);
    in += run;
    out += run;
    n -= run;
  }
}

// The slope on `rows` rows of n floats of C (p.ldc apart) that a GEMM tile just stored.
// Out of line: inlined, it was a copy in every tile instantiation (row count x panels x A
// and B type, per ISA), also in models with no slope at all: 14 KB of MobileNetV1 0.25's
// code, 6 KB out of line. Its call is per tile, whose FMAs dwarf it.
template <int kLazy = 0>  // instantiated only where used
__attribute__((noinline)) void slope_rows(const GemmParams& p, float* c, int rows, int32_t n) {
  for (int r = 0; r < rows; ++r) {
    float* row = c + int64_t{r} * p.ldc;
    slope(p.slope, row - p.origin, n, row, row);
  }
}

// One tile: MR rows of A times NP 16-column panels of B (floats, or float16: load_b), with
// bias and clamp fused (kFromC: the sums start from what C holds, not from the bias: a
// depth block of gemm_deep). The NP panels are `panel_stride` elements apart; the bias is padded to whole panels. A fused
// residual ADD (res: the tile's rows of the other operand, `p.ldr` apart, or null) is added
// after the clamp and clamped with the ADD's own activation; the generator fuses it only
// where there is no `post`.
template <int MR, int NP, class A, class B, bool kFromC = false>
inline void gemm_tile(const GemmParams& p, A a, const B* b, int64_t panel_stride, const float* bias,
                      float* c, int32_t cols, const float* res) {
  const int32_t k = p.k, ldc = p.ldc;
  const int64_t kstep = p.ldb != 0 ? p.ldb : 16;  // floats between B's rows kk and kk + 1
  constexpr int RP = 16 / V::N;   // registers per panel row
  constexpr int R = RP * NP;      // registers per tile row
  typename V::T acc[MR][R];
  const float* rows[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    rows[r] = a.row(r);
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) {
      if constexpr (kFromC) {
        const float* src = c + int64_t{r} * ldc + j * V::N;
        acc[r][j] = cols >= (j + 1) * V::N ? V::load(src) : cols > j * V::N ? V::loadn(src, cols - j * V::N) : V::zero();
      } else {
        acc[r][j] = bias != nullptr ? V::load(bias + j * V::N) : V::zero();
      }
    }
  }
  // two k steps an iteration: the loop's own instructions are a share of a one-panel
  // tile's few FMAs a step (112x112x32 -> 64 1x1 conv: 458 -> 451 us)
#pragma GCC unroll 2
  for (int32_t kk = 0; kk < k; ++kk) {
    const int64_t col = a.col(kk);
    typename V::T bv[R];
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) bv[j] = load_b<V>(b + (j / RP) * panel_stride + kk * kstep + (j % RP) * V::N);
    // Weights are read once per inference, so the first row block of each column chunk
    // finds them in memory (a benchmark interleaved with other work, or a model larger than
    // L3): ask for each panel's row 64 steps (4 KB) ahead. Past the panel's end this is the
    // next panel, read next. Measured, cold weights: a 49x672x192 GEMM 65 -> 56 us,
    // EfficientNetV2-B0 7.0 -> 6.6 ms; warm GEMMs are unchanged. Only tiles of at least 16
    // FMAs a step: a tile of a row or a few is bound by its loads, and the prefetch's load
    // slot costs more than it saves (an LSTM step's 1-row GEMVs over weights that stay in
    // L2 slowed by 18%). A one-panel AVX-512 tile (gemm_rows) of 12 rows needs it too, even
    // where B stays in L2: 112x112x32 -> 64 1x1 conv 484 -> 457 us, 56x56x128 -> 128 955 -> 889.
    if constexpr (MR * R >= kPrefetchFmas) {
#pragma GCC unroll 4
      for (int q = 0; q < NP; ++q) {
        // an address, not a pointer into B: it may lie past B's end (a prefetch never faults)
        const uintptr_t ahead = reinterpret_cast<uintptr_t>(b + q * panel_stride + kk * kstep) + 64 * kstep * sizeof(B);
        __builtin_prefetch(reinterpret_cast<const void*>(ahead), 0, 3);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const typename V::T av = V::set1(rows[r][col]);
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) acc[r][j] = V::fma(av, bv[j], acc[r][j]);
    }
  }
  const typename V::T lo = V::set1(p.act.lo), hi = V::set1(p.act.hi);
  if (res != nullptr) {
    const typename V::T rlo = V::set1(p.res_act.lo), rhi = V::set1(p.res_act.hi);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) {
        const float* rp = res + r * p.ldr + j * V::N;
        float* dst = c + int64_t{r} * ldc + j * V::N;
        const typename V::T v = V::min(hi, V::max(lo, acc[r][j]));
        if (cols >= (j + 1) * V::N) {
          V::store(dst, V::min(rhi, V::max(rlo, V::add(v, V::load(rp)))));
        } else if (cols > j * V::N) {
          V::storen(dst, V::min(rhi, V::max(rlo, V::add(v, V::loadn(rp, cols - j * V::N)))), cols - j * V::N);
        }
      }
    }
    return;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) {
      const typename V::T v = V::min(hi, V::max(lo, acc[r][j]));
      float* dst = c + int64_t{r} * ldc + j * V::N;
      if (cols >= (j + 1) * V::N) {
        V::store(dst, v);
      } else if (cols > j * V::N) {
        V::storen(dst, v, cols - j * V::N);
      }
    }
  }
  // the fused activation, on the tile just stored (in L1); done per tile rather than per
  // register so that its code does not evict the accumulators
  if (p.post != UnaryKind::kNone) {
    const int32_t n = cols < NP * 16 ? cols : NP * 16;
    if (n == ldc) {
      unary(p.post, int64_t{MR} * n, c, c);  // the tile spans whole rows of C: one run
    } else {
      for (int r = 0; r < MR; ++r) unary(p.post, n, c + int64_t{r} * ldc, c + int64_t{r} * ldc);
    }
  }
  // a fused PRELU / LEAKY_RELU, the same way
  if (p.slope.period != 0) slope_rows(p, c, MR, cols < NP * 16 ? cols : NP * 16);
}

// Rows [0, MR) of C times the panels [p0, p1) of B. res: the residual's rows for C's (or
// null). A tile of at least kMR / 2 rows takes one panel at a time: each element of A then
// feeds one FMA, which reads it as a memory operand (x86: a broadcast folded into the FMA)
// instead of a broadcast into a register for two panels. AVX-512 (kNP = 2) on Zen 4, % of
// FMA peak, one panel against two: 1x1 convs 112x112x32 -> 64 95 against 88, 56x56x128 ->
// 128 98 against 94, 7x7x1024 -> 1024 98 against 92; a 128x768x768 FC 99.6 against 95.
// Fewer rows take two panels where the ISA has the registers (kNP), whose extra chains of
// accumulators hide the FMA latency (a 1-row GEMV, k 1024: 44 us against 69), and so does
// a deep k (beyond kOnePanelMaxK), where each panel's pass would read the rows of A again
// from beyond L2 (a 128x3072x768 FC before gemm_deep: 5.9 ms against 7.2).
template <int MR, class A, class B>
inline void gemm_rows(const GemmParams& p, int32_t p0, int32_t p1, A a, const B* b,
                      const float* bias, float* c, const float* res) {
  const int64_t stride = p.ldb != 0 ? 16 : int64_t{p.k} * 16;  // between panels
  int32_t q = p0;
  const bool one_panel = kNP == 1 || (2 * MR >= kMR && p.k <= kOnePanelMaxK);
  for (; !one_panel && q + 2 <= p1; q += 2) {
    gemm_tile<MR, kNP == 2 ? 2 : 1>(p, a, b + q * stride, stride, bias == nullptr ? nullptr : bias + q * 16,
                                    c + q * 16, p.n - q * 16, res == nullptr ? nullptr : res + q * 16);
  }
  for (; q < p1; ++q) {
    gemm_tile<MR, 1>(p, a, b + q * stride, stride, bias == nullptr ? nullptr : bias + q * 16,
                     c + q * 16, p.n - q * 16, res == nullptr ? nullptr : res + q * 16);
  }
}

// Rows [0, rows) of C (rows <= kMR) times the panels [p0, p1).
template <class A, class B>
inline void gemm_block(const GemmParams& p, int32_t rows, int32_t p0, int32_t p1, A a,
                       const B* b, const float* bias, float* c, const float* res) {
#define DLCODER_RT_GEMM_CASE(R) \
  case R:                       \
    if (R <= kMR) gemm_rows<(R <= kMR ? R : 1), A, B>(p, p0, p1, a, b, bias, c, res); \
    break;
  DLCODER_RT_ROWS_SWITCH(rows, DLCODER_RT_GEMM_CASE)
#undef DLCODER_RT_GEMM_CASE
}

// gemm_deep's rows [0, rows) of C (kMR / 2 <= rows <= kMR: gemm_deep takes more than kMR
// rows, in balanced blocks) times the panels [p0, p1) over p.k (a depth block), its A rows
// kLd apart (DenseAK), one panel a tile (the rows of A are in L1), the sums starting from
// C's. Only these row counts are instantiated: all of them would be 150 KB more code for
// all the ISAs.
template <int kLd, class B>
inline void gemm_deep_block(const GemmParams& p, int64_t stride, int32_t rows, int32_t p0, int32_t p1,
                            const float* a, const B* b, float* c, const float* res) {
#define DLCODER_RT_DEEP_CASE(R)                                                                            \
  case R:                                                                                                  \
    if (R <= kMR && 2 * R >= kMR) {                                                                        \
      for (int32_t q = p0; q < p1; ++q)                                                                    \
        gemm_tile<(R <= kMR ? R : 1), 1, DenseAK<kLd>, B, true>(p, DenseAK<kLd>{a}, b + q * stride, stride, \
                                                                nullptr, c + q * 16, p.n - q * 16,         \
                                                                res == nullptr ? nullptr : res + q * 16);  \
    }                                                                                                      \
    break;
  DLCODER_RT_ROWS_SWITCH(rows, DLCODER_RT_DEEP_CASE)
#undef DLCODER_RT_DEEP_CASE
}

// gemm over a depth whose B panels are too long for a chunk of them to stay in L2 (a
// 128x3072x768 FC: two panels take 393 KB): the depth goes in blocks of at most kDeepKc,
// each block's B panels in chunks of about kDeepChunkBytes, so that a chunk is read from
// memory once and from L2 by every row block. Each row block's A rows for the depth block
// are first copied to a buffer whose rows are kLd floats apart: A's own rows may be a
// multiple of 4 KB apart (3072 floats), all in one set of L1, which 12 rows overflow (8
// ways), and a compile-time stride takes no register per row. C holds the sums: the bias
// first, then each depth block's; the blocks before the last store them bare, through the
// epilogue of `sums` (a clamp to +-inf passes every value, NaN too). Every output adds its
// k steps in order from the bias, as in one pass: the same bits. 128x3072x768, AVX-512:
// 6.10 -> 5.65 ms (min of 11 rounds); with A's copy read through DenseA (a register per
// row, which the 12-row tile spills), 6.08. Out of line: called once a GEMM, and its
// symbol shows which libraries compile it (tests/test_fgemm_paths.py).
template <class B>
__attribute__((noinline)) void gemm_deep(const GemmParams& p, const float* a, const B* b, const float* bias, float* c) {
  constexpr int32_t kLd = (kDeepKc + 15) / 16 * 16 + 16;  // one line past whole lines: rows in different sets
  alignas(64) float rows_a[kMR * kLd];
  GemmParams sums = p;
  sums.act = {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  sums.post = UnaryKind::kNone;
  sums.slope = Slope{nullptr, 0, 0.0f};
  const int32_t panels = (p.n + 15) / 16, blocks = (p.m + kMR - 1) / kMR;
  const int32_t depths = (p.k + kDeepKc - 1) / kDeepKc, kc = (p.k + depths - 1) / depths;
  const int64_t fit = kDeepChunkBytes / (int64_t{kc} * 16 * sizeof(B)), most = fit < 1 ? 1 : fit;
  const int32_t chunks = static_cast<int32_t>((panels + most - 1) / most);
  const int64_t kstep = p.ldb != 0 ? p.ldb : 16;                 // B elements between rows kk and kk + 1
  const int64_t stride = p.ldb != 0 ? 16 : int64_t{p.k} * 16;  // between panels
  for (int32_t ci = 0; ci < chunks; ++ci) {
    const int32_t p0 = panels * ci / chunks, p1 = panels * (ci + 1) / chunks;
    const int32_t c0 = p0 * 16, c1 = p1 * 16 < p.n ? p1 * 16 : p.n;
    for (int32_t m = 0; m < p.m; ++m) {
      float* row = c + int64_t{m} * p.ldc;
      for (int32_t j = c0; j < c1; ++j) row[j] = bias != nullptr ? bias[j] : 0.0f;
    }
    for (int32_t k0 = 0; k0 < p.k; k0 += kc) {
      const bool last = k0 + kc >= p.k;
      GemmParams q = last ? p : sums;
      q.k = p.k - k0 < kc ? p.k - k0 : kc;
      int32_t m0 = 0;
      for (int32_t i = 0; i < blocks; ++i) {
        const int32_t rows = p.m / blocks + (i < p.m % blocks ? 1 : 0);
        for (int32_t r = 0; r < rows; ++r)
          std::memcpy(rows_a + r * kLd, a + int64_t{m0 + r} * p.lda + k0, sizeof(float) * q.k);
        const float* res = !last || p.res == nullptr ? nullptr : p.res + int64_t{m0} * p.ldr;
        gemm_deep_block<kLd>(q, stride, rows, p0, p1, rows_a, b + k0 * kstep, c + int64_t{m0} * p.ldc, res);
        m0 += rows;
      }
    }
  }
}

// C = act(A B + bias) (then + residual, see gemm_tile). Columns go in chunks whose packed B fits in about 256 KB (L2), and
// within a chunk rows go in blocks of about kMR, balanced so that no block is a sliver:
// each B chunk is read from memory once, each A block stays in L1 across the chunk.
// A kDeep call (params.h: GemmDepth) takes gemm_deep where two panels over the whole depth
// exceed the chunk and more than one row block reads them (gemm_deep_fits), unless a
// residual is read from C itself (as simd_winograd.h sums its chunks: a depth block would
// overwrite it).
template <GemmDepth kDepth = GemmDepth::kShallow, class B>  // B: float, or uint16_t: float16 weights (load_b)
inline void gemm(const GemmParams& p, const float* a, const B* b, const float* bias, float* c) {
  if constexpr (kDepth == GemmDepth::kDeep) {
    if (gemm_deep_fits(p.m, p.k, static_cast<int32_t>(sizeof(B)), kMR, kChunkBytes) && p.res != c) return gemm_deep(p, a, b, bias, c);
  }
  const int32_t panels = (p.n + 15) / 16;
  int32_t chunk = static_cast<int32_t>(kChunkBytes / (int64_t{p.k} * 16 * sizeof(B)));
  chunk = chunk < 2 ? 2 : chunk - chunk % kNP;  // whole tiles: an odd chunk ends in a 1-panel one
  const int32_t blocks = (p.m + kMR - 1) / kMR;
  for (int32_t p0 = 0; p0 < panels; p0 += chunk) {
    const int32_t p1 = p0 + chunk < panels ? p0 + chunk : panels;
    int32_t m0 = 0;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t rows = p.m / blocks + (i < p.m % blocks ? 1 : 0);
      gemm_block(p, rows, p0, p1, DenseA{a + int64_t{m0} * p.lda, p.lda}, b, bias, c + int64_t{m0} * p.ldc,
                 p.res == nullptr ? nullptr : p.res + int64_t{m0} * p.ldr);
      m0 += rows;
    }
  }
}

// Packs B[k][n] (or B^T, [n][k], when transposed), ldb elements between its stored rows,
// into 16-column panels.
template <int kLazy = 0>  // instantiated only where used
inline void pack_b(int32_t k, int32_t n, const float* b, int64_t ldb, bool transposed, float* out) {
  for (int32_t n0 = 0; n0 < n; n0 += 16) {
    const int32_t cols = n - n0 < 16 ? n - n0 : 16;
    float* panel = out + int64_t{n0} * k;
    if (transposed) {  // a stored row is a column of the panel: gather a panel row from 16
      // stored rows, write it whole (writing columns, 16 floats apart, was 2.4x slower:
      // 3.1 -> 1.3 us for a 64x128 attention K^T)
      const float* src = b + int64_t{n0} * ldb;
      for (int32_t kk = 0; kk < k; ++kk) {
        float* dst = panel + int64_t{kk} * 16;
        if (cols == 16) {
#pragma GCC unroll 16
          for (int32_t j = 0; j < 16; ++j) dst[j] = src[j * ldb + kk];
        } else {
          for (int32_t j = 0; j < 16; ++j) dst[j] = j < cols ? src[j * ldb + kk] : 0.0f;
        }
      }
      continue;
    }
    for (int32_t kk = 0; kk < k; ++kk) {
      float* dst = panel + int64_t{kk} * 16;
      for (int32_t j = 0; j < cols; ++j) dst[j] = b[int64_t{kk} * ldb + n0 + j];
      for (int32_t j = cols; j < 16; ++j) dst[j] = 0.0f;
    }
  }
}

// The k_h input rows of output row r's window (r counts rows over the batch), each
// zero-padded to `band_width(p)` pixels, into band ([k_h][width][in_c]): every output pixel
// of the row then reads its whole window in place, tap (ky, kx, ci) at offset
// (ky * width + kx * dil_w) * in_c + ci from its origin (ops/conv.py: band_koff).
inline int32_t band_width(const ConvParams& p) { return (p.out_w - 1) * p.stride_w + (p.k_w - 1) * p.dil_w + 1; }

template <int kLazy = 0>  // instantiated only where used
inline void fill_band(const ConvParams& p, const float* in, int64_t r, float* band) {
  const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
  const int32_t width = band_width(p);
  const int64_t in_row = int64_t{p.in_w} * p.in_c, row = int64_t{width} * p.in_c;
  // columns [left, left + n) of a padded row hold the input, the rest zeros
  const int32_t left = p.pad_left < width ? p.pad_left : width;
  const int32_t n = width - left < p.in_w ? width - left : p.in_w;
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
    float* dst = band + ky * row;
    if (iy < 0 || iy >= p.in_h) {
      std::fill(dst, dst + row, 0.0f);
      continue;
    }
    std::fill(dst, dst + int64_t{left} * p.in_c, 0.0f);
    std::memcpy(dst + int64_t{left} * p.in_c, in + (int64_t{b} * p.in_h + iy) * in_row, sizeof(float) * n * p.in_c);
    std::fill(dst + int64_t{left + n} * p.in_c, dst + row, 0.0f);
  }
}

// Convolution as implicit GEMM: an output pixel whose window lies inside the input reads
// its taps in place (WindowA, tap offsets koff from the generator), a run of up to kMR such
// pixels along an output row being one tile. Pixels whose window crosses the padding are
// gathered with their zeros into `scratch` ([kMR][k_h * k_w * in_c]) first. With band_koff
// (the generator's choice for short rows, where border pixels would be a large share of
// one-pixel tiles), every row goes through a padded band instead (fill_band; scratch then
// also holds k_h * band_width * in_c floats). Computes output rows [r0, r1) of the
// batch * out_h rows. kRS: stride_w * in_c as a constant (WindowAK), or 0.
template <int kRS, class B>  // B: see gemm
inline void conv2d_implicit(std::integral_constant<int, kRS>, const ConvParams& p, const float* in, const B* packed,
                            const float* bias, const int32_t* koff, const int32_t* band_koff,
                            const float* res, float* out, float* scratch, int64_t r0, int64_t r1) {
  const int32_t kdim = p.k_h * p.k_w * p.in_c;
  const int32_t panels = (p.out_c + 15) / 16;
  const GemmParams g{0, p.out_c, kdim, kdim, p.out_c, p.act, p.post, nullptr, p.out_c, p.res_act, 0, p.slope, out};
  // the residual's bytes for output pixel (row r, column x)
  auto res_at = [&](int64_t r, int32_t x) { return res == nullptr ? nullptr : res + (r * p.out_w + x) * p.out_c; };
  if (band_koff != nullptr) {
    // short rows with padding: each row's window rows padded into a band, then the whole
    // row in balanced blocks of about kMR pixels, border pixels included
    const int32_t blocks = (p.out_w + kMR - 1) / kMR;
    for (int64_t r = r0; r < r1; ++r) {
      fill_band(p, in, r, scratch);
      int32_t x0 = 0;
      for (int32_t i = 0; i < blocks; ++i) {
        const int32_t n = p.out_w / blocks + (i < p.out_w % blocks ? 1 : 0);
        gemm_block(g, n, 0, panels, window_a<kRS>(scratch + int64_t{x0} * p.stride_w * p.in_c, int64_t{p.stride_w} * p.in_c, band_koff),
                   packed, bias, out + (r * p.out_w + x0) * p.out_c, res_at(r, x0));
        x0 += n;
      }
    }
    return;
  }
  // output x range whose window is inside the row
  int32_t x_lo = (p.pad_left + p.stride_w - 1) / p.stride_w;
  const int32_t span = p.in_w - 1 - (p.k_w - 1) * p.dil_w + p.pad_left;
  int32_t x_hi = span < 0 ? 0 : span / p.stride_w + 1;
  if (x_hi > p.out_w) x_hi = p.out_w;
  if (x_lo > x_hi) x_lo = x_hi;
  auto gathered = [&](int64_t r, int32_t b, int32_t oy, int32_t x0, int32_t x1, float* out_row) {
    for (int32_t s0 = x0; s0 < x1; s0 += kMR) {
      const int32_t n = x1 - s0 < kMR ? x1 - s0 : kMR;
      for (int32_t i = 0; i < n; ++i) {
        float* row = scratch + int64_t{i} * kdim;
        const int32_t ox = s0 + i;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            float* dst = row + (int64_t{ky} * p.k_w + kx) * p.in_c;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
              for (int32_t c = 0; c < p.in_c; ++c) dst[c] = 0.0f;
            } else {
              const float* src = in + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
              for (int32_t c = 0; c < p.in_c; ++c) dst[c] = src[c];
            }
          }
        }
      }
      gemm_block(g, n, 0, panels, DenseA{scratch, kdim}, packed, bias, out_row + int64_t{s0} * p.out_c,
                 res_at(r, s0));
    }
  };
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t b = static_cast<int32_t>(r / p.out_h), oy = static_cast<int32_t>(r % p.out_h);
    float* out_row = out + r * p.out_w * p.out_c;
    const int32_t iy0 = oy * p.stride_h - p.pad_top;
    if (iy0 < 0 || iy0 + (p.k_h - 1) * p.dil_h >= p.in_h || x_lo >= x_hi) {
      gathered(r, b, oy, 0, p.out_w, out_row);
      continue;
    }
    gathered(r, b, oy, 0, x_lo, out_row);
    const int32_t count = x_hi - x_lo, blocks = (count + kMR - 1) / kMR;
    int32_t x0 = x_lo;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t n = count / blocks + (i < count % blocks ? 1 : 0);
      const float* origin = in + ((int64_t{b} * p.in_h + iy0) * p.in_w + (x0 * p.stride_w - p.pad_left)) * p.in_c;
      gemm_block(g, n, 0, panels, window_a<kRS>(origin, int64_t{p.stride_w} * p.in_c, koff), packed, bias,
                 out_row + int64_t{x0} * p.out_c, res_at(r, x0));
      x0 += n;
    }
    gathered(r, b, oy, x_hi, p.out_w, out_row);
  }
}

// ---- convolution with few output channels ---------------------------------------------
// A conv whose output channels fit in one partial panel (out_c < 16) would leave most
// lanes of a 16-column GEMM tile idle. Here a tile row is only the R = ceil(out_c / W::N)
// registers the channels need, W being the ISA's 8-float vector type (VNarrow) when
// out_c fits in it, else V; where that frees registers, a tile takes more pixels. The input
// rows of an output row's window are first copied, with their zero padding, into scratch
// ([k_h][width][in_c], koff: tap offsets in it), so that every pixel reads its window in
// place and no border pixel is gathered alone into a short, latency-bound tile. Taps are
// added in the same order, zeros included, as in conv2d_implicit: the same results.
//
// One tile: MR pixels (output rows `cols` floats apart) times the `cols` < 16 columns of
// one panel, in R registers of W.
template <class W, int MR, int R>
inline void narrow_tile(int32_t k, WindowA a, const float* b, const float* bias, float* c, int32_t cols,
                        Clamp<float> act) {
  typename W::T acc[MR][R];
  const float* rows[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    rows[r] = a.row(r);
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) acc[r][j] = bias != nullptr ? W::load(bias + j * W::N) : W::zero();
  }
  for (int32_t kk = 0; kk < k; ++kk) {
    const int64_t col = a.col(kk);
    typename W::T bv[R];
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) bv[j] = W::load(b + int64_t{kk} * 16 + j * W::N);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const typename W::T av = W::set1(rows[r][col]);
#pragma GCC unroll 16
      for (int j = 0; j < R; ++j) acc[r][j] = W::fma(av, bv[j], acc[r][j]);
    }
  }
  const typename W::T lo = W::set1(act.lo), hi = W::set1(act.hi);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < R; ++j) {
      const typename W::T v = W::min(hi, W::max(lo, acc[r][j]));
      float* dst = c + int64_t{r} * cols + j * W::N;
      if (cols >= (j + 1) * W::N) {
        W::store(dst, v);
      } else {
        W::storen(dst, v, cols - j * W::N);
      }
    }
  }
}

// ---- few output channels, two taps per register -------------------------------------------
// With out_c <= W::N / 2 (AVX-512: 8) a register can hold one pixel's products for two
// adjacent taps: lane 2o + t sums, for output channel o, the taps of parity t. The input
// operand is then a two-float broadcast (set2), which is a load: every lane of every FMA
// works without the lane shuffle that would cap the FMAs at one per cycle. With dil_w == 1 a
// window row's k_w * in_c taps are contiguous in the band, so a row is ceil(/ 2) broadcasts,
// an odd last tap going alone into the even lanes. `pairs` holds the weights in that order,
// [k_h][chunk][16] floats, lane 2o + t of chunk j being tap 2j + t of the row (generator:
// ops/conv.py pair_filter). At the end each lane pair is added, and two pixels' sums become
// one register of their out_c channels each, in NHWC order. The sums differ from
// narrow_tile's only in order. kRun: k_w * in_c when the generator fixes it (its loops then
// unroll: 10% on a 3x3 stem), else 0.
template <class W, int MR, int kRun>
inline void pair_tile(const ConvParams& p, int32_t pixels, const float* band, int64_t band_row,
                      const float* pairs, typename W::T bias, const typename W::I* fold, float* c) {
  const int32_t run = kRun > 0 ? kRun : p.k_w * p.in_c, chunks = (run + 1) / 2;
  const int64_t step = int64_t{p.stride_w} * p.in_c;  // floats between neighbouring windows
  typename W::T acc[MR];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) acc[m] = bias;
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    const float* row = band + ky * band_row;
    const float* w = pairs + int64_t{ky} * chunks * 16;
    for (int32_t j = 0; j + 1 < run; j += 2, w += 16) {
      const typename W::T wv = W::load(w);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) acc[m] = W::fma(W::set2(row + m * step + j), wv, acc[m]);
    }
    if (run % 2 != 0) {
      const typename W::T wv = W::load(w);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) acc[m] = W::fma_even(W::set1(row[m * step + run - 1]), wv, acc[m]);
    }
  }
  const typename W::T lo = W::set1(p.act.lo), hi = W::set1(p.act.hi);
#pragma GCC unroll 16
  for (int m = 0; m < MR; m += 2) {
    const typename W::T other = m + 1 < MR ? acc[m + 1] : acc[m];
    const typename W::T v = W::add(W::permute2(acc[m], other, fold[0]), W::permute2(acc[m], other, fold[1]));
    const int32_t n = (pixels - m < 2 ? pixels - m : 2) * p.out_c;
    W::storen(c + int64_t{m} * p.out_c, W::min(hi, W::max(lo, v)), n);
  }
}

// Output rows [r0, r1), in tiles of up to kMR pixels (scratch: the band).
template <class W, int kRun>
inline void conv2d_pairs(const ConvParams& p, const float* in, const float* pairs, const float* bias,
                         float* out, float* scratch, int64_t r0, int64_t r1) {
  // fold[t]: lane i < out_c takes lane 2i + t of the first pixel, lane out_c + i that of the second
  alignas(64) int32_t idx[2][W::N];
  alignas(64) float b[W::N] = {};
  for (int32_t t = 0; t < 2; ++t) {
    for (int32_t i = 0; i < W::N; ++i) {
      idx[t][i] = i < p.out_c ? 2 * i + t : i < 2 * p.out_c ? W::N + 2 * (i - p.out_c) + t : 0;
    }
  }
  for (int32_t o = 0; o < p.out_c && bias != nullptr; ++o) b[2 * o] = bias[o];
  const typename W::I fold[2] = {W::index(idx[0]), W::index(idx[1])};
  const typename W::T bv = W::load(b);
  constexpr int MR = kMR;  // more would run out of general registers for the pixels' addresses
  const int32_t blocks = (p.out_w + MR - 1) / MR;
  // a row whose windows need no padding reads the input in place, the rest a padded band
  const bool full_width = p.pad_left == 0 && band_width(p) <= p.in_w;
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t iy0 = static_cast<int32_t>(r % p.out_h) * p.stride_h - p.pad_top;
    const float* band = scratch;
    int64_t band_row = int64_t{band_width(p)} * p.in_c;
    if (full_width && iy0 >= 0 && iy0 + (p.k_h - 1) * p.dil_h < p.in_h) {
      band = in + ((r / p.out_h) * p.in_h + iy0) * p.in_w * p.in_c;
      band_row = int64_t{p.dil_h} * p.in_w * p.in_c;
    } else {
      fill_band(p, in, r, scratch);
    }
    float* out_row = out + r * p.out_w * p.out_c;
    int32_t x0 = 0;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t n = p.out_w / blocks + (i < p.out_w % blocks ? 1 : 0);
      const float* a = band + int64_t{x0} * p.stride_w * p.in_c;
      float* c = out_row + int64_t{x0} * p.out_c;
#define DLCODER_RT_PAIR_CASE(M) \
  case M:                       \
    if (M <= MR) pair_tile<W, (M <= MR ? M : 1), kRun>(p, n, a, band_row, pairs, bv, fold, c); \
    break;
      DLCODER_RT_ROWS_SWITCH(n, DLCODER_RT_PAIR_CASE)
#undef DLCODER_RT_PAIR_CASE
      x0 += n;
    }
    if (p.post != UnaryKind::kNone) unary(p.post, int64_t{p.out_w} * p.out_c, out_row, out_row);
    if (p.slope.period != 0) slope(p.slope, r * p.out_w * p.out_c, int64_t{p.out_w} * p.out_c, out_row, out_row);
  }
}

// Output rows [r0, r1) of the batch * out_h rows.
template <int kOC, int kRun>  // out_c, < 16; kRun: see pair_tile
inline void conv2d_narrow(std::integral_constant<int, kRun>, const ConvParams& p, const float* in, const float* packed, const float* pairs,
                          const float* bias, const int32_t* koff, float* out, float* scratch, int64_t r0,
                          int64_t r1) {
  using W = std::conditional_t<kOC <= VNarrow::N, VNarrow, V>;
  constexpr int R = (kOC + W::N - 1) / W::N;
  constexpr int kRegs = kMR * kNP * (16 / V::N);  // accumulators the GEMM tile holds
  constexpr int MR = kRegs / R < 12 ? kRegs / R : 12;
  if constexpr (V::kPairs) {
    if (pairs != nullptr && 2 * kOC <= V::N) return conv2d_pairs<V, kRun>(p, in, pairs, bias, out, scratch, r0, r1);
  }
  const int32_t kdim = p.k_h * p.k_w * p.in_c;
  for (int64_t r = r0; r < r1; ++r) {
    fill_band(p, in, r, scratch);
    float* out_row = out + r * p.out_w * kOC;
    const int32_t blocks = (p.out_w + MR - 1) / MR;
    int32_t x0 = 0;
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t rows = p.out_w / blocks + (i < p.out_w % blocks ? 1 : 0);
      const WindowA a{scratch + int64_t{x0} * p.stride_w * p.in_c, int64_t{p.stride_w} * p.in_c, koff};
      float* c = out_row + int64_t{x0} * kOC;
#define DLCODER_RT_NARROW_CASE(M) \
  case M:                         \
    if (M <= MR) narrow_tile<W, (M <= MR ? M : 1), R>(kdim, a, packed, bias, c, kOC, p.act); \
    break;
      DLCODER_RT_ROWS_SWITCH(rows, DLCODER_RT_NARROW_CASE)
#undef DLCODER_RT_NARROW_CASE
      x0 += rows;
    }
    // the fused activation, on the row just written (still in L1)
    if (p.post != UnaryKind::kNone) unary(p.post, int64_t{p.out_w} * kOC, out_row, out_row);
    if (p.slope.period != 0) slope(p.slope, r * p.out_w * kOC, int64_t{p.out_w} * kOC, out_row, out_row);
  }
}
