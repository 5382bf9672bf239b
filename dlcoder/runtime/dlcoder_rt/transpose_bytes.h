// TRANSPOSE's tiles of 1- and 2-byte elements on x86 (transpose.h explains the tile kinds
// and the walk around them).
//
// NOT a normal header: transpose.h includes it once, inside namespace transpose_detail
// and DLCODER_RT_X86, after TileStrips.

DLCODER_RT_TARGET_BEGIN("avx2")
// 1-byte elements on AVX2: 16 rows x 32 columns, two 16x16 tiles side by side in the two
// 128-bit lanes. Four rounds of in-lane unpacks (bytes, pairs, quads, halves) each pair
// register j with j + 8; with the rows loaded in bit-reversed order, register k then holds
// column k (low lane) and column 16 + k (high lane) in row order: 64 unpacks per 512 bytes.
struct Avx2ByteTile {
  static constexpr int32_t kRows = 16, kCols = 32, kReadGrain = 32;
  static void tile(const uint8_t* s, int64_t lda, uint8_t* d, int64_t ldb, int32_t nc) {
    static constexpr int kBitReversed[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    __m256i v[16], u[16];
    for (int i = 0; i < 16; ++i)
      v[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + kBitReversed[i] * lda));
    for (int j = 0; j < 8; ++j) {
      u[2 * j] = _mm256_unpacklo_epi8(v[j], v[j + 8]);
      u[2 * j + 1] = _mm256_unpackhi_epi8(v[j], v[j + 8]);
    }
    for (int j = 0; j < 8; ++j) {
      v[2 * j] = _mm256_unpacklo_epi16(u[j], u[j + 8]);
      v[2 * j + 1] = _mm256_unpackhi_epi16(u[j], u[j + 8]);
    }
    for (int j = 0; j < 8; ++j) {
      u[2 * j] = _mm256_unpacklo_epi32(v[j], v[j + 8]);
      u[2 * j + 1] = _mm256_unpackhi_epi32(v[j], v[j + 8]);
    }
    for (int j = 0; j < 8; ++j) {
      v[2 * j] = _mm256_unpacklo_epi64(u[j], u[j + 8]);
      v[2 * j + 1] = _mm256_unpackhi_epi64(u[j], u[j + 8]);
    }
    for (int k = 0; k < std::min(nc, 16); ++k)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + k * ldb), _mm256_castsi256_si128(v[k]));
    for (int k = 16; k < nc; ++k)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + k * ldb), _mm256_extracti128_si256(v[k - 16], 1));
  }
  static void strip(int32_t nr, int32_t nc, const uint8_t* src, int64_t lda, uint8_t* dst, int64_t ldb) {
    for (int32_t r = 0; r < nr; r += kRows) tile(src + r * lda, lda, dst + r, ldb, nc);
  }
  static void block(int32_t nr, int32_t nc, const uint8_t* src, int64_t lda, uint8_t* dst, int64_t ldb) {
    for (int32_t r = 0; r < nr; r += kRows)
      for (int32_t c = 0; c < nc; c += kCols) tile(src + r * lda + c, lda, dst + c * ldb + r, ldb, kCols);
  }
};
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx512vbmi")
// 1-byte elements with AVX-512 VBMI: 16x16 tiles in four registers of four rows each (one
// row per 128-bit lane: rows paired in 256-bit halves, then the halves joined), then two
// rounds of vpermt2b (any byte of two registers): rows 0-7 and 8-15 to columns 0-7 and
// 8-15 of 8 rows each, then those to four registers of four columns (destination rows, one
// per lane). 8 permutes per 256 bytes, where unpacks take 16. On Zen 4 (in L1) the
// permutes take about half the time, the 16 stores and the loads' merges a quarter each;
// the paired loads are 4-8% faster than broadcasts merged under a mask into each lane
// ([12, 128, 64] perm [0, 2, 1]: 3.77 -> 3.56 us), and a 32-row tile (32-byte stores, 12
// permutes per 256 bytes) or whole-row loads (16 permutes) are slower.
// Where there are 64 rows, tile64 joins four such tiles by a 4x4 transpose of their 128-bit
// lanes (vshufi64x2, 8 per KB more) into one 64-byte store per destination row, 16 stores
// per KB where there were 64 quarter-line ones and their extracts. In bands (below), one
// call for the whole matrix: on Zen 4, [1, 64, 56, 56] perm [0, 2, 3, 1] 8.6 -> 7.05 us
// or 7.9 (XNNPACK 8.2; builds of the same loop gave either, which may be this VM's spells
// of outside noise: README, op benchmark), [1, 56, 56, 64] perm [0, 3, 1, 2] 6.6 -> 5.5,
// [12, 128, 64] perm [0, 2, 1] 3.76 -> 3.2-3.45. As much as the stores mattered: the column
// blocks of matrix() cost a call and a 4-trip loop each (25 ns), and the compiler, left
// alone, kept the 64 row pointers on the stack (10.4 us); the lanes joined by
// vinserti64x4 instead of half the vshufi64x2 were 5-15% slower.
struct VbmiByteTile {
  static constexpr int32_t kRows = 16, kCols = 16, kReadGrain = 16;
  struct Index {  // the byte indices of the two rounds
    alignas(64) uint8_t v[4][64];
  };
  static constexpr Index index() {
    Index t{};
    for (int c = 0; c < 8; ++c)      // round 1: byte 8c + r of the pair = row r, column c (+ 8)
      for (int r = 0; r < 8; ++r) {
        t.v[0][8 * c + r] = static_cast<uint8_t>(16 * r + c);
        t.v[1][8 * c + r] = static_cast<uint8_t>(16 * r + c + 8);
      }
    for (int j = 0; j < 4; ++j)      // round 2: byte 16j + r = row r of column j (+ 4)
      for (int r = 0; r < 16; ++r) {
        t.v[2][16 * j + r] = static_cast<uint8_t>(r < 8 ? 8 * j + r : 64 + 8 * j + r - 8);
        t.v[3][16 * j + r] = static_cast<uint8_t>(r < 8 ? 8 * (j + 4) + r : 64 + 8 * (j + 4) + r - 8);
      }
    return t;
  }
  struct Regs {
    __m512i v[4];
  };
  static Regs load_index() {
    static constexpr Index t = index();
    return {{_mm512_load_si512(t.v[0]), _mm512_load_si512(t.v[1]), _mm512_load_si512(t.v[2]), _mm512_load_si512(t.v[3])}};
  }
  static __m128i row(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static __m512i rows4(const uint8_t* s, int64_t lda) {
    const __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(row(s)), row(s + lda), 1);
    const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(row(s + 2 * lda)), row(s + 3 * lda), 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  }
  // the lanes of o to nc (<= 4) destination rows; the high lanes through one 256-bit extract
  // and 128-bit ones (cheaper than three 512-bit lane extracts)
  static void store4(__m512i o, uint8_t* d, int64_t ldb, int32_t nc) {
    const __m256i lo = _mm512_castsi512_si256(o), hi = _mm512_extracti64x4_epi64(o, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm256_castsi256_si128(lo));
    if (nc > 1) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + ldb), _mm256_extracti128_si256(lo, 1));
    if (nc > 2) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * ldb), _mm256_castsi256_si128(hi));
    if (nc > 3) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 3 * ldb), _mm256_extracti128_si256(hi, 1));
  }
  [[gnu::always_inline]] static void tile(const Regs& x, const uint8_t* s, int64_t lda, uint8_t* d, int64_t ldb, int32_t nc) {
    const __m512i z0 = rows4(s, lda), z1 = rows4(s + 4 * lda, lda);
    const __m512i z2 = rows4(s + 8 * lda, lda), z3 = rows4(s + 12 * lda, lda);
    const __m512i a0 = _mm512_permutex2var_epi8(z0, x.v[0], z1), a1 = _mm512_permutex2var_epi8(z0, x.v[1], z1);
    const __m512i a2 = _mm512_permutex2var_epi8(z2, x.v[0], z3), a3 = _mm512_permutex2var_epi8(z2, x.v[1], z3);
    store4(_mm512_permutex2var_epi8(a0, x.v[2], a2), d, ldb, nc);
    if (nc > 4) store4(_mm512_permutex2var_epi8(a0, x.v[3], a2), d + 4 * ldb, ldb, nc - 4);
    if (nc > 8) store4(_mm512_permutex2var_epi8(a1, x.v[2], a3), d + 8 * ldb, ldb, nc - 8);
    if (nc > 12) store4(_mm512_permutex2var_epi8(a1, x.v[3], a3), d + 12 * ldb, ldb, nc - 12);
  }
  // rows4 at p, then p moved on by four rows; p opaque, so that the compiler keeps one
  // pointer and the strides (p + lda, p + 2 * lda, p + 3 * lda) rather than 64 row
  // pointers, which spill
  static __m512i rows4_next(const uint8_t*& p, int64_t lda) {
    const __m512i z = rows4(p, lda);
    p += 4 * lda;
    __asm__("" : "+r"(p));
    return z;
  }
  // a 16x16 tile left in registers: o[q] lane L = destination row 4q + L
  static void tile_regs(const Regs& x, const uint8_t*& p, int64_t lda, __m512i* o) {
    const __m512i z0 = rows4_next(p, lda), z1 = rows4_next(p, lda);
    const __m512i z2 = rows4_next(p, lda), z3 = rows4_next(p, lda);
    const __m512i a0 = _mm512_permutex2var_epi8(z0, x.v[0], z1), a1 = _mm512_permutex2var_epi8(z0, x.v[1], z1);
    const __m512i a2 = _mm512_permutex2var_epi8(z2, x.v[0], z3), a3 = _mm512_permutex2var_epi8(z2, x.v[1], z3);
    o[0] = _mm512_permutex2var_epi8(a0, x.v[2], a2);
    o[1] = _mm512_permutex2var_epi8(a0, x.v[3], a2);
    o[2] = _mm512_permutex2var_epi8(a1, x.v[2], a3);
    o[3] = _mm512_permutex2var_epi8(a1, x.v[3], a3);
  }
  // 64 rows x 16 columns: four 16x16 tiles (rows 0-15, ..., 48-63), then for each four
  // destination rows a 4x4 transpose of 128-bit lanes across the four tiles' registers (8
  // vshufi64x2), so that each destination row is one whole 64-byte store.
  [[gnu::always_inline]] static void tile64(const Regs& x, const uint8_t* s, int64_t lda, uint8_t* d, int64_t ldb, int32_t nc) {
    __m512i o[4][4];
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) tile_regs(x, s, lda, o[t]);
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __m512i t0 = _mm512_shuffle_i64x2(o[0][q], o[1][q], 0x44), t1 = _mm512_shuffle_i64x2(o[0][q], o[1][q], 0xEE);
      const __m512i t2 = _mm512_shuffle_i64x2(o[2][q], o[3][q], 0x44), t3 = _mm512_shuffle_i64x2(o[2][q], o[3][q], 0xEE);
      const __m512i w[4] = {_mm512_shuffle_i64x2(t0, t2, 0x88), _mm512_shuffle_i64x2(t0, t2, 0xDD),
                            _mm512_shuffle_i64x2(t1, t3, 0x88), _mm512_shuffle_i64x2(t1, t3, 0xDD)};
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) {
        if (4 * q + l < nc) _mm512_storeu_si512(d + l * ldb, w[l]);
      }
      d += 4 * ldb;
      __asm__("" : "+r"(d));
    }
  }
  // A strip of up to 8 columns goes in 16-row tiles, which permute only what they store (5
  // or 6 permutes per 256 bytes; tile64 does 64 per KB: 2x slower at 3 columns, [1, 224,
  // 224, 3] NHWC -> NCHW, and 30% at 5); a wider one in 64-row tiles first (4096 rows of 12
  // columns: 6.8 -> 2.6 us), in a function of its own, so that the 16-row loop here is
  // compiled as it was alone (10% slower otherwise).
  static void strip(int32_t nr, int32_t nc, const uint8_t* src, int64_t lda, uint8_t* dst, int64_t ldb) {
    if (nc > 8) return strip64(nr, nc, src, lda, dst, ldb);
    const Regs x = load_index();
    for (int32_t r = 0; r < nr; r += kRows) tile(x, src + r * lda, lda, dst + r, ldb, nc);
  }
  [[gnu::noinline]] static void strip64(int32_t nr, int32_t nc, const uint8_t* src, int64_t lda, uint8_t* dst, int64_t ldb) {
    const Regs x = load_index();
    int32_t r = 0;
    for (; r + 64 <= nr; r += 64) tile64(x, src + r * lda, lda, dst + r, ldb, nc);
    for (; r < nr; r += kRows) tile(x, src + r * lda, lda, dst + r, ldb, nc);
  }
  static void block(int32_t nr, int32_t nc, const uint8_t* src, int64_t lda, uint8_t* dst, int64_t ldb) {
    const Regs x = load_index();
    for (int32_t r = 0; r < nr; r += kRows)
      for (int32_t c = 0; c < nc; c += kCols) tile(x, src + r * lda + c, lda, dst + c * ldb + r, ldb, kCols);
  }
  // Bands of 64 rows in 64-row tiles, each band across all nc columns, then the rows left
  // (a multiple of 16) in 16x16 tiles: the whole matrix in one call (matrix() below). Taken
  // where the 64 rows' source lines spread over enough L1 sets to stay there for the next
  // 16 columns: a row stride that is a multiple of 1 KB puts 16 or more of them in one set
  // of a 64-set, 8-way L1, which then reloads them for every tile (2x slower at 2 and 4 KB;
  // at 512 bytes, 8 in a set, 512 x 512 takes 8.2 us, 12.3 in the column blocks).
  static bool banded(int64_t lda) { return lda % 1024 != 0; }
  static void bands(int32_t nr, int32_t nc, const uint8_t* src, int64_t lda, uint8_t* dst, int64_t ldb) {
    const Regs x = load_index();
    int32_t r = 0;
    for (; r + 64 <= nr; r += 64)
      for (int32_t c = 0; c < nc; c += kCols) tile64(x, src + r * lda + c, lda, dst + c * ldb + r, ldb, kCols);
    for (; r < nr; r += kRows)
      for (int32_t c = 0; c < nc; c += kCols) tile(x, src + r * lda + c, lda, dst + c * ldb + r, ldb, kCols);
  }
};
DLCODER_RT_TARGET_END

// 1-byte and 2-byte elements: 8x8 tiles of SSE2 unpacks (rows paired, then pairs of
// pairs, then quads: 12 unpacks for 8x8 bytes, 24 for 8x8 halves). Both read 8 columns.
struct Sse2ByteTile : TileStrips<Sse2ByteTile, uint8_t> {
  static constexpr int32_t kRows = 8, kCols = 8, kReadGrain = 8;
  static __m128i row(const uint8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }
  static void tile(const uint8_t* s, int64_t lda, uint8_t* d, int64_t ldb, int32_t nc) {
    const __m128i t0 = _mm_unpacklo_epi8(row(s), row(s + lda));
    const __m128i t1 = _mm_unpacklo_epi8(row(s + 2 * lda), row(s + 3 * lda));
    const __m128i t2 = _mm_unpacklo_epi8(row(s + 4 * lda), row(s + 5 * lda));
    const __m128i t3 = _mm_unpacklo_epi8(row(s + 6 * lda), row(s + 7 * lda));
    const __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
    const __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
    const __m128i cols[4] = {_mm_unpacklo_epi32(u0, u2), _mm_unpackhi_epi32(u0, u2),
                             _mm_unpacklo_epi32(u1, u3), _mm_unpackhi_epi32(u1, u3)};  // 2 columns each
    for (int32_t k = 0; k < nc; ++k) {
      const __m128i v = k % 2 ? _mm_unpackhi_epi64(cols[k / 2], cols[k / 2]) : cols[k / 2];
      _mm_storel_epi64(reinterpret_cast<__m128i*>(d + k * ldb), v);
    }
  }
};

struct Sse2HalfTile : TileStrips<Sse2HalfTile, uint16_t> {
  static constexpr int32_t kRows = 8, kCols = 8, kReadGrain = 8;
  static __m128i row(const uint16_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static void tile(const uint16_t* s, int64_t lda, uint16_t* d, int64_t ldb, int32_t nc) {
    __m128i t[8], u[8];
    for (int32_t i = 0; i < 4; ++i) {          // rows 2i, 2i + 1 -> columns 0-3, 4-7
      t[2 * i] = _mm_unpacklo_epi16(row(s + 2 * i * lda), row(s + (2 * i + 1) * lda));
      t[2 * i + 1] = _mm_unpackhi_epi16(row(s + 2 * i * lda), row(s + (2 * i + 1) * lda));
    }
    for (int32_t h = 0; h < 2; ++h)            // rows 0-3 (h = 0), 4-7: two columns each
      for (int32_t q = 0; q < 2; ++q) {
        u[4 * h + 2 * q] = _mm_unpacklo_epi32(t[4 * h + q], t[4 * h + 2 + q]);
        u[4 * h + 2 * q + 1] = _mm_unpackhi_epi32(t[4 * h + q], t[4 * h + 2 + q]);
      }
    // u[j] (j < 4): rows 0-3 of columns 2j, 2j + 1; u[4 + j]: rows 4-7
    for (int32_t k = 0; k < nc; ++k) {
      const __m128i v = k % 2 ? _mm_unpackhi_epi64(u[k / 2], u[4 + k / 2]) : _mm_unpacklo_epi64(u[k / 2], u[4 + k / 2]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + k * ldb), v);
    }
  }
};
