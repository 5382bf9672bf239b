// Ops along one axis: reductions (MEAN, SUM, REDUCE_*), ARG_MAX/ARG_MIN, SOFTMAX,
// LOG_SOFTMAX, CUMSUM and TOPK_V2. For a reduction the generator collapses the input into a
// Loop6 whose a_strides walk the input densely and whose b_strides map each input element
// to its output element (0 on reduced dims).
#pragma once

#include <type_traits>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {

struct ReduceParams {
  Loop6 loop;          // over the input; a = input offset, b = output offset
  int64_t out_size;
  int64_t count;       // input elements per output element (MEAN divides by it)
};

struct SumReducer {
  template <typename T> static T init() { return T(0); }
  template <typename T> T operator()(T acc, T x) const { return acc + x; }
};
struct ProdReducer {
  template <typename T> static T init() { return T(1); }
  template <typename T> T operator()(T acc, T x) const { return acc * x; }
};
// x unless acc is strictly greater (smaller), as TFLite reduces: a NaN x replaces acc and
// the next number replaces a NaN acc, so a NaN comes out only if it is the last element
// visited (in row-major input order, here as there).
struct MaxReducer {
  template <typename T> static T init() { return std::numeric_limits<T>::lowest(); }
  template <typename T> T operator()(T acc, T x) const { return acc > x ? acc : x; }
};
struct MinReducer {
  template <typename T> static T init() { return std::numeric_limits<T>::max(); }
  template <typename T> T operator()(T acc, T x) const { return acc < x ? acc : x; }
};
struct AnyReducer {
  template <typename T> static T init() { return false; }
  bool operator()(bool acc, bool x) const { return acc || x; }
};
struct AllReducer {
  template <typename T> static T init() { return true; }
  bool operator()(bool acc, bool x) const { return acc && x; }
};

// f(a, b) at every point of dims 0-3 of `loop` (input and output offsets): the float sums
// below hand dims 4 and 5 to one kernel call.
template <typename F>
inline void for_each_plane(const Loop6& l, F f) {
  for (int32_t i0 = 0; i0 < l.dims[0]; ++i0)
    for (int32_t i1 = 0; i1 < l.dims[1]; ++i1)
      for (int32_t i2 = 0; i2 < l.dims[2]; ++i2)
        for (int32_t i3 = 0; i3 < l.dims[3]; ++i3)
          f(int64_t{i0} * l.a_strides[0] + int64_t{i1} * l.a_strides[1] + int64_t{i2} * l.a_strides[2] +
                int64_t{i3} * l.a_strides[3],
            int64_t{i0} * l.b_strides[0] + int64_t{i1} * l.b_strides[1] + int64_t{i2} * l.b_strides[2] +
                int64_t{i3} * l.b_strides[3]);
}

template <typename T, typename R>
inline void reduce(const ReduceParams& p, const T* in, T* out, R r) {
  for (int64_t i = 0; i < p.out_size; ++i) out[i] = R::template init<T>();
  const int32_t n = p.loop.dims[5];
  const int32_t sa = p.loop.a_strides[5], sb = p.loop.b_strides[5];
  const Loop6& l = p.loop;
  constexpr bool kFloatSum = std::is_same<T, float>::value && std::is_same<R, SumReducer>::value;
  if (kFloatSum && sa == 1 && sb == 0) {
    // dense runs each summed into one output, e.g. MEAN over channels: the runs of dim 4
    // in one call (same order as the loop below)
    for_each_plane(l, [&](int64_t a, int64_t b) {
      sum_each_row_f32(l.dims[4], n, reinterpret_cast<const float*>(in + a), l.a_strides[4],
                       reinterpret_cast<float*>(out + b), l.b_strides[4]);
    });
    return;
  }
  if (kFloatSum && sa == 1 && sb == 1 && l.b_strides[4] == 0) {
    // dense runs summed into one dense run of outputs, e.g. MEAN over H and W: the runs
    // of dim 4 are added in registers (same order as the loop below)
    for_each_plane(l, [&](int64_t a, int64_t b) {
      sum_rows_f32(l.dims[4], n, reinterpret_cast<const float*>(in + a), l.a_strides[4],
                   reinterpret_cast<float*>(out + b));
    });
    return;
  }
  for_each_run(p.loop, [&](int64_t ia, int64_t ib, int64_t) {
    const T* x = in + ia;
    T* o = out + ib;
    if (kFloatSum && sa == 1 && sb == 1) {
      // a dense run into a dense run of outputs (e.g. MEAN over H and W): vectorised
      accumulate_f32(n, reinterpret_cast<const float*>(x), reinterpret_cast<float*>(o));
    } else if (sb == 0) {
      T acc = *o;
      for (int32_t i = 0; i < n; ++i) acc = r(acc, x[i * sa]);
      *o = acc;
    } else {
      for (int32_t i = 0; i < n; ++i) o[i * sb] = r(o[i * sb], x[i * sa]);
    }
  });
}

template <typename T>
inline void mean(const ReduceParams& p, const T* in, T* out) {
  reduce(p, in, out, SumReducer{});
  if (std::is_same<T, float>::value) {
    divide_by_f32(p.out_size, reinterpret_cast<float*>(out), static_cast<float>(p.count));
  } else {
    for (int64_t i = 0; i < p.out_size; ++i) out[i] = out[i] / static_cast<T>(p.count);
  }
}

// ARG_MAX / ARG_MIN along one axis of an [outer][axis][inner] view; ties keep the first,
// and NaN is skipped (index 0 if all are NaN), as TFLite's kernel does. (Its vectorised
// kernel for the last axis differs where one of a row's first four elements is NaN:
// tests/test_edge_values.py.)
struct ArgParams {
  int64_t outer, axis, inner;
};

template <typename T, typename I, bool kMax>
inline void arg_reduce(const ArgParams& p, const T* in, I* out) {
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < p.inner; ++i) {
      const T* x = in + o * p.axis * p.inner + i;
      T best = x[0];
      I best_index = 0;
      for (int64_t a = 1; a < p.axis; ++a) {
        const T v = x[a * p.inner];
        if ((kMax ? (v > best) : (v < best)) || (best != best && v == v)) {
          best = v;
          best_index = static_cast<I>(a);
        }
      }
      out[o * p.inner + i] = best_index;
    }
  }
}

// SOFTMAX over the last dim: exp(beta * (x - max)) / sum.
struct SoftmaxParams {
  int64_t rows;
  int32_t depth;
  float beta;
};

inline void softmax_f32(const SoftmaxParams& p, const float* in, float* out) {
  softmax_f32_simd(p.rows, p.depth, p.beta, in, out);
}

inline void log_softmax_f32(const SoftmaxParams& p, const float* in, float* out) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* x = in + r * p.depth;
    float* o = out + r * p.depth;
    float mx = x[0];
    for (int32_t i = 1; i < p.depth; ++i) mx = std::max(mx, x[i]);
    float sum = 0.0f;
    for (int32_t i = 0; i < p.depth; ++i) sum += std::exp(x[i] - mx);
    const float log_sum = std::log(sum);
    for (int32_t i = 0; i < p.depth; ++i) o[i] = x[i] - mx - log_sum;
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
