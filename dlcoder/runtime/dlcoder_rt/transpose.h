// TRANSPOSE where the innermost dimension moves (the generator sends the other perms, whose
// innermost input run stays whole, to copy_loop / copy_runs in movement.h).
//
// The generator collapses the perm first (size-1 dims dropped, neighbours that stay
// neighbours merged), so the output walk has one dim read with input stride 1 (the input's
// innermost) and, as its last dim, one read with a larger stride. Those two form a matrix
// transpose, repeated for every point of the remaining (outer) dims:
//   dst[c * ldb + r] = src[r * lda + c],  r < rows (the output's innermost), c < cols.
// The matrix goes in column blocks swept down its rows (matrix() below), in tiles of
// kRows x kCols:
// - 4 bytes (float32, int32) on x86: AVX-512 16x16 (unpacks, then 128-bit lane shuffles;
//   strips of up to 8 columns in the AVX2 halves), else AVX2 8x8 as two 8x4 halves (rows r
//   and r + 4 in the two 128-bit lanes, then an in-lane 4x4: 4 unpacks, 2 shuffles and 4
//   blends per 32 elements), else SSE2 4x4 (_MM_TRANSPOSE4_PS); on aarch64, NEON 4x4
//   (vtrn, then halves combined).
// - 1 byte on x86: AVX-512 VBMI 16x16 (vpermt2b) and 64x16 (four of those, whole 64-byte
//   destination rows) in bands of 64 rows, else AVX2 16x32 (two 16x16 of in-lane
//   unpacks), else SSE2 8x8; 2 bytes: SSE2 8x8 of unpacks.
// - 8 bytes, and every size on other ISAs (or DLCODER_RT_FORCE_ISA=0): a scalar tile.
// A last strip narrower than kCols still loads its columns rounded up to the tile's read
// grain, where those reads stay inside the matrix, and stores only its own rows: a
// 3-channel image (NHWC -> NCHW) is tiled too.
#pragma once

#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/movement.h"

#include <type_traits>

namespace dlcoder_rt {

// outer: the outer dims (dims[5] == 1) with their input (a) and output (b) strides.
struct TransposeParams {
  Loop6 outer;
  int32_t rows, cols;
  int32_t lda, ldb;
};

namespace transpose_detail {

// dst[c * ldb + r] = src[r * lda + c] over an nr x nc block, in destination order.
template <typename T>
inline void block_scalar(int32_t nr, int32_t nc, const T* src, int64_t lda, T* dst, int64_t ldb) {
  for (int32_t c = 0; c < nc; ++c)
    for (int32_t r = 0; r < nr; ++r) dst[c * ldb + r] = src[r * lda + c];
}

// A tile kind K moves kRows x kCols tiles; strip(nr, nc, ...) moves nr (a multiple of
// kRows) rows of nc <= kCols columns, writing nc destination rows and reading nc rounded up
// to kReadGrain columns (0: exactly nc). The strip loop is compiled for K's instruction set
// (in K itself, or in TileStrips below for the baseline ISAs), so that the tiles inline into it.
template <typename T>
struct ScalarTile {
  static constexpr int32_t kRows = 8, kCols = 8, kReadGrain = 0;
  static void strip(int32_t nr, int32_t nc, const T* src, int64_t lda, T* dst, int64_t ldb) {
    block_scalar(nr, nc, src, lda, dst, ldb);
  }
  static void block(int32_t nr, int32_t nc, const T* src, int64_t lda, T* dst, int64_t ldb) {
    block_scalar(nr, nc, src, lda, dst, ldb);
  }
};

// strip and block of a tile kind that moves one kRows x kCols tile of E at a time, storing
// its first nc destination rows: Tile::tile(s, lda, d, ldb, nc). Baseline code (SSE2,
// NEON): the tiles inline into these loops.
template <class Tile, typename E>
struct TileStrips {
  static void strip(int32_t nr, int32_t nc, const E* src, int64_t lda, E* dst, int64_t ldb) {
    for (int32_t r = 0; r < nr; r += Tile::kRows) Tile::tile(src + r * lda, lda, dst + r, ldb, nc);
  }
  static void block(int32_t nr, int32_t nc, const E* src, int64_t lda, E* dst, int64_t ldb) {
    for (int32_t r = 0; r < nr; r += Tile::kRows)
      for (int32_t c = 0; c < nc; c += Tile::kCols)
        Tile::tile(src + r * lda + c, lda, dst + c * ldb + r, ldb, Tile::kCols);
  }
};

#if defined(DLCODER_RT_X86)
struct Sse2Tile : TileStrips<Sse2Tile, float> {
  static constexpr int32_t kRows = 4, kCols = 4, kReadGrain = 4;
  static void tile(const float* s, int64_t lda, float* d, int64_t ldb, int32_t nc) {
    __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + lda);
    __m128 r2 = _mm_loadu_ps(s + 2 * lda), r3 = _mm_loadu_ps(s + 3 * lda);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(d, r0);
    if (nc > 1) _mm_storeu_ps(d + ldb, r1);
    if (nc > 2) _mm_storeu_ps(d + 2 * ldb, r2);
    if (nc > 3) _mm_storeu_ps(d + 3 * ldb, r3);
  }
};

DLCODER_RT_TARGET_BEGIN("avx2")
struct Avx2Tile {
  static constexpr int32_t kRows = 8, kCols = 8, kReadGrain = 4;
  static __m256 rows2(const float* p, int64_t lda) {  // row p | row p + 4
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), _mm_loadu_ps(p + 4 * lda), 1);
  }
  // 8 rows x 4 columns -> nc (<= 4) destination rows of 8: the in-lane 4x4 of rows r and
  // r + 4 at once
  static void half(const float* src, int64_t lda, float* dst, int64_t ldb, int32_t nc) {
    const __m256 a = rows2(src, lda), b = rows2(src + lda, lda);
    const __m256 c = rows2(src + 2 * lda, lda), d = rows2(src + 3 * lda, lda);
    const __m256 ab0 = _mm256_unpacklo_ps(a, b), ab1 = _mm256_unpackhi_ps(a, b);  // a0 b0 a1 b1
    const __m256 cd0 = _mm256_unpacklo_ps(c, d), cd1 = _mm256_unpackhi_ps(c, d);  // c0 d0 c1 d1
    // one shuffle (a1 b1 c0 d0) and two blends per pair of columns: blends need not use the
    // one shuffle port
    const __m256 m0 = _mm256_shuffle_ps(ab0, cd0, 0x4E), m1 = _mm256_shuffle_ps(ab1, cd1, 0x4E);
    _mm256_storeu_ps(dst, _mm256_blend_ps(ab0, m0, 0xCC));
    if (nc > 1) _mm256_storeu_ps(dst + ldb, _mm256_blend_ps(cd0, m0, 0x33));
    if (nc > 2) _mm256_storeu_ps(dst + 2 * ldb, _mm256_blend_ps(ab1, m1, 0xCC));
    if (nc > 3) _mm256_storeu_ps(dst + 3 * ldb, _mm256_blend_ps(cd1, m1, 0x33));
  }
  static void strip(int32_t nr, int32_t nc, const float* src, int64_t lda, float* dst, int64_t ldb) {
    if (nc == kCols) {
      for (int32_t r = 0; r < nr; r += kRows) {
        half(src + r * lda, lda, dst + r, ldb, 4);
        half(src + r * lda + 4, lda, dst + 4 * ldb + r, ldb, 4);
      }
      return;
    }
    for (int32_t r = 0; r < nr; r += kRows) {
      half(src + r * lda, lda, dst + r, ldb, std::min(nc, 4));
      if (nc > 4) half(src + r * lda + 4, lda, dst + 4 * ldb + r, ldb, nc - 4);
    }
  }
  static void block(int32_t nr, int32_t nc, const float* src, int64_t lda, float* dst, int64_t ldb) {
    for (int32_t r = 0; r < nr; r += kRows)
      for (int32_t c = 0; c < nc; c += kCols) {
        half(src + r * lda + c, lda, dst + c * ldb + r, ldb, 4);
        half(src + r * lda + c + 4, lda, dst + (c + 4) * ldb + r, ldb, 4);
      }
  }
};
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f")
// 4-byte elements with AVX-512: 16x16 tiles, one row per register. Two rounds of unpacks
// (pairs of rows, then pairs of pairs) leave in lane L of register 4j + m rows 4j..4j+3 of
// column 4L + m; two rounds of 128-bit lane shuffles gather the four lanes of a column: 64
// shuffles per 256 elements, and full 64-byte lines loaded and stored where the strides keep
// them aligned. kBlockBytes: the column block of matrix() is two lines wide. On Zen 4 a
// [1,64,56,56] NCHW -> NHWC took 18.7 us, the AVX2 tile 25.6 (a memcpy of its bytes 16.4).
struct Avx512Tile {
  static constexpr int32_t kRows = 16, kCols = 16, kReadGrain = 16, kBlockBytes = 128;
  static void tile(const float* s, int64_t lda, float* d, int64_t ldb, int32_t nc) {
    __m512 r[16], t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(s + i * lda);
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {  // rows 2i, 2i + 1 interleaved
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {  // rows 4j..4j+3 of one column per lane
#pragma GCC unroll 2
      for (int k = 0; k < 2; ++k) {
        const __m512d lo = _mm512_castps_pd(t[4 * j + k]), hi = _mm512_castps_pd(t[4 * j + 2 + k]);
        r[4 * j + 2 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
        r[4 * j + 2 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
      }
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; ++m) {  // lanes 0 and 2 (0x88), 1 and 3 (0xDD)
      const __m512 a0 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88), a1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xDD);
      const __m512 b0 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88), b1 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xDD);
      t[m] = _mm512_shuffle_f32x4(a0, b0, 0x88);
      t[8 + m] = _mm512_shuffle_f32x4(a0, b0, 0xDD);
      t[4 + m] = _mm512_shuffle_f32x4(a1, b1, 0x88);
      t[12 + m] = _mm512_shuffle_f32x4(a1, b1, 0xDD);
    }
    // a fixed trip count, so that t stays in registers
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) {
      if (k < nc) _mm512_storeu_ps(d + k * ldb, t[k]);
    }
  }
  // a strip of up to 8 columns (a 3-channel image's NHWC -> NCHW) in the AVX2 tile's halves,
  // which read 4 columns where this tile reads 16 (2x faster at 224x224x3)
  static void strip(int32_t nr, int32_t nc, const float* src, int64_t lda, float* dst, int64_t ldb) {
    if (nc <= 8) return Avx2Tile::strip(nr, nc, src, lda, dst, ldb);
    for (int32_t r = 0; r < nr; r += kRows) tile(src + r * lda, lda, dst + r, ldb, nc);
  }
  static void block(int32_t nr, int32_t nc, const float* src, int64_t lda, float* dst, int64_t ldb) {
    for (int32_t r = 0; r < nr; r += kRows)
      for (int32_t c = 0; c < nc; c += kCols) tile(src + r * lda + c, lda, dst + c * ldb + r, ldb, kCols);
  }
};
DLCODER_RT_TARGET_END

#include "dlcoder_rt/transpose_bytes.h"  // the 1- and 2-byte tiles
#endif

#if defined(DLCODER_RT_NEON)
struct NeonTile : TileStrips<NeonTile, float> {
  static constexpr int32_t kRows = 4, kCols = 4, kReadGrain = 4;
  static void tile(const float* s, int64_t lda, float* d, int64_t ldb, int32_t nc) {
    const float32x4x2_t ab = vtrnq_f32(vld1q_f32(s), vld1q_f32(s + lda));  // a0 b0 a2 b2 | a1 b1 a3 b3
    const float32x4x2_t cd = vtrnq_f32(vld1q_f32(s + 2 * lda), vld1q_f32(s + 3 * lda));
    vst1q_f32(d, vcombine_f32(vget_low_f32(ab.val[0]), vget_low_f32(cd.val[0])));
    if (nc > 1) vst1q_f32(d + ldb, vcombine_f32(vget_low_f32(ab.val[1]), vget_low_f32(cd.val[1])));
    if (nc > 2) vst1q_f32(d + 2 * ldb, vcombine_f32(vget_high_f32(ab.val[0]), vget_high_f32(cd.val[0])));
    if (nc > 3) vst1q_f32(d + 3 * ldb, vcombine_f32(vget_high_f32(ab.val[1]), vget_high_f32(cd.val[1])));
  }
};
#endif

// One rows x cols matrix, a column block of one 64-byte source line (kColBlock 4-byte
// elements, 64 bytes of narrower ones, whole tiles; two lines for a tile kind whose
// kBlockBytes says so) at a time swept down all the rows, as XNNPACK's transposec kernels
// sweep their strips: the block's destination rows fill sequentially, few enough streams
// for the prefetchers, and each source line is read once. K::block takes kRowBlock rows
// per call. The rows past the last whole tile go scalar, and so do the rows of a narrow
// last strip (cols % kCols) whose rounded-up reads would leave the matrix.
// A two-line block writes 32 destination rows at once: where their stride is a multiple
// of 2 KB they share two sets of a 32 KB 8-way L1 and evict each other (a 512-row matrix
// took 30% longer), so those take one line.
// A tile kind with bands() (the VBMI byte tile) takes all of the whole tiles in one call
// instead, where its banded(lda) says so: tiles of 64 rows write whole destination lines,
// so column blocks would only add calls.
constexpr int32_t kRowBlock = 64, kColBlock = 16;

template <class K, class = void>
struct BlockBytes : std::integral_constant<int32_t, 64> {};
template <class K>
struct BlockBytes<K, std::void_t<decltype(K::kBlockBytes)>> : std::integral_constant<int32_t, K::kBlockBytes> {};

template <class K, class = void>
struct HasBands : std::false_type {};
template <class K>
struct HasBands<K, std::void_t<decltype(&K::bands)>> : std::true_type {};

// the full x whole part (whole tiles) in column blocks
template <class K, typename T>
inline void column_blocks(int32_t full, int32_t whole, const T* src, int64_t lda, T* dst, int64_t ldb) {
  // a 64-byte line of T, and whole tiles
  constexpr int32_t CB1 = std::max<int32_t>(kColBlock * 4 / sizeof(T), K::kCols) / K::kCols * K::kCols;
  constexpr int32_t CB2 = std::max<int32_t>(BlockBytes<K>::value / static_cast<int32_t>(sizeof(T)), CB1) / K::kCols * K::kCols;
  const int32_t CB = ldb * static_cast<int64_t>(sizeof(T)) % 2048 == 0 ? CB1 : CB2;
  const int32_t rb = whole <= CB ? std::max(full, K::kRows) : kRowBlock;   // one column block: no row blocks
  for (int32_t c0 = 0; c0 < whole; c0 += CB) {
    const int32_t c1 = std::min(whole, c0 + CB);
    for (int32_t r0 = 0; r0 < full; r0 += rb)
      K::block(std::min(full, r0 + rb) - r0, c1 - c0, src + r0 * lda + c0, lda, dst + c0 * ldb + r0, ldb);
  }
}

template <class K, typename T>
inline void matrix(int32_t rows, int32_t cols, const T* src, int64_t lda, T* dst, int64_t ldb) {
  constexpr int32_t R = K::kRows;
  const int32_t full = rows - rows % R, whole = cols - cols % K::kCols;
  if constexpr (HasBands<K>::value) {
    if (K::banded(lda)) {
      if (whole > 0) K::bands(full, whole, src, lda, dst, ldb);   // else a narrow strip only
    } else {
      column_blocks<K>(full, whole, src, lda, dst, ldb);
    }
  } else {
    column_blocks<K>(full, whole, src, lda, dst, ldb);
  }
  if (whole < cols) {
    // the rows whose reads of the narrow strip's columns, rounded up, stay inside the matrix
    constexpr int32_t G = K::kReadGrain;
    const int64_t reach = int64_t{rows - 1} * lda + cols - whole - (G ? (cols - whole + G - 1) / G * G : 0);
    const int32_t safe = G == 0 || reach < 0 ? 0 :
        static_cast<int32_t>(std::min<int64_t>((reach / lda + 1) / R * R, full));
    K::strip(safe, cols - whole, src + whole, lda, dst + whole * ldb, ldb);
    block_scalar(full - safe, cols - whole, src + safe * lda + whole, lda, dst + whole * ldb + safe, ldb);
  }
  block_scalar(rows - full, cols, src + full * lda, lda, dst + full, ldb);
}

template <class K, typename T>
inline void all_matrices(const TransposeParams& p, const T* src, T* dst) {
  for_each_run(p.outer, [&](int64_t ia, int64_t ib, int64_t) {
    matrix<K>(p.rows, p.cols, src + ia, p.lda, dst + ib, p.ldb);
  });
}

// Elements of 4, 2 and 1 bytes of any type move as float, uint16_t and uint8_t bit
// patterns (the intrinsics' loads and stores may alias anything). The one place that picks
// a tile per instruction set.
inline void all_matrices_x32(const TransposeParams& p, const float* src, float* dst) {
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512: return all_matrices<Avx512Tile>(p, src, dst);
    case Isa::kAvx2: return all_matrices<Avx2Tile>(p, src, dst);
    case Isa::kSse2: return all_matrices<Sse2Tile>(p, src, dst);
    default: break;
  }
#elif defined(DLCODER_RT_NEON)
  if (runtime_isa() == Isa::kNeon) return all_matrices<NeonTile>(p, src, dst);
#endif
  all_matrices<ScalarTile<float>>(p, src, dst);
}

inline void all_matrices_x16(const TransposeParams& p, const uint16_t* src, uint16_t* dst) {
#if defined(DLCODER_RT_X86)
  if (runtime_isa() != Isa::kScalar) return all_matrices<Sse2HalfTile>(p, src, dst);
#endif
  all_matrices<ScalarTile<uint16_t>>(p, src, dst);
}

inline void all_matrices_x8(const TransposeParams& p, const uint8_t* src, uint8_t* dst) {
#if defined(DLCODER_RT_X86)
  if (runtime_byte_isa() == Isa::kAvx512 && runtime_avx512vbmi()) return all_matrices<VbmiByteTile>(p, src, dst);
  if (runtime_isa() == Isa::kAvx512 || runtime_isa() == Isa::kAvx2) return all_matrices<Avx2ByteTile>(p, src, dst);
  if (runtime_isa() != Isa::kScalar) return all_matrices<Sse2ByteTile>(p, src, dst);
#endif
  all_matrices<ScalarTile<uint8_t>>(p, src, dst);
}

// panels x (16 x k): panel q's rows q*16 .. q*16+15 of src (lda apart) into dst + q*16*k,
// [k][16] (the GEMM's packed B from a transposed one, matmul.h). The 16 and the
// destination stride are constants here, which the tiles' stores fold in: 1.6x faster
// than the same through all_matrices with them as data.
template <class K>
inline void panels16(int32_t panels, int32_t k, const float* src, int64_t lda, float* dst) {
  for (int32_t q = 0; q < panels; ++q) matrix<K>(16, k, src + q * 16 * lda, lda, dst + int64_t{q} * 16 * k, 16);
}

}  // namespace transpose_detail

// The 16-row panels of transpose_detail::panels16, with the tile of this instruction set.
inline void transpose_panels16_f32(int32_t panels, int32_t k, const float* src, int64_t lda, float* dst) {
  using namespace transpose_detail;
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512: return panels16<Avx512Tile>(panels, k, src, lda, dst);
    case Isa::kAvx2: return panels16<Avx2Tile>(panels, k, src, lda, dst);
    case Isa::kSse2: return panels16<Sse2Tile>(panels, k, src, lda, dst);
    default: break;
  }
#elif defined(DLCODER_RT_NEON)
  if (runtime_isa() == Isa::kNeon) return panels16<NeonTile>(panels, k, src, lda, dst);
#endif
  panels16<ScalarTile<float>>(panels, k, src, lda, dst);
}

template <typename T>
inline void transpose(const TransposeParams& p, const T* src, T* dst) {
  using namespace transpose_detail;
  if constexpr (sizeof(T) == 4) {
    all_matrices_x32(p, reinterpret_cast<const float*>(src), reinterpret_cast<float*>(dst));
  } else if constexpr (sizeof(T) == 2) {
    all_matrices_x16(p, reinterpret_cast<const uint16_t*>(src), reinterpret_cast<uint16_t*>(dst));
  } else if constexpr (sizeof(T) == 1) {
    all_matrices_x8(p, reinterpret_cast<const uint8_t*>(src), reinterpret_cast<uint8_t*>(dst));
  } else {
    all_matrices<ScalarTile<T>>(p, src, dst);
  }
}

}  // namespace dlcoder_rt
