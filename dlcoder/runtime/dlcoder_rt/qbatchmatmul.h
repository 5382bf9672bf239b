// Quantized BATCH_MATMUL of two int8 operands (per-tensor scales and zero points).
//
// out = requantize(sum_k (a - a_zp) * (b - b_zp)), one multiplier for the whole output,
// the final shift rounded half away from zero (TFLite's reference kernel). The sums are
// exact int32, so any order of the products gives the same bytes.
//
// Vector paths, batch by batch: both operands are packed into the scratch, then tiles of
// lhs rows times blocks of 16 rhs columns, the tiles split across threads (parallel.h).
//   AVX-512 VNNI: bytes, 4 consecutive k per int32 lane, vpdpbusd (k_vnni below says how
//                 the zero points enter).
//   AVX2 (and AVX-512 without VNNI): the zero points subtracted, int16 pairs of
//                 consecutive k (zero past k): lhs rows [m][kp], rhs [kp/2][np][2] (np: n
//                 padded to 16 columns). vpmaddwd of a broadcast lhs pair with 8 rhs column
//                 pairs gives two products per int32 lane, at most 2 * 255^2 in magnitude,
//                 so it never saturates.
// Every other ISA runs the scalar loop.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/params.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct QMatMulParams {
  int32_t a_zp, b_zp, multiplier, shift, out_zp, lo, hi;
};

// The scalar kernel, every ISA's fallback.
inline void batch_matmul_q_scalar(const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* lhs,
                                  const int8_t* rhs, int8_t* out) {
  const MatMulSteps s(p);
  for_each_matmul_output(p, [&](int64_t a, int64_t b, int64_t o) {
    int32_t acc = 0;
    for (int32_t k = 0; k < p.k; ++k)
      acc += (int32_t{lhs[a + k * s.a_k]} - q.a_zp) * (int32_t{rhs[b + k * s.b_k]} - q.b_zp);
    out[o] = requantize<int8_t>(acc, q.multiplier, q.shift, q.out_zp, q.lo, q.hi);
  });
}

namespace qbmm {

constexpr int32_t kCols = 16;  // rhs columns per packed block

constexpr int64_t packed_k(const BatchMatMulParams& p) { return (p.k + 1) / 2 * 2; }
constexpr int64_t packed_k4(const BatchMatMulParams& p) { return (p.k + 3) / 4 * 4; }
constexpr int64_t packed_n(const BatchMatMulParams& p) { return (p.n + kCols - 1) / kCols * kCols; }
// int16 pairs: lhs [m][kp], rhs [kp/2][np][2]
constexpr int64_t packed_bytes16(const BatchMatMulParams& p) { return 2 * packed_k(p) * (p.m + packed_n(p)); }
// bytes (VNNI): lhs [m][k4], rhs [k4/4][np][4], then the int32 column and row terms
constexpr int64_t packed_bytes8(const BatchMatMulParams& p) {
  return packed_k4(p) * (p.m + packed_n(p)) + 4 * (packed_n(p) + p.m);
}

#if defined(DLCODER_RT_X86)
// Packed row d: d[k] = x[k * step] - zp for k < len, 0 for k in [len, end).
inline void pack_scalar(const int8_t* x, int64_t step, int64_t len, int64_t end, int32_t zp, int16_t* d) {
  for (int64_t k = 0; k < len; ++k) d[k] = static_cast<int16_t>(x[k * step] - zp);
  for (int64_t k = len; k < end; ++k) d[k] = 0;
}

DLCODER_RT_TARGET_BEGIN("avx2")
namespace k_avx2 {
// d[k] = x[k] - zp for k < len: contiguous int8 to int16.
inline void pack_row(const int8_t* x, int64_t len, int32_t zp, int16_t* d) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  int64_t k = 0;
  for (; k + 16 <= len; k += 16) {
    const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + k)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + k), _mm256_sub_epi16(v, z));
  }
  pack_scalar(x + k, 1, len - k, len - k, zp, d + k);
}

// Two contiguous rows r0, r1 (n columns) -> the int16 pairs d[2j] = r0[j] - zp,
// d[2j + 1] = r1[j] - zp.
inline void pack_pairs(const int8_t* r0, const int8_t* r1, int64_t n, int32_t zp, int16_t* d) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256i a = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + j))), z);
    const __m256i b = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + j))), z);
    const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);  // columns 0-3 8-11, 4-7 12-15
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 2 * j), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 2 * j + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  for (; j < n; ++j) {
    d[2 * j] = static_cast<int16_t>(r0[j] - zp);
    d[2 * j + 1] = static_cast<int16_t>(r1[j] - zp);
  }
}
}  // namespace k_avx2
DLCODER_RT_TARGET_END

// One batch of lhs (element (i, k) at i * a_i + k * a_k) -> int16 [m][kp].
inline void pack_lhs(const BatchMatMulParams& p, const int8_t* a, int32_t zp, int16_t* dst) {
  const MatMulSteps st(p);
  const int64_t a_i = st.a_i, a_k = st.a_k, kp = packed_k(p);
  for (int32_t i = 0; i < p.m; ++i) {
    int16_t* d = dst + i * kp;
    if (a_k == 1) {
      k_avx2::pack_row(a + i * a_i, p.k, zp, d);
      if (p.k < kp) d[p.k] = 0;
    } else {
      pack_scalar(a + i * a_i, a_k, p.k, kp, zp, d);
    }
  }
}

// One batch of rhs (element (k, j) at k * b_k + j * b_j) -> int16 [kp/2][np][2].
inline void pack_rhs(const BatchMatMulParams& p, const int8_t* b, int32_t zp, int16_t* dst) {
  const MatMulSteps st(p);
  const int64_t b_k = st.b_k, b_j = st.b_j;
  const int64_t kp = packed_k(p), np = packed_n(p);
  for (int64_t k = 0; k < kp; k += 2) {
    int16_t* d = dst + k * np;
    if (b_j == 1 && k + 1 < p.k) {   // two whole rows
      k_avx2::pack_pairs(b + k * b_k, b + (k + 1) * b_k, p.n, zp, d);
      std::memset(d + 2 * p.n, 0, sizeof(int16_t) * 2 * (np - p.n));
      continue;
    }
    for (int64_t j = 0; j < np; ++j) {
      d[2 * j] = j < p.n ? static_cast<int16_t>(b[k * b_k + j * b_j] - zp) : 0;
      d[2 * j + 1] = j < p.n && k + 1 < p.k ? static_cast<int16_t>(b[(k + 1) * b_k + j * b_j] - zp) : 0;
    }
  }
}

// One batch of both operands into the scratch of the int16 kernels.
inline void pack16(const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* a, const int8_t* b, uint8_t* scratch) {
  int16_t* dst = reinterpret_cast<int16_t*>(scratch);
  pack_lhs(p, a, q.a_zp, dst);
  pack_rhs(p, b, q.b_zp, dst + p.m * packed_k(p));
}

// ---- multiply_by_quantized_multiplier<kAway> of one multiplier, plus zero point, clamped --
// high = SRDHM(x << left, m) = floor((x * m + 2^30) / 2^31) (m > 0 never saturates, and
// |high| < 2^31); the shift by rs rounded half away from zero is sign(high) times |high|
// shifted half up, that as floor((floor(|high| / 2^(rs-1)) + 1) / 2), which cannot
// overflow, or |high| itself for rs = 0 (both shifts by 0, nothing added).
struct AwayShifts {
  int32_t left, r1, radd;
  explicit AwayShifts(int32_t shift)
      : left(shift > 0 ? shift : 0), r1(shift < 0 ? -shift - 1 : 0), radd(shift < 0 ? 1 : 0) {}
};

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2")
struct Away512 {
  __m512i mult, radd, zp, lo, hi;
  __m128i left, r1, r2;
  explicit Away512(const QMatMulParams& q) {
    const AwayShifts s(q.shift);
    mult = _mm512_set1_epi64(q.multiplier);
    left = _mm_cvtsi32_si128(s.left);
    r1 = _mm_cvtsi32_si128(s.r1);
    r2 = _mm_cvtsi32_si128(s.radd);
    radd = _mm512_set1_epi32(s.radd);
    zp = _mm512_set1_epi32(q.out_zp);
    lo = _mm512_set1_epi32(q.lo);
    hi = _mm512_set1_epi32(q.hi);
  }
  __m512i operator()(__m512i x) const {
    x = _mm512_sll_epi32(x, left);
    const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
    const __m512i pe = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), nudge), 31);
    const __m512i po = _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult), nudge), 1);
    const __m512i h = _mm512_mask_blend_epi32(0xAAAA, pe, po);
    __m512i u = _mm512_srl_epi32(_mm512_add_epi32(_mm512_srl_epi32(_mm512_abs_epi32(h), r1), radd), r2);
    u = _mm512_mask_sub_epi32(u, _mm512_movepi32_mask(h), _mm512_setzero_si512(), u);
    return _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(u, zp), lo), hi);
  }
};

DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
struct Away256 {
  __m256i mult, radd, zp, lo, hi;
  __m128i left, r1, r2;
  explicit Away256(const QMatMulParams& q) {
    const AwayShifts s(q.shift);
    mult = _mm256_set1_epi64x(q.multiplier);
    left = _mm_cvtsi32_si128(s.left);
    r1 = _mm_cvtsi32_si128(s.r1);
    r2 = _mm_cvtsi32_si128(s.radd);
    radd = _mm256_set1_epi32(s.radd);
    zp = _mm256_set1_epi32(q.out_zp);
    lo = _mm256_set1_epi32(q.lo);
    hi = _mm256_set1_epi32(q.hi);
  }
  __m256i operator()(__m256i x) const {
    x = _mm256_sll_epi32(x, left);
    const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
    const __m256i pe = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, mult), nudge), 31);
    const __m256i po = _mm256_slli_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mult), nudge), 1);
    const __m256i h = _mm256_blend_epi32(pe, po, 0xAA);
    __m256i u = _mm256_srl_epi32(_mm256_add_epi32(_mm256_srl_epi32(_mm256_abs_epi32(h), r1), radd), r2);
    u = _mm256_sign_epi32(u, h);   // h = 0 gives u = 0 either way
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(u, zp), lo), hi);
  }
};

namespace k_avx2 {
constexpr int kTile = 4;

// Rows [0, R) of packed lhs `a` times every column block of packed rhs `b`.
template <int R>
inline void tile(const int16_t* a, const int16_t* b, int64_t kp, int64_t np, int32_t n, const Away256& rq, int8_t* y,
                 int64_t ldc) {
  for (int32_t j = 0; j < n; j += kCols) {
    __m256i acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const int16_t* bj = b + 2 * j;
    for (int64_t kk = 0; kk < kp / 2; ++kk) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bj + kk * np * 2));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bj + kk * np * 2 + 16));
      for (int r = 0; r < R; ++r) {
        int32_t pair;
        std::memcpy(&pair, a + r * kp + 2 * kk, sizeof pair);
        const __m256i x = _mm256_set1_epi32(pair);
        acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x, w0));
        acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x, w1));
      }
    }
    const int ch = std::min(kCols, n - j);
    for (int r = 0; r < R; ++r) {
      // 16 lanes within int8's range -> bytes in order
      const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(rq(acc[r][0]), rq(acc[r][1])), 0xD8);
      const __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
      alignas(16) int8_t tmp[kCols];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
      std::memcpy(y + r * ldc + j, tmp, static_cast<size_t>(ch));
    }
  }
}

inline void rows(const BatchMatMulParams& p, const QMatMulParams& q, const uint8_t* scratch, int8_t* y, int64_t i0,
                 int64_t i1) {
  const int64_t kp = packed_k(p), np = packed_n(p), ldc = p.ldc;
  const int32_t n = p.n;
  const int16_t* a = reinterpret_cast<const int16_t*>(scratch);
  const int16_t* b = a + p.m * kp;
  const Away256 rq(q);
  for (int64_t i = i0; i < i1; i += kTile) {
    const int16_t* ai = a + i * kp;
    int8_t* yi = y + i * ldc;
    switch (std::min<int64_t>(kTile, i1 - i)) {
      case 4: tile<4>(ai, b, kp, np, n, rq, yi, ldc); break;
      case 3: tile<3>(ai, b, kp, np, n, rq, yi, ldc); break;
      case 2: tile<2>(ai, b, kp, np, n, rq, yi, ldc); break;
      default: tile<1>(ai, b, kp, np, n, rq, yi, ldc); break;
    }
  }
}
}  // namespace k_avx2
DLCODER_RT_TARGET_END

// ---- AVX-512 VNNI: vpdpbusd, 4 products of unsigned lhs and signed rhs bytes per lane ------
// lhs as u = a + 128 (a ^ 0x80), rhs raw, zero past k. Then sum_k u * b = sum a * b + 128 *
// colsum(b), and the wanted sum_k (a - a_zp) * (b - b_zp) is that plus the column term
// -(128 + a_zp) * colsum(b)_j + k * a_zp * b_zp and the row term -b_zp * rowsum(a)_i, where
// each accumulator starts. All of it wraps in int32 as the exact sum does.
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2")
namespace k_vnni {
constexpr int kTile = 8;

struct Layout {
  int64_t k4, np;
  uint8_t* a;      // [m][k4] u8
  int8_t* b;       // [k4/4][np][4]
  int32_t* col;    // [np] column terms
  int32_t* row;    // [m] row terms
  Layout(const BatchMatMulParams& p, uint8_t* s) : k4(packed_k4(p)), np(packed_n(p)) {
    a = s;
    b = reinterpret_cast<int8_t*>(s + p.m * k4);
    col = reinterpret_cast<int32_t*>(s + (p.m + np) * k4);
    row = col + np;
  }
};

inline void pack(const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* a, const int8_t* b, uint8_t* s) {
  const Layout l(p, s);
  // lhs rows (and their sums, of u: a's sum is that minus 128 k)
  const MatMulSteps st(p);
  const int64_t a_i = st.a_i, a_k = st.a_k;
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int32_t i = 0; i < p.m; ++i) {
    uint8_t* d = l.a + i * l.k4;
    int64_t sum_u = 0;
    if (a_k == 1) {
      __m512i sums = _mm512_setzero_si512();
      for (int64_t k = 0; k < l.k4; k += 64) {   // k < p.k (multiples of 4, k4 < p.k + 4)
        const __mmask64 in = ~uint64_t{0} >> (64 - std::min<int64_t>(64, p.k - k));
        const __mmask64 out = ~uint64_t{0} >> (64 - std::min<int64_t>(64, l.k4 - k));
        const __m512i u = _mm512_maskz_mov_epi8(in, _mm512_xor_si512(_mm512_maskz_loadu_epi8(in, a + i * a_i + k), flip));
        sums = _mm512_add_epi64(sums, _mm512_sad_epu8(u, _mm512_setzero_si512()));
        _mm512_mask_storeu_epi8(d + k, out, u);
      }
      sum_u = _mm512_reduce_add_epi64(sums);
    } else {
      for (int64_t k = 0; k < l.k4; ++k) {
        d[k] = k < p.k ? static_cast<uint8_t>(a[i * a_i + k * a_k] ^ 0x80) : 0;
        sum_u += d[k];
      }
    }
    l.row[i] = static_cast<int32_t>(-q.b_zp * (sum_u - int64_t{128} * p.k));
  }
  // rhs groups of 4 k, 16 columns as 64 bytes
  const int64_t b_k = st.b_k, b_j = st.b_j;
  for (int64_t k = 0; k < l.k4; k += 4) {
    int8_t* d = l.b + k * l.np;
    int64_t j = 0;
    if (b_j == 1 && k + 3 < p.k) {   // four whole rows
      for (; j + 16 <= p.n; j += 16) {
        const auto row = [&](int t) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + (k + t) * b_k + j)); };
        const __m128i r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3);
        const __m128i lo01 = _mm_unpacklo_epi8(r0, r1), hi01 = _mm_unpackhi_epi8(r0, r1);
        const __m128i lo23 = _mm_unpacklo_epi8(r2, r3), hi23 = _mm_unpackhi_epi8(r2, r3);
        __m128i* o = reinterpret_cast<__m128i*>(d + 4 * j);
        _mm_storeu_si128(o, _mm_unpacklo_epi16(lo01, lo23));
        _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(lo01, lo23));
        _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(hi01, hi23));
        _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(hi01, hi23));
      }
    }
    for (; j < l.np; ++j)
      for (int t = 0; t < 4; ++t)
        d[4 * j + t] = j < p.n && k + t < p.k ? b[(k + t) * b_k + j * b_j] : 0;
  }
  // column terms: the column sums as dot products with ones
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i fixed = _mm512_set1_epi32(static_cast<int32_t>(int64_t{p.k} * q.a_zp * q.b_zp));
  const __m512i scale = _mm512_set1_epi32(-(128 + q.a_zp));
  for (int64_t j = 0; j < l.np; j += kCols) {
    __m512i sum = _mm512_setzero_si512();
    for (int64_t k = 0; k < l.k4; k += 4) sum = _mm512_dpbusd_epi32(sum, ones, _mm512_loadu_si512(l.b + k * l.np + 4 * j));
    _mm512_storeu_si512(l.col + j, _mm512_add_epi32(_mm512_mullo_epi32(sum, scale), fixed));
  }
}

// Rows [0, R) from row i0 times C column blocks from column j.
template <int R, int C>
inline void tile(const BatchMatMulParams& p, const Layout& l, int64_t i0, int32_t j, const Away512& rq, int8_t* y) {
  __m512i acc[R][C];
  for (int c = 0; c < C; ++c) {
    const __m512i col = _mm512_loadu_si512(l.col + j + kCols * c);
    for (int r = 0; r < R; ++r) acc[r][c] = _mm512_add_epi32(col, _mm512_set1_epi32(l.row[i0 + r]));
  }
  const uint8_t* a = l.a + i0 * l.k4;
  for (int64_t k = 0; k < l.k4; k += 4) {
    __m512i w[C];
    for (int c = 0; c < C; ++c) w[c] = _mm512_loadu_si512(l.b + k * l.np + 4 * (j + kCols * c));
    for (int r = 0; r < R; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * l.k4 + k, sizeof quad);
      const __m512i x = _mm512_set1_epi32(quad);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], x, w[c]);
    }
  }
  for (int c = 0; c < C; ++c) {
    const int32_t jc = j + kCols * c;
    const __mmask16 mask = static_cast<__mmask16>(0xFFFFu >> (kCols - std::min(kCols, p.n - jc)));
    for (int r = 0; r < R; ++r)
      _mm_mask_storeu_epi8(y + (i0 + r) * p.ldc + jc, mask, _mm512_cvtepi32_epi8(rq(acc[r][c])));
  }
}

template <int R>
inline void row_tile(const BatchMatMulParams& p, const Layout& l, int64_t i0, const Away512& rq, int8_t* y) {
  int32_t j = 0;
  for (; j + 2 * kCols <= l.np; j += 2 * kCols) tile<R, 2>(p, l, i0, j, rq, y);
  if (j < p.n) tile<R, 1>(p, l, i0, j, rq, y);
}

inline void rows(const BatchMatMulParams& p, const QMatMulParams& q, const uint8_t* s, int8_t* y, int64_t i0,
                 int64_t i1) {
  const Layout l(p, const_cast<uint8_t*>(s));
  const Away512 rq(q);
  for (int64_t i = i0; i < i1; i += kTile) {
    switch (std::min<int64_t>(kTile, i1 - i)) {
      case 8: row_tile<8>(p, l, i, rq, y); break;
      case 7: row_tile<7>(p, l, i, rq, y); break;
      case 6: row_tile<6>(p, l, i, rq, y); break;
      case 5: row_tile<5>(p, l, i, rq, y); break;
      case 4: row_tile<4>(p, l, i, rq, y); break;
      case 3: row_tile<3>(p, l, i, rq, y); break;
      case 2: row_tile<2>(p, l, i, rq, y); break;
      default: row_tile<1>(p, l, i, rq, y); break;
    }
  }
}
}  // namespace k_vnni
DLCODER_RT_TARGET_END

// The kernels `run` takes: the rows of a tile, how a batch is packed, how rows are computed.
struct Avx2Kernel {
  static constexpr int kTile = k_avx2::kTile;
  static void pack(const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* a, const int8_t* b, uint8_t* s) {
    pack16(p, q, a, b, s);
  }
  static void rows(const BatchMatMulParams& p, const QMatMulParams& q, const uint8_t* s, int8_t* y, int64_t i0,
                   int64_t i1) {
    k_avx2::rows(p, q, s, y, i0, i1);
  }
};

struct VnniKernel {
  static constexpr int kTile = k_vnni::kTile;
  static void pack(const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* a, const int8_t* b, uint8_t* s) {
    k_vnni::pack(p, q, a, b, s);
  }
  static void rows(const BatchMatMulParams& p, const QMatMulParams& q, const uint8_t* s, int8_t* y, int64_t i0,
                   int64_t i1) {
    k_vnni::rows(p, q, s, y, i0, i1);
  }
};

// Each batch: pack both operands, then tiles of K::kTile rows across tasks.
template <typename K>
inline void run(const Parallel& par, const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* lhs,
                const int8_t* rhs, int8_t* out, uint8_t* scratch) {
  const int64_t tiles = (p.m + K::kTile - 1) / K::kTile;
  for (int64_t t = 0, batches = batch_count(p); t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    K::pack(p, q, lhs + ia, rhs + ib, scratch);
    parallel_ranges(par, tiles, int64_t{p.m} * p.n * p.k, [&](int32_t, int64_t lo, int64_t hi) {
      K::rows(p, q, scratch, out + io, lo * K::kTile, std::min<int64_t>(hi * K::kTile, p.m));
    });
  }
}

// The vector kernels of this CPU; false where it has none.
inline bool run_simd(const Parallel& par, const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* lhs,
                     const int8_t* rhs, int8_t* out, uint8_t* scratch) {
  switch (runtime_isa()) {
    case Isa::kAvx512:
      if (runtime_avx512bw() && runtime_int8_dot()) {
        run<VnniKernel>(par, p, q, lhs, rhs, out, scratch);
        return true;
      }
      [[fallthrough]];
    case Isa::kAvx2:
      run<Avx2Kernel>(par, p, q, lhs, rhs, out, scratch);
      return true;
    default: return false;
  }
}
#else
inline bool run_simd(const Parallel&, const BatchMatMulParams&, const QMatMulParams&, const int8_t*, const int8_t*,
                     int8_t*, uint8_t*) {
  return false;
}
#endif  // DLCODER_RT_X86

}  // namespace qbmm

// The scratch bytes batch_matmul_q needs: one batch of both packed operands, in the larger
// of the two layouts.
constexpr int64_t batch_matmul_q_scratch(const BatchMatMulParams& p) {
  return std::max(qbmm::packed_bytes16(p), qbmm::packed_bytes8(p));
}

inline void batch_matmul_q(const Parallel& par, const BatchMatMulParams& p, const QMatMulParams& q, const int8_t* lhs,
                           const int8_t* rhs, int8_t* out, uint8_t* scratch) {
  if (!qbmm::run_simd(par, p, q, lhs, rhs, out, scratch)) batch_matmul_q_scalar(p, q, lhs, rhs, out);
}

}  // namespace dlcoder_rt
