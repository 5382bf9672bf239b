// AMX kernels of the quantized CONV_2D and FULLY_CONNECTED (qlinear.h): int8 weights,
// int8 or uint8 activations, on CPUs with AMX-INT8 (Sapphire Rapids and later).
//
// The tiles multiply 16 rows of A (up to 64 bytes of k each) by 16 groups of 4 k of 16
// output channels, which is one block of the packed weights as the generator writes them
// ([panels][kp/4][16][4], simd_qlinear.h): B tiles load straight from the panels. A tiles
// take the activations as they are, with no xor copy: tdpbssd (signed x signed) for int8,
// whose signed domain is the input itself (bias_s), tdpbusd (unsigned x signed) for uint8,
// whose unsigned domain is the input itself (bias_u). A 1x1 stride-1 convolution and a
// fully connected layer with k a multiple of 4 read the input in place (row stride k);
// everything else is copied, 32 rows at a time, into the scratch (im2col, padding taps
// holding in_zp). The C tiles start from the bias (a tile load with row stride 0).
//
// Every k block of a GEMM has the same size (the tile shapes are fixed per task by one
// tile configuration): kp split into nb blocks of kp / nb bytes, nb the least count of at
// most 64 bytes that divides kp evenly. The generator pads k to such a kp where that
// costs little (qgemm_kp, simd_qlinear.h); where it would not, amx_block says no and the
// VNNI kernels run instead. Integer sums are exact (wrapping) in any order, so the results are
// the VNNI kernels' bytes.
//
// Requantization (multiply_by_quantized_multiplier<kUp>, requantize.h), with x' = x
// shifted left by max(shift, 0) (wrapping) and rs = max(-shift, 0): SRDHM rounds half up,
// h = floor((x' * m + 2^30) / 2^31), and the half-up shift by rs of it is, nesting the
// floors, floor((x' * m + 2^30 + (rs > 0 ? 2^(30 + rs) : 0)) / 2^(31 + rs)): one 64-bit
// multiply-add and one arithmetic shift per lane (m > 0, |x' * m| < 2^62, rs < 32).
//
// They run where runtime_amx() (isa.h) says so, through qlinear_path's QPath::kAmx.
#pragma once

#include "dlcoder_rt/parallel.h"
#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

constexpr int32_t kQAmxRows = 32;   // A rows per block of the AMX kernels (two tiles)
constexpr int32_t kQAmxSlack = 64;  // bytes past them that the copies may write (copy_row)

// Bytes of the A buffer of the AMX kernels for a GEMM of `rows` rows: one tile of 16 rows,
// or two (kQAmxRows).
constexpr int32_t amx_buffer(int32_t kp, int64_t rows) {
  return (rows > kQAmxRows / 2 ? kQAmxRows : kQAmxRows / 2) * kp + kQAmxSlack;
}

}  // namespace dlcoder_rt

#if defined(DLCODER_RT_AMX)
namespace dlcoder_rt {
namespace qamx {

DLCODER_RT_TARGET_BEGIN("amx-tile,amx-int8,avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")

// multiply_by_quantized_multiplier<kUp> of 16 channels (the identity in the header
// comment), + zero point, clamped, stored. 64-bit lanes: "e" the even channels (the low
// half of each lane), "o" the odd ones. The zero point goes into the added constant
// (zp * 2^(31 + rs) is a whole multiple of the divisor) where that cannot overflow
// (rs <= 22: |x' * m| + the constant < 2^63). Clamping: the int32 saturated to bytes
// (vpmovsdb, or vpmovusdb past a max with lo >= 0), then clamped bytewise, as lo and hi
// lie in Q's range.
template <typename Q>
struct Requant {
  __m512i left, mult, mult_o, add_e, add_o, shr_e, shr_o, zp, lo;
  __m128i lo8, hi8;
  bool shifts_left, zp_apart;
  Requant(const int32_t* m, const int32_t* s, int32_t zero_point, int32_t lo_, int32_t hi_) {
    const __m512i shift = _mm512_loadu_si512(s);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
    mult = _mm512_loadu_si512(m);
    mult_o = _mm512_srli_epi64(mult, 32);
    left = _mm512_max_epi32(shift, zero);
    shifts_left = _mm512_test_epi32_mask(left, left) != 0;
    const __m512i rs = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
    zp_apart = _mm512_cmpgt_epi32_mask(rs, _mm512_set1_epi32(22)) != 0;
    zp = _mm512_set1_epi32(zp_apart ? zero_point : 0);
    const __m512i rs_e = _mm512_and_si512(rs, low), rs_o = _mm512_srli_epi64(rs, 32);
    shr_e = _mm512_add_epi64(rs_e, _mm512_set1_epi64(31));
    shr_o = _mm512_add_epi64(rs_o, _mm512_set1_epi64(31));
    const __m512i thirty = _mm512_set1_epi64(30), one = _mm512_set1_epi64(1);
    const __m512i half = _mm512_set1_epi64(int64_t{1} << 30);
    const __m512i zp64 = _mm512_set1_epi64(zp_apart ? 0 : zero_point);
    add_e = _mm512_add_epi64(_mm512_add_epi64(half, _mm512_sllv_epi64(zp64, shr_e)),
                             _mm512_maskz_sllv_epi64(_mm512_cmpgt_epi64_mask(rs_e, zero), one,
                                                     _mm512_add_epi64(rs_e, thirty)));
    add_o = _mm512_add_epi64(_mm512_add_epi64(half, _mm512_sllv_epi64(zp64, shr_o)),
                             _mm512_maskz_sllv_epi64(_mm512_cmpgt_epi64_mask(rs_o, zero), one,
                                                     _mm512_add_epi64(rs_o, thirty)));
    lo = _mm512_set1_epi32(lo_);
    lo8 = _mm_set1_epi8(static_cast<char>(lo_));
    hi8 = _mm_set1_epi8(static_cast<char>(hi_));
  }
  // ch <= 16 outputs of the 16 accumulators at acc (64-byte aligned) to y
  void operator()(const int32_t* acc, int ch, Q* y) const {
    __m512i x = _mm512_load_si512(acc);
    if (shifts_left) x = _mm512_sllv_epi32(x, left);
    const __m512i e = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), add_e), shr_e);
    const __m512i o =
        _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_o), add_o), shr_o);
    __m512i v = _mm512_mask_shuffle_epi32(e, 0xAAAA, o, _MM_PERM_CDAB);  // odd lanes from o's low halves
    if (zp_apart) v = _mm512_add_epi32(v, zp);
    __m128i b;
    if constexpr (std::is_signed<Q>::value) {
      b = _mm_min_epi8(_mm_max_epi8(_mm512_cvtsepi32_epi8(v), lo8), hi8);
    } else {
      b = _mm_min_epu8(_mm512_cvtusepi32_epi8(_mm512_max_epi32(v, lo)), hi8);
    }
    if (ch == kQPanel) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
    } else {
      _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << ch) - 1u), b);
    }
  }
};

// The tile configuration of a task: tiles 0-3 accumulators C[row block][panel] (16 x 16
// int32), 4-5 A of the two row blocks (16 rows x bk bytes), 6-7 B of the two panels
// (bk / 4 rows x 64 bytes).
struct alignas(64) TileConfig {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

inline void configure(int32_t bk) {
  TileConfig c;
  std::memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = static_cast<uint8_t>(t >= 6 ? bk / 4 : 16);
    c.colsb[t] = static_cast<uint16_t>(t == 4 || t == 5 ? bk : 64);
  }
  _tile_loadconfig(&c);
}

// c[RB * 16][32] (row stride 32 int32) = bias + A x B for RB row blocks of A (rows of lda
// bytes) and PB panels from `w` (the first panel; panels kp * 16 bytes apart).
template <bool kSigned, int RB, int PB>
inline void tiles(const void* a, int64_t lda, int32_t kp, int32_t bk, const int8_t* w, const int32_t* bias,
                  int32_t* c) {
  const uint8_t* ab = static_cast<const uint8_t*>(a);
  const int8_t* w1 = w + int64_t{kp} * kQPanel;
  _tile_loadd(0, bias, 0);
  if constexpr (PB > 1) _tile_loadd(1, bias + kQPanel, 0);
  if constexpr (RB > 1) _tile_loadd(2, bias, 0);
  if constexpr (RB > 1 && PB > 1) _tile_loadd(3, bias + kQPanel, 0);
  for (int32_t k0 = 0; k0 < kp; k0 += bk) {
    _tile_loadd(6, w + int64_t{k0} * kQPanel, 64);
    if constexpr (PB > 1) _tile_loadd(7, w1 + int64_t{k0} * kQPanel, 64);
    _tile_loadd(4, ab + k0, lda);
    if constexpr (RB > 1) _tile_loadd(5, ab + 16 * lda + k0, lda);
#define DLCODER_RT_QAMX_DP(C, A_, B_) \
  if constexpr (kSigned) {           \
    _tile_dpbssd(C, A_, B_);         \
  } else {                           \
    _tile_dpbusd(C, A_, B_);         \
  }
    DLCODER_RT_QAMX_DP(0, 4, 6)
    if constexpr (PB > 1) { DLCODER_RT_QAMX_DP(1, 4, 7) }
    if constexpr (RB > 1) { DLCODER_RT_QAMX_DP(2, 5, 6) }
    if constexpr (RB > 1 && PB > 1) { DLCODER_RT_QAMX_DP(3, 5, 7) }
#undef DLCODER_RT_QAMX_DP
  }
  constexpr int64_t ldc = 2 * kQPanel * sizeof(int32_t);
  _tile_stored(0, c, ldc);
  if constexpr (PB > 1) _tile_stored(1, c + kQPanel, ldc);
  if constexpr (RB > 1) _tile_stored(2, c + 16 * 2 * kQPanel, ldc);
  if constexpr (RB > 1 && PB > 1) _tile_stored(3, c + 16 * 2 * kQPanel + kQPanel, ldc);
}

// dst[0..n) = src[0..n), in whole vectors of 16, 32 or 64 bytes: it may write up to 63
// bytes past dst + n (the A buffer has that slack; what lands past a row's k meets zero
// weights or is overwritten by the next copy) and reads past src + n where that stays
// below `end`, else the last vector is a masked one.
inline void copy_row(uint8_t* dst, const void* src, int32_t n, const void* end) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  const uint8_t* e = static_cast<const uint8_t*>(end);
  if (n <= 16 && s + 16 <= e) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
    return;
  }
  if (n <= 32 && s + 32 <= e) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
    return;
  }
  for (; n > 0; n -= 64, s += 64, dst += 64) {
    if (s + 64 <= e) {
      _mm512_storeu_si512(dst, _mm512_loadu_si512(s));
    } else {
      const __mmask64 m = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
      _mm512_mask_storeu_epi8(dst, m, _mm512_maskz_loadu_epi8(m, s));
    }
  }
}

// dst[0..n) = v, in whole vectors (writes up to 63 bytes past, as copy_row).
inline void fill_row(uint8_t* dst, uint8_t v, int32_t n) {
  const __m512i b = _mm512_set1_epi8(static_cast<char>(v));
  for (; n > 0; n -= 64, dst += 64) _mm512_storeu_si512(dst, b);
}

// Requantizes and stores rows [0, m) of c (from tiles) to channels c0.. of y (row stride
// out_c): one panel, or two.
template <typename Q>
inline void epilogue(const int32_t* c, int m, int32_t c0, int32_t out_c, const QRequantArgs& e, Q* y) {
  for (int32_t h = 0; h < 2 && c0 + h * kQPanel < out_c; ++h) {
    const int32_t ch0 = c0 + h * kQPanel, ch = std::min(kQPanel, out_c - ch0);
    const Requant<Q> rq(e.mult + ch0, e.shift + ch0, e.zero_point, e.lo, e.hi);
    Q* yp = y + ch0;
    const int32_t* cp = c + h * kQPanel;
    for (int r = 0; r < m; ++r) rq(cp + r * 2 * kQPanel, ch, yp + r * out_c);
  }
}

// The same to float outputs (QFloatEpilogue; the bias is in c already).
inline void epilogue(const int32_t* c, int m, int32_t c0, int32_t out_c, const QFloatArgs& e, float* y) {
  for (int32_t h = 0; h < 2 && c0 + h * kQPanel < out_c; ++h) {
    const int32_t ch0 = c0 + h * kQPanel, ch = std::min(kQPanel, out_c - ch0);
    const __m512 scale = _mm512_loadu_ps(e.scale + ch0), fbias = _mm512_loadu_ps(e.fbias + ch0);
    const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
    const __mmask16 keep = static_cast<__mmask16>((1u << ch) - 1u);
    float* yp = y + ch0;
    const int32_t* cp = c + h * kQPanel;
    for (int r = 0; r < m; ++r) {
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(cp + r * 2 * kQPanel)), scale);
      DLCODER_RT_UNFUSED(v);
      // std::max(v, lo), std::min(v, hi), as the other kernels (simd_qlinear.h: Out512F)
      v = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(v, fbias)));
      _mm512_mask_storeu_ps(yp + r * out_c, keep, v);
    }
  }
}

// The GEMM of rows x out_c outputs (row stride out_c) over rows of A that `rows_at(r0, m,
// buf, &lda)` provides, kQAmxRows at a time: a pointer to row r0 and its row stride,
// either in the input itself or in `buf` (amx_buffer(kp, rows) bytes) that it fills. Task t
// computes row blocks (or, with fewer row blocks than tasks, panel pairs) of its range,
// each output with the same instructions whatever the split. The epilogue of one block of
// tiles runs after the next block's tile instructions are issued, so that the tile unit
// works while the vector units requantize. kSigned: the activations are int8 (tdpbssd).
// `args`: the epilogue, QRequantArgs or QFloatArgs (simd_qlinear.h).
template <bool kSigned, typename Args, typename Y, typename RowsAt>
inline void gemm(const Parallel& par, int64_t rows, int32_t k, int32_t out_c, const int8_t* w, const Args& args,
                 Y* y, uint8_t* scratch, const RowsAt& rows_at) {
  const int32_t* bias = kSigned ? args.bias_s : args.bias_u;
  const int32_t kp = qgemm_kp(k), bk = amx_block(kp);
  const int64_t blocks = (rows + kQAmxRows - 1) / kQAmxRows;
  const int32_t pairs = (out_c + 2 * kQPanel - 1) / (2 * kQPanel);
  const bool by_rows = blocks >= par.threads;
  // the tiles' multiply-adds cost little next to the epilogue: weigh outputs, not MACs
  const int64_t work = rows * out_c * (16 + k / 16);
  parallel_ranges(par, by_rows ? blocks : pairs, work, [&](int32_t t, int64_t lo_u, int64_t hi_u) {
    uint8_t* buf = par.scratch(scratch, t);
    std::memset(buf, 0, size_t(amx_buffer(kp, rows)));
    const int64_t b0 = by_rows ? lo_u : 0, b1 = by_rows ? hi_u : blocks;
    const int32_t p0 = by_rows ? 0 : static_cast<int32_t>(lo_u);
    const int32_t p1 = by_rows ? pairs : static_cast<int32_t>(hi_u);
    configure(bk);
    alignas(64) int32_t c[2][kQAmxRows * 2 * kQPanel];
    int cur = 0, pending_m = 0;  // the block whose epilogue waits: c[cur ^ 1], m rows
    int64_t pending_r0 = 0;
    int32_t pending_c0 = 0;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kQAmxRows;
      const int m = static_cast<int>(std::min<int64_t>(kQAmxRows, rows - r0));
      int64_t lda;
      const void* a = rows_at(r0, m, buf, &lda);
      for (int32_t pp = p0; pp < p1; ++pp) {
        const int32_t c0 = pp * 2 * kQPanel;
        const int32_t* bc = bias + c0;
        const int8_t* wp = w + int64_t{c0} * kp;
        const bool two = out_c - c0 > kQPanel;
        if (m > 16) {
          if (two) {
            tiles<kSigned, 2, 2>(a, lda, kp, bk, wp, bc, c[cur]);
          } else {
            tiles<kSigned, 2, 1>(a, lda, kp, bk, wp, bc, c[cur]);
          }
        } else if (two) {
          tiles<kSigned, 1, 2>(a, lda, kp, bk, wp, bc, c[cur]);
        } else {
          tiles<kSigned, 1, 1>(a, lda, kp, bk, wp, bc, c[cur]);
        }
        cur ^= 1;
        if (pending_m > 0)
          epilogue(c[cur], pending_m, pending_c0, out_c, args, y + pending_r0 * out_c);
        pending_m = m;
        pending_r0 = r0;
        pending_c0 = c0;
      }
    }
    if (pending_m > 0)
      epilogue(c[cur ^ 1], pending_m, pending_c0, out_c, args, y + pending_r0 * out_c);
    _tile_release();
  });
}

// A vector of kBytes bytes (16, 32 or 64): a broadcast, a masked load over a fill (masked-off
// bytes are not read), a masked store; masks of the low kBytes bits of a uint64_t.
template <int kBytes>
struct ByteVec;
template <>
struct ByteVec<16> {
  using T = __m128i;
  static T set1(uint8_t b) { return _mm_set1_epi8(static_cast<char>(b)); }
  static T load(T fill, uint64_t m, const void* p) { return _mm_mask_loadu_epi8(fill, static_cast<__mmask16>(m), p); }
  static void store(void* p, uint64_t m, T v) { _mm_mask_storeu_epi8(p, static_cast<__mmask16>(m), v); }
};
template <>
struct ByteVec<32> {
  using T = __m256i;
  static T set1(uint8_t b) { return _mm256_set1_epi8(static_cast<char>(b)); }
  static T load(T fill, uint64_t m, const void* p) {
    return _mm256_mask_loadu_epi8(fill, static_cast<__mmask32>(m), p);
  }
  static void store(void* p, uint64_t m, T v) { _mm256_mask_storeu_epi8(p, static_cast<__mmask32>(m), v); }
};
template <>
struct ByteVec<64> {
  using T = __m512i;
  static T set1(uint8_t b) { return _mm512_set1_epi8(static_cast<char>(b)); }
  static T load(T fill, uint64_t m, const void* p) { return _mm512_mask_loadu_epi8(fill, m, p); }
  static void store(void* p, uint64_t m, T v) { _mm512_mask_storeu_epi8(p, m, v); }
};

// The im2col rows of a convolution: row r is output pixel r's k_h * k_w * in_c taps, the
// input's bytes where they lie inside it and in_zp where they do not. rows() reads the
// geometry into locals once per block of rows: it stores through uint8_t, which may alias
// anything, so fields (of this struct or of QConvParams) would be reloaded after every
// store.
template <typename Q>
struct Im2col {
  const Q* x;
  const Q* end;  // the input's end: wide copies read up to it, never past
  int32_t in_h, in_w, in_c, out_h, out_w, k_h, k_w, s_h, s_w, d_h, d_w, pad_t, pad_l, run, kp;
  int64_t image, line;  // elements of one input image, of one input row
  uint8_t pad;
  Im2col(const QConvParams& p, const Q* x_, int32_t kp_)
      : x(x_), end(x_ + int64_t{p.batch} * p.in_h * p.in_w * p.in_c), in_h(p.in_h), in_w(p.in_w), in_c(p.in_c),
        out_h(p.out_h), out_w(p.out_w), k_h(p.k_h), k_w(p.k_w), s_h(p.stride_h), s_w(p.stride_w), d_h(p.dil_h),
        d_w(p.dil_w), pad_t(p.pad_top), pad_l(p.pad_left), run(p.k_w * p.in_c), kp(kp_),
        image(int64_t{p.in_h} * p.in_w * p.in_c), line(int64_t{p.in_w} * p.in_c),
        pad(static_cast<uint8_t>(p.in_zp)) {}

  // One tap row (ky) of the pixel whose window starts at column x0, any column range.
  void edge_run(uint8_t* dst, const Q* row, int32_t x0) const {
    for (int32_t kx = 0; kx < k_w; ++kx) {
      const int32_t ix = x0 + kx * d_w;
      if (ix < 0 || ix >= in_w) {
        fill_row(dst + kx * in_c, pad, in_c);
      } else {
        copy_row(dst + kx * in_c, row + int64_t{ix} * in_c, in_c, end);
      }
    }
  }

  // The taps of one pixel, any geometry.
  void pixel(uint8_t* dst, const Q* xb, int32_t y0, int32_t x0) const {
    const bool inside = d_w == 1 && x0 >= 0 && x0 + k_w <= in_w;
    for (int32_t ky = 0; ky < k_h; ++ky, dst += run) {
      const int32_t iy = y0 + ky * d_h;
      if (iy < 0 || iy >= in_h) {
        fill_row(dst, pad, run);
      } else if (inside) {
        copy_row(dst, xb + iy * line + int64_t{x0} * in_c, run, end);
      } else {
        edge_run(dst, xb + iy * line, x0);
      }
    }
  }

  // Rows [r0, r0 + m) into buf (row stride kp). kBytes > 0 (d_w == 1, run <= kBytes, one of
  // 16, 32, 64): one masked load and one masked store per tap row, the load taking the
  // bytes of the columns inside the input over a vector of in_zp (masked-off bytes are
  // neither read nor fault), so that padding costs what the inside does; kBytes == 0:
  // pixel() tap by tap.
  template <int kBytes>
  void rows(int64_t r0, int m, uint8_t* buf) const {
    using V = ByteVec<kBytes == 0 ? 64 : kBytes>;
    // the geometry in a local copy, kept in registers: the byte stores below could alias
    // the members, which would then be read back after every store
    const Im2col g = *this;
    int64_t t = r0 / g.out_w;
    int32_t ox = static_cast<int32_t>(r0 % g.out_w), oy = static_cast<int32_t>(t % g.out_h);
    const Q* xb = x + (t / g.out_h) * g.image;
    const typename V::T padv = V::set1(pad);
    const uint64_t all = low_bits(g.run);
    for (int i = 0; i < m; ++i) {
      uint8_t* dst = buf + int64_t{i} * g.kp;
      const int32_t y0 = oy * g.s_h - g.pad_t, x0 = ox * g.s_w - g.pad_l;
      if constexpr (kBytes > 0) {
        const int32_t lo = std::max(0, -x0), hi = std::min(g.k_w, g.in_w - x0);  // the columns inside
        const uint64_t inside = hi > lo ? low_bits(hi * g.in_c) & ~low_bits(lo * g.in_c) : 0;
        // the tap rows inside: [ky0, ky1)
        const int32_t ky0 = std::min(g.k_h, y0 >= 0 ? 0 : (-y0 + g.d_h - 1) / g.d_h);
        const int32_t ky1 = std::max(ky0, std::min(g.k_h, g.in_h - y0 <= 0 ? 0 : (g.in_h - y0 + g.d_h - 1) / g.d_h));
        const Q* src = xb + (y0 + int64_t{ky0} * g.d_h) * g.line + int64_t{x0} * g.in_c;
        int32_t ky = 0;
        for (; ky < ky0; ++ky, dst += g.run) V::store(dst, all, padv);
        for (; ky < ky1; ++ky, dst += g.run, src += g.d_h * g.line) V::store(dst, all, V::load(padv, inside, src));
        for (; ky < g.k_h; ++ky, dst += g.run) V::store(dst, all, padv);
      } else {
        pixel(dst, xb, y0, x0);
      }
      if (++ox == g.out_w) {
        ox = 0;
        if (++oy == g.out_h) {
          oy = 0;
          xb += g.image;
        }
      }
    }
  }

  // The mask of bytes [0, n), n <= 64.
  static uint64_t low_bits(int32_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }
};

template <typename Q, typename Args, typename Y>
inline void conv2d(const Parallel& par, const QConvParams& p, const Q* x, const int8_t* w, const Args& args, Y* y,
                   void* scratch) {
  const int32_t k = p.k_h * p.k_w * p.in_c, kp = qgemm_kp(k);
  const int64_t rows = int64_t{p.batch} * p.out_h * p.out_w;
  const bool direct = p.k_h == 1 && p.k_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                      p.pad_left == 0 && p.in_h == p.out_h && p.in_w == p.out_w && k == kp;
  const Im2col<Q> im(p, x, kp);
  gemm<std::is_signed<Q>::value>(
      par, rows, k, p.out_c, w, args, y, static_cast<uint8_t*>(scratch),
      [&](int64_t r0, int m, uint8_t* buf, int64_t* lda) -> const void* {
         // in place unless a full block of tiles would read past the input's end
         if (direct && r0 + kQAmxRows <= rows) {
           *lda = k;
           return x + r0 * k;
         }
         *lda = kp;
         if (p.dil_w != 1 || im.run > 64) {
           im.template rows<0>(r0, m, buf);
         } else if (im.run <= 16) {
           im.template rows<16>(r0, m, buf);
         } else if (im.run <= 32) {
           im.template rows<32>(r0, m, buf);
         } else {
           im.template rows<64>(r0, m, buf);
         }
         return buf;
       });
}

template <typename Q, typename Args, typename Y>
inline void fully_connected(const Parallel& par, const QFullyConnectedParams& p, const Q* x, const int8_t* w,
                            const Args& args, Y* y, void* scratch) {
  const int32_t kp = qgemm_kp(p.k);
  const Q* end = x + int64_t{p.rows} * p.k;
  gemm<std::is_signed<Q>::value>(par, int64_t{p.rows}, p.k, p.out_c, w, args, y, static_cast<uint8_t*>(scratch),
                                 [&](int64_t r0, int m, uint8_t* buf, int64_t* lda) -> const void* {
         if (p.k == kp && r0 + kQAmxRows <= p.rows) {
           *lda = p.k;
           return x + r0 * p.k;
         }
         *lda = kp;
         for (int i = 0; i < m; ++i) copy_row(buf + int64_t{i} * kp, x + (r0 + i) * p.k, p.k, end);
         return buf;
       });
}

DLCODER_RT_TARGET_END

}  // namespace qamx
}  // namespace dlcoder_rt
#endif  // DLCODER_RT_AMX
