// The driver of the quantized DEPTHWISE_CONV_2D kernels (simd_qdepthwise.h,
// simd_qdepthwise_avx2.h, simd_qdepthwise_vnni.h): output rows, their taps, channel
// blocks; and the choice of instruction set.
#pragma once

#include <algorithm>
#include <utility>

#include "dlcoder_rt/simd_qdepthwise_avx2.h"
#include "dlcoder_rt/simd_qdepthwise_vnni.h"

namespace dlcoder_rt {
namespace qdw {

// ---- the driver ----------------------------------------------------------------------
// A task takes its output rows in groups of up to kDwRowGroup: the taps of a group's rows
// first, then each channel block over the group's rows, so that a block's setup (K::block)
// serves several rows. Scratch of a task (pointers, then bytes): `room` pointers for the
// group's rows, each the k_h input rows of an output row, then the taps of its interior's
// first column and of each of its columns outside the interior (`slots` = k_h * k_w rounded
// up to 4 each); the taps of a staged pixel; `slots` staged taps of kDwLanes bytes; then,
// 64-byte aligned, QDwQuads::pairs (dlcoder/ops/qdepthwise.py: _dw_task_scratch). A kernel
// set multiplies K::kGroup taps at once: `units` = k_h * k_w / kGroup rounded up; the
// slots past k_h * k_w repeat the first tap (their weights are zero).
constexpr int32_t kDwRowGroup = 8;

inline int32_t dw_slots(const QDepthwiseParams& p) { return (p.k_h * p.k_w + 3) / 4 * 4; }

// The interior [ox_lo, ox_hi): the output columns whose taps all lie inside the input.
inline std::pair<int32_t, int32_t> dw_interior(const QDepthwiseParams& p) {
  const int32_t lo = std::min(p.out_w, std::max(0, (p.pad_left + p.stride_w - 1) / p.stride_w));
  const int32_t last = p.in_w - 1 - (p.k_w - 1) * p.dil_w + p.pad_left;
  return {lo, std::max(lo, std::min(p.out_w, last >= 0 ? last / p.stride_w + 1 : 0))};
}

// The pointers of one output row's taps, and the room for a group's (dw_slots each).
inline int64_t dw_row_pointers(const QDepthwiseParams& p) {
  const auto in = dw_interior(p);
  return p.k_h + int64_t{1 + p.out_w - (in.second - in.first)} * dw_slots(p);
}
inline int64_t dw_row_room(const QDepthwiseParams& p) {
  return std::max(p.k_h + int64_t{p.out_w + 1} * dw_slots(p), kDwRowGroup * dw_row_pointers(p));
}

// Taps for the pointers of one output row (channel 0; the kernels add the block's c0).
template <typename Q>
struct DwRowTaps {
  const Q* const* rows;  // [k_h]: input rows, or the zero row outside the input
  const Q** base;        // the interior's first column; the next ones are `step` further
  const Q** edge;        // [columns outside [ox_lo, ox_hi)][taps]
  const Q** staged;      // [taps]
  Q* stage;              // [taps][kDwLanes]
  int32_t ox_lo, ox_hi;  // the columns whose taps all lie inside the row
};

template <class K, int kPairs, bool kFull, bool kAway, typename B, typename Q, typename Y>
inline void row_block(const QDepthwiseParams& p, int32_t pairs, const B& k, const DwRowTaps<Q>& r, int32_t c0, int n,
                      Y* yr) {
  const int32_t taps = K::kGroup * pairs, slots = dw_slots(p), C = p.in_c;
  const int64_t step = int64_t{p.stride_w} * C;
  // fewer channels than a vector that divide it, at stride 1: K::kV / C neighbouring pixels
  // side by side are one vector of channels (the generator repeats the channels' packed
  // values across the block), their taps the bytes that follow each other in the row
  const int32_t group = !kFull && p.stride_w == 1 && K::kV % C == 0 ? K::kV / C : 1;
  int32_t mid = r.ox_lo;  // the interior [ox_lo, mid) runs whole, [mid, ox_hi) pixel by pixel
  if (r.ox_lo < r.ox_hi && group > 1) {
    const int32_t groups = (r.ox_hi - r.ox_lo) / group;
    K::template run<kPairs, true, kAway>(k, r.base, c0, K::kV, groups, yr + int64_t{r.ox_lo} * C + c0, K::kV,
                                         K::kV, pairs);
    mid += groups * group;
  } else if (r.ox_lo < r.ox_hi && K::kSplit && !kFull && 2 * C == K::kV) {
    // at other strides, two pixels side by side from two loads (K::run_split)
    if constexpr (K::kSplit) {
      const int32_t groups = (r.ox_hi - r.ox_lo) / 2;
      K::template run_split<kPairs, kAway>(k, r.base, c0, 2 * step, step, groups, yr + int64_t{r.ox_lo} * C + c0,
                                           2 * C, pairs);
      mid += groups * 2;
    }
  } else if (r.ox_lo < r.ox_hi && (kFull || K::kMasked)) {
    K::template run<kPairs, kFull, kAway>(k, r.base, c0, step, r.ox_hi - r.ox_lo, yr + int64_t{r.ox_lo} * C + c0,
                                          C, n, pairs);
    mid = r.ox_hi;
  }
  for (int32_t ox = 0; ox < p.out_w; ++ox) {
    if (ox >= r.ox_lo && ox < mid) continue;
    const Q* const* tp = r.base;
    int64_t at = c0 + (ox - r.ox_lo) * step;
    if (ox < r.ox_lo || ox >= r.ox_hi) {
      tp = r.edge + int64_t{ox < r.ox_lo ? ox : r.ox_lo + ox - r.ox_hi} * slots;
      at = c0;
    }
    if (!kFull && !K::kMasked) {  // n < K::kV channels: copies that may be read whole
      for (int32_t t = 0; t < taps; ++t) {
        std::memcpy(r.stage + t * kDwLanes, tp[t] + at, n);
        r.staged[t] = r.stage + t * kDwLanes;
      }
      tp = r.staged;
      at = 0;
    }
    K::template run<kPairs, kFull, kAway>(k, tp, at, 0, 1, yr + int64_t{ox} * C + c0, C, n, pairs);
  }
}

// The task's buffer of QDwQuads::pairs: after the staged taps, 64-byte aligned (the
// AVX-512 kernels load 64 bytes at a time).
template <typename Q>
inline int16_t* dw_pairs(Q* stage, int32_t taps) {
  const uintptr_t end = reinterpret_cast<uintptr_t>(stage + int64_t{taps} * kDwLanes);
  return reinterpret_cast<int16_t*>((end + 63) / 64 * 64);
}
template <typename Pk>
inline const Pk& with_pairs(const Pk& k, int16_t*) {
  return k;
}
inline QDwQuads with_pairs(const QDwQuads& k, int16_t* pairs) { return {k.w, k.k, pairs}; }

// Output rows [r0, r1) (over batch * out_h) with kernel set K. `zrow`: in_w * in_c bytes of
// the input zero point, read in place of rows and columns outside the input. `k`: the
// packed constants, QDwPacked or QDwQuads (y of Q) or QDwHybrid (y of float).
template <class K, int kPairs, typename Q, typename Pk, typename Y>
inline void depthwise_rows(const QDepthwiseParams& p, const Q* x, const Pk& k, Y* y, const Q* zrow, void* scratch,
                           int64_t r0, int64_t r1) {
  const int32_t pairs = (p.k_h * p.k_w + K::kGroup - 1) / K::kGroup, taps = dw_slots(p), C = p.in_c;
  const auto in = dw_interior(p);
  const int64_t per_row = dw_row_pointers(p), room = dw_row_room(p);
  const int32_t group = static_cast<int32_t>(std::min<int64_t>(kDwRowGroup, room / per_row));
  const Q** area = static_cast<const Q**>(scratch);
  const Q** staged = area + room;
  Q* stage = reinterpret_cast<Q*>(staged + taps);
  const auto kk = with_pairs(k, dw_pairs(stage, taps));
  DwRowTaps<Q> rt[kDwRowGroup];
  for (int64_t g0 = r0; g0 < r1; g0 += group) {
    const int32_t rows_in = static_cast<int32_t>(std::min<int64_t>(group, r1 - g0));
    for (int32_t i = 0; i < rows_in; ++i) {
      const Q** rows = area + i * per_row;
      DwRowTaps<Q>& r = rt[i];
      r = {rows, rows + p.k_h, rows + p.k_h + taps, staged, stage, in.first, in.second};
      const int64_t b = (g0 + i) / p.out_h;
      const int32_t oy = static_cast<int32_t>((g0 + i) % p.out_h);
      for (int32_t ky = 0; ky < p.k_h; ++ky) {
        const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
        rows[ky] = iy >= 0 && iy < p.in_h ? x + (b * p.in_h + iy) * p.in_w * C : zrow;
      }
      // the taps of every column, once for all channel blocks; the taps past k_h * k_w
      // (zero weights) repeat the first
      const auto column = [&](int32_t ox, const Q** tp) {
        const int32_t ix0 = ox * p.stride_w - p.pad_left;
        for (int32_t t = 0; t < p.k_h * p.k_w; ++t) {
          const int32_t ix = ix0 + (t % p.k_w) * p.dil_w;
          tp[t] = ix >= 0 && ix < p.in_w ? rows[t / p.k_w] + int64_t{ix} * C : zrow;
        }
        for (int32_t t = p.k_h * p.k_w; t < taps; ++t) tp[t] = tp[0];
      };
      if (r.ox_lo < r.ox_hi) column(r.ox_lo, r.base);
      int32_t e = 0;
      for (int32_t ox = 0; ox < p.out_w; ++ox)
        if (ox < r.ox_lo || ox >= r.ox_hi) column(ox, r.edge + int64_t{e++} * taps);
    }
    for (int32_t c0 = 0; c0 < C; c0 += K::kV) {
      const int n = std::min<int32_t>(K::kV, C - c0);
      const auto blk = K::block(p, kk, c0);
      const bool away = c0 + n > p.vec_channels;
      const auto go = [&](auto full, auto round_away) {
        for (int32_t i = 0; i < rows_in; ++i)
          row_block<K, kPairs, decltype(full)::value, decltype(round_away)::value>(p, pairs, blk, rt[i], c0, n,
                                                                                   y + (g0 + i) * p.out_w * C);
      };
      using T = std::true_type;
      using F = std::false_type;
      if (n == K::kV) {
        away ? go(T{}, T{}) : go(T{}, F{});
      } else {
        away ? go(F{}, T{}) : go(F{}, F{});
      }
    }
  }
}

template <class K, typename Q, typename Pk, typename Y>
inline void depthwise(const Parallel& par, const QDepthwiseParams& p, const Q* x, const Pk& k, Y* y, void* scratch) {
  // the zero row is the task-0 scratch's head, written before the tasks start (they only read it)
  Q* zrow = static_cast<Q*>(scratch);
  const int64_t zbytes = (int64_t{p.in_w} * p.in_c + 63) / 64 * 64;
  std::memset(zrow, static_cast<uint8_t>(p.in_zp), static_cast<size_t>(int64_t{p.in_w} * p.in_c));
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int64_t macs = rows * p.out_w * p.out_c * p.k_h * p.k_w;
  const int32_t taps = p.k_h * p.k_w;
  parallel_ranges(par, rows, macs, [&](int32_t t, int64_t r0, int64_t r1) {
    void* own = static_cast<uint8_t*>(par.scratch(static_cast<uint8_t*>(scratch), t)) + zbytes;
    constexpr int g = K::kGroup;
    if (taps == 9) return depthwise_rows<K, (9 + g - 1) / g>(p, x, k, y, zrow, own, r0, r1);
    if (taps == 25) return depthwise_rows<K, (25 + g - 1) / g>(p, x, k, y, zrow, own, r0, r1);
    depthwise_rows<K, 0>(p, x, k, y, zrow, own, r0, r1);
  });
}

}  // namespace qdw

// The instruction set of the depthwise kernels: AVX-512 needs BW (its byte and word
// instructions); without it AVX2 runs.
enum class QDwPath : int { kScalar, kSse2, kAvx2, kAvx512 };

inline QDwPath qdepthwise_path() {
  switch (runtime_isa()) {
    case Isa::kAvx512: return runtime_avx512bw() ? QDwPath::kAvx512 : QDwPath::kAvx2;
    case Isa::kAvx2: return QDwPath::kAvx2;
    case Isa::kSse2: return QDwPath::kSse2;
    default: return QDwPath::kScalar;
  }
}

}  // namespace dlcoder_rt
