// Kernels of dlcoder/ops/extra.py that compute or read indices at run time: ADD_N, CUMSUM,
// GATHER_ND, ONE_HOT, RANGE, TOPK_V2. (SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND and REVERSE_V2
// are planned as copy_loop boxes by the generator and need nothing here.)
#pragma once

#include <type_traits>

#include "dlcoder_rt/movement.h"

namespace dlcoder_rt {

// a + b; integers wrap (two's complement) where plain signed overflow would be undefined.
template <typename T>
inline T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

// ADD_N is emitted as a copy of the first input followed by acc += x for each further
// input, so every float sum is taken in input order, as TFLite does. TFLite also clamps
// each float sum to [lowest, max] (as ADD without activation): inf + 1 is FLT_MAX, and
// FLT_MAX + FLT_MAX - inf is -FLT_MAX; NaN passes.
template <typename T>
inline void accumulate(int64_t n, const T* x, T* acc) {
  if constexpr (std::is_floating_point_v<T>) {
    const Clamp<T> c{std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max()};
    for (int64_t i = 0; i < n; ++i) acc[i] = clamp(acc[i] + x[i], c);
  } else {
    for (int64_t i = 0; i < n; ++i) acc[i] = wrapping_add(acc[i], x[i]);
  }
}

// CUMSUM of in[outer][depth][inner] along depth. Row d of the output is row d -+ 1 of the
// output plus one input row, so the inner loop runs over contiguous memory and each
// element is summed in the same order as TFLite's sequential scan.
struct CumsumParams {
  int32_t outer;
  int32_t depth;
  int32_t inner;
  bool exclusive;
  bool reverse;
};

template <typename T>
inline void cumsum(const CumsumParams& p, const T* in, T* out) {
  const int64_t inner = p.inner;
  for (int64_t o = 0; o < p.outer; ++o) {
    const T* x = in + o * p.depth * inner;
    T* y = out + o * p.depth * inner;
    for (int64_t k = 0; k < p.depth; ++k) {
      const int64_t d = p.reverse ? p.depth - 1 - k : k;
      const int64_t prev = p.reverse ? d + 1 : d - 1;   // the row summed just before
      T* row = y + d * inner;
      if (k == 0) {
        if (p.exclusive) {
          std::fill(row, row + inner, T{0});
        } else {
          std::copy(x + d * inner, x + d * inner + inner, row);
        }
        continue;
      }
      const T* add = x + (p.exclusive ? prev : d) * inner;
      const T* last = y + prev * inner;
      for (int64_t i = 0; i < inner; ++i) row[i] = wrapping_add(last[i], add[i]);
    }
  }
}

// GATHER_ND: out[s][:] = params[idx[s][0], ..., idx[s][nd - 1]][:] for each of `slices`
// index tuples; a slice has `slice` elements. TFLite fails the invoke on an index outside
// its dimension; generated code has no error path, so such a slice is zero-filled.
struct GatherNdParams {
  int32_t slices;
  int32_t nd;
  int64_t slice;
  int64_t dims[kMaxDims];
  int64_t strides[kMaxDims];
};

template <typename T, typename I>
inline void gather_nd(const GatherNdParams& p, const T* params, const I* idx, T* out) {
  for (int64_t s = 0; s < p.slices; ++s) {
    int64_t from = 0;
    bool inside = true;
    for (int32_t j = 0; j < p.nd; ++j) {
      const int64_t k = static_cast<int64_t>(idx[s * p.nd + j]);
      inside = inside && k >= 0 && k < p.dims[j];
      from += k * p.strides[j];
    }
    T* d = out + s * p.slice;
    if (inside) {
      std::memcpy(d, params + from, sizeof(T) * p.slice);
    } else {
      std::fill(d, d + p.slice, T{});
    }
  }
}

// ONE_HOT viewed as out[outer][depth][inner] from idx[outer][inner]. TFLite compares the
// index cast to int32, so an int64 index is matched by its low 32 bits.
struct OneHotParams {
  int32_t outer;
  int32_t depth;
  int32_t inner;
};

template <typename T, typename I>
inline void one_hot(const OneHotParams& p, const I* idx, const T* on, const T* off, T* out) {
  const T v_on = *on, v_off = *off;
  for (int64_t o = 0; o < p.outer; ++o)
    for (int32_t d = 0; d < p.depth; ++d)
      for (int64_t i = 0; i < p.inner; ++i)
        *out++ = static_cast<int32_t>(idx[o * p.inner + i]) == d ? v_on : v_off;
}

// RANGE with computed start / delta: start, start + delta, ... accumulated one step at a
// time (not start + i * delta), as TFLite does, so float outputs round the same way.
template <typename T>
inline void range(int64_t n, const T* start, const T* delta, T* out) {
  T v = *start;
  const T step = *delta;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = v;
    v = wrapping_add(v, step);
  }
}

// TOPK_V2 along the last dim: the k largest of each row, largest first; of equal values the
// lower index comes first (TFLite's tie rule), and NaN ranks below every number (what
// TFLite's kernel gives too). Insertion into the k output slots: an element enters only if
// it ranks strictly above the current k-th, and moves up past lower-ranked values only, so
// earlier equal elements stay ahead.
struct TopKParams {
  int32_t rows;
  int32_t row;
  int32_t k;
};

template <typename T, typename I>
inline void topk(const TopKParams& p, const T* in, T* values, I* indices) {
  const int32_t k = p.k;
  if (k == 0) return;
  auto above = [](T a, T b) { return a > b || (b != b && a == a); };
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* x = in + r * p.row;
    T* vals = values + r * k;
    I* ids = indices + r * k;
    int32_t filled = 0;
    for (int32_t c = 0; c < p.row; ++c) {
      const T v = x[c];
      if (filled == k && !above(v, vals[k - 1])) continue;
      int32_t pos = filled < k ? filled++ : k - 1;
      for (; pos > 0 && above(v, vals[pos - 1]); --pos) {
        vals[pos] = vals[pos - 1];
        ids[pos] = ids[pos - 1];
      }
      vals[pos] = v;
      ids[pos] = static_cast<I>(c);
    }
  }
}

}  // namespace dlcoder_rt
