// PAD's short padded rows as dense stores (pad.h: pad_level runs them at the level above the
// innermost one, e.g. the pixels of a channel padding [1,28,28,24] -> [1,28,28,32]).
//
// A padded row of at most kPadDenseBytes bytes is one to four 64-byte pieces of the output.
// Each piece is one masked load of the input row (its lanes that fall in the row's data;
// the others keep the pad value's pattern, the load's masked-out lanes never touched) and
// one masked store (the lanes within the row). The masks are the same for every row, taken
// once. This replaces a memcpy and one or two memsets per row, calls that cost several
// times the copy of a few dozen bytes. AVX-512 BW only; elsewhere pad.h's loop.
#pragma once

#include <cstring>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/isa.h"

namespace dlcoder_rt {
namespace pad_dense {

constexpr int64_t kPadDenseBytes = 256;

// One level of rows: `rows` rows, each `before` bytes of padding, `data` bytes read from
// src (rows src_stride bytes apart), `after` bytes of padding; the output rows back to back.
struct Rows {
  int64_t rows, before, data, after, src_stride;
};

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw")
namespace avx512 {

// The lanes [lo, hi) of a 64-byte piece, clipped to it.
inline __mmask64 lanes(int64_t lo, int64_t hi) {
  lo = lo < 0 ? 0 : lo;
  hi = hi > 64 ? 64 : hi;
  if (hi <= lo) return 0;
  const __mmask64 below_hi = hi == 64 ? ~__mmask64{0} : (__mmask64{1} << hi) - 1;
  return below_hi & ~((__mmask64{1} << lo) - 1);
}

// `pattern`: 64 bytes of the pad value repeated (its first byte at a value's first byte).
inline void rows(const Rows& r, const uint8_t* src, uint8_t* dst, const uint8_t* pattern) {
  const int64_t row = r.before + r.data + r.after, pieces = (row + 63) / 64;
  const __m512i fill = _mm512_loadu_si512(pattern);
  __mmask64 load[4], store[4];
  for (int64_t j = 0; j < pieces; ++j) {
    load[j] = lanes(r.before - 64 * j, r.before + r.data - 64 * j);
    store[j] = lanes(0, row - 64 * j);
  }
  // src - before + 64 j: the piece's lanes in the input row's coordinates (addresses outside
  // it are masked out, and masked-out lanes of a load never fault)
  const uintptr_t shift = static_cast<uintptr_t>(r.before);
  for (int64_t i = 0; i < r.rows; ++i, src += r.src_stride, dst += row) {
    const uintptr_t s = reinterpret_cast<uintptr_t>(src) - shift;
    for (int64_t j = 0; j < pieces; ++j) {
      const __m512i v = _mm512_mask_loadu_epi8(fill, load[j], reinterpret_cast<const void*>(s + 64 * j));
      _mm512_mask_storeu_epi8(dst + 64 * j, store[j], v);
    }
  }
}

}  // namespace avx512
DLCODER_RT_TARGET_END
#endif

// Whether rows() takes r on this CPU (rows of at most kPadDenseBytes).
inline bool available(const Rows& r) {
#if defined(DLCODER_RT_X86)
  return r.before + r.data + r.after <= kPadDenseBytes && runtime_byte_isa() == Isa::kAvx512;
#else
  (void)r;
  return false;
#endif
}

// The rows of r, padded with `value` (sizeof(T) bytes); only where available(r).
template <typename T>
inline void rows([[maybe_unused]] const Rows& r, [[maybe_unused]] const uint8_t* src, [[maybe_unused]] uint8_t* dst,
                 [[maybe_unused]] T value) {
#if defined(DLCODER_RT_X86)
  static_assert(64 % sizeof(T) == 0, "a pad value's bytes tile 64 bytes");
  alignas(64) uint8_t pattern[64];
  for (size_t k = 0; k < 64; k += sizeof(T)) std::memcpy(pattern + k, &value, sizeof(T));
  avx512::rows(r, src, dst, pattern);
#endif
}

}  // namespace pad_dense
}  // namespace dlcoder_rt
