// y[i] = table[x[i]] with SIMD: the elementwise ops of one 8-bit input (requantize.h's
// lookup_u8 is the scalar form and the portable path; the results are the same bytes).
//
//   AVX-512 VBMI: the table is four 64-byte vectors; vpermi2b looks the low 7 bits of 64
//                 indices up in a pair of them, bit 7 picks the pair (a mask blend).
//   AVX2:         vpshufb looks up 16-entry rows, zero where the index has bit 7 set. Step
//                 k = 0..15 looks up row L_k with the index x - 16k (wrapping for k <= 8,
//                 saturating at -128 after that, so an index once negative stays so) and
//                 xors the results. Step k then contributes exactly for the high nibbles
//                 h with h - 7 <= k <= h; lut_rows_avx2 chooses the L_k whose xor over
//                 those k is row h of the table.
//   NEON:         vqtbl4q looks up 64-byte quarters (zero out of range), or-ed together.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {
namespace lut {

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512vbmi")
inline void lookup_vbmi(int64_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const auto look = [&](__m512i v) {
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1), high = _mm512_permutex2var_epi8(t2, v, t3);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high);
  };
  int64_t i = 0;
  for (; i + 256 <= n; i += 256) {   // four vectors in flight: the lookups' latency overlaps
    const __m512i v0 = _mm512_loadu_si512(x + i), v1 = _mm512_loadu_si512(x + i + 64);
    const __m512i v2 = _mm512_loadu_si512(x + i + 128), v3 = _mm512_loadu_si512(x + i + 192);
    _mm512_storeu_si512(y + i, look(v0));
    _mm512_storeu_si512(y + i + 64, look(v1));
    _mm512_storeu_si512(y + i + 128, look(v2));
    _mm512_storeu_si512(y + i + 192, look(v3));
  }
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(y + i, look(_mm512_loadu_si512(x + i)));
  if (i < n) {
    const __mmask64 m = ~uint64_t{0} >> (64 - (n - i));
    _mm512_mask_storeu_epi8(y + i, m, look(_mm512_maskz_loadu_epi8(m, x + i)));
  }
}
DLCODER_RT_TARGET_END

// The rows L_0..L_15 of the AVX2 lookup (see the top of the file) of a 256-byte table.
inline void lut_rows_avx2(const uint8_t* table, uint8_t* rows) {
  for (int h = 0; h < 16; ++h) {
    uint8_t* l = rows + 16 * h;
    for (int c = 0; c < 16; ++c) l[c] = table[16 * h + c];
    for (int k = h < 8 ? 0 : h - 7; k < h; ++k)
      for (int c = 0; c < 16; ++c) l[c] ^= rows[16 * k + c];
  }
}

DLCODER_RT_TARGET_BEGIN("avx2")
inline void lookup_avx2(int64_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  alignas(32) uint8_t rows[256];
  lut_rows_avx2(table, rows);
  __m256i l[16];
  for (int k = 0; k < 16; ++k)
    l[k] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(rows + 16 * k)));
  const __m256i step = _mm256_set1_epi8(16);
  const auto look = [&](__m256i v) {
    __m256i r = _mm256_shuffle_epi8(l[0], v);
    for (int k = 1; k <= 8; ++k) {
      v = _mm256_sub_epi8(v, step);
      r = _mm256_xor_si256(r, _mm256_shuffle_epi8(l[k], v));
    }
    for (int k = 9; k < 16; ++k) {
      v = _mm256_subs_epi8(v, step);
      r = _mm256_xor_si256(r, _mm256_shuffle_epi8(l[k], v));
    }
    return r;
  };
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), look(v));
  }
  if (i < n) {
    alignas(32) uint8_t tail[32] = {};
    std::memcpy(tail, x + i, static_cast<size_t>(n - i));
    _mm256_store_si256(reinterpret_cast<__m256i*>(tail), look(_mm256_load_si256(reinterpret_cast<const __m256i*>(tail))));
    std::memcpy(y + i, tail, static_cast<size_t>(n - i));
  }
}
DLCODER_RT_TARGET_END
#endif  // DLCODER_RT_X86

#if defined(DLCODER_RT_NEON)
inline void lookup_neon(int64_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  uint8x16x4_t q[4];
  for (int k = 0; k < 4; ++k) q[k] = vld1q_u8_x4(table + 64 * k);
  const auto look = [&](uint8x16_t v) {
    uint8x16_t r = vqtbl4q_u8(q[0], v);
    for (int k = 1; k < 4; ++k) r = vorrq_u8(r, vqtbl4q_u8(q[k], vsubq_u8(v, vdupq_n_u8(static_cast<uint8_t>(64 * k)))));
    return r;
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_u8(y + i, look(vld1q_u8(x + i)));
  if (i < n) {
    uint8_t tail[16] = {};
    std::memcpy(tail, x + i, static_cast<size_t>(n - i));
    vst1q_u8(tail, look(vld1q_u8(tail)));
    std::memcpy(y + i, tail, static_cast<size_t>(n - i));
  }
}
#endif  // DLCODER_RT_NEON

enum class Path : int { kScalar, kVbmi, kAvx2, kNeon };

inline Path path() {
  switch (runtime_isa()) {
    case Isa::kAvx512:
      return runtime_avx512bw() && runtime_avx512vbmi() ? Path::kVbmi : Path::kAvx2;
    case Isa::kAvx2: return Path::kAvx2;
    case Isa::kNeon: return Path::kNeon;
    default: return Path::kScalar;
  }
}

inline void lookup(Path path, int64_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  switch (path) {
#if defined(DLCODER_RT_X86)
    case Path::kVbmi: return lookup_vbmi(n, x, y, table);
    case Path::kAvx2: return lookup_avx2(n, x, y, table);
#endif
#if defined(DLCODER_RT_NEON)
    case Path::kNeon: return lookup_neon(n, x, y, table);
#endif
    default: return lookup_u8(n, x, y, table);
  }
}

// A run of `inner` elements sharing a table is worth a vector lookup from this length on.
constexpr int64_t kMinVectorRun = 64;

}  // namespace lut

// lookup_u8 (requantize.h), vectorised.
template <typename Q>
inline void lookup_u8_simd(int64_t n, const Q* x, Q* y, const Q* table) {
  static_assert(sizeof(Q) == 1, "a 256-entry table maps bytes");
  lut::lookup(lut::path(), n, reinterpret_cast<const uint8_t*>(x), reinterpret_cast<uint8_t*>(y),
              reinterpret_cast<const uint8_t*>(table));
}

// lookup_u8_channels (requantize.h), vectorised along runs of `inner` elements that share
// a channel's table; shorter runs take the scalar loop.
template <typename Q>
inline void lookup_u8_channels_simd(int64_t n, int64_t inner, int64_t channels, const Q* x, Q* y,
                                    const Q* tables) {
  static_assert(sizeof(Q) == 1, "a 256-entry table maps bytes");
  if (inner < lut::kMinVectorRun) return lookup_u8_channels(n, inner, channels, x, y, tables);
  const lut::Path path = lut::path();
  const auto* bx = reinterpret_cast<const uint8_t*>(x);
  auto* by = reinterpret_cast<uint8_t*>(y);
  const auto* bt = reinterpret_cast<const uint8_t*>(tables);
  for (int64_t i = 0, run = 0; i < n; i += inner, ++run)
    lut::lookup(path, std::min(inner, n - i), bx + i, by + i, bt + run % channels * 256);
}

}  // namespace dlcoder_rt
