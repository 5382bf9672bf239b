// Elementwise ops: one loop template per arity, one functor per op (as XNNPACK's
// binary-elementwise reference). Broadcasting is resolved by the generator into a Loop6.
// ADD_N: copy (movement.h) of its first input, then accumulate() per further input.
// Divisions whose divisor TFLite checks (check_divisors) return a status (status.h) first.
#pragma once

#include <type_traits>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/complex64.h"
#include "dlcoder_rt/movement.h"
#include "dlcoder_rt/prelu.h"
#include "dlcoder_rt/simd.h"
#include "dlcoder_rt/simd_qminmax.h"
#include "dlcoder_rt/status.h"

namespace dlcoder_rt {

// ---- binary ---------------------------------------------------------------------------
struct MaxOp;
struct MinOp;

template <typename T, typename U, typename Op>
inline void binary(const Loop6& loop, const T* a, const T* b, U* out, Op op) {
  // byte MAXIMUM / MINIMUM: vector code (simd_qminmax.h) where the CPU has it
  constexpr bool kBytes = (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) && std::is_same_v<T, U>;
  if constexpr (kBytes && (std::is_same_v<Op, MaxOp> || std::is_same_v<Op, MinOp>)) {
    if (qminmax::byte_minmax<std::is_same_v<Op, MaxOp>>(loop, a, b, out)) return;
  }
  const int32_t n = loop.dims[5];
  const int32_t sa = loop.a_strides[5], sb = loop.b_strides[5];
  for_each_run(loop, [&](int64_t ia, int64_t ib, int64_t io) {
    const T* pa = a + ia;
    const T* pb = b + ib;
    U* po = out + io;
    if (sa == 1 && sb == 1) {
      for (int32_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const T vb = *pb;
      for (int32_t i = 0; i < n; ++i) po[i] = op(pa[i], vb);
    } else if (sa == 0 && sb == 1) {
      const T va = *pa;
      for (int32_t i = 0; i < n; ++i) po[i] = op(va, pb[i]);
    } else {
      for (int32_t i = 0; i < n; ++i) po[i] = op(pa[i * sa], pb[i * sb]);
    }
  });
}

// TFLite's Invoke fails ("Division by 0") when any element of the divisor is 0 (-0.0
// too): FLOOR_DIV of every dtype, DIV and FLOOR_MOD of integers. It checks them all
// before computing anything, as this does before the generated binary() call.
template <typename T>
inline int check_divisors(int64_t n, const T* divisor) {
  for (int64_t i = 0; i < n; ++i)
    if (divisor[i] == T(0)) return kStatusDivisionByZero;
  return kStatusOk;
}

// A binary op followed by a fused activation.
template <typename T, typename Op>
struct Clamped {
  Op op;
  Clamp<T> c;
  T operator()(T a, T b) const { return clamp(op(a, b), c); }
};

// Integer ADD, SUB and MUL wrap around on overflow, as TFLite's kernels do on every target
// we build for, but without the undefined behaviour of signed overflow: the arithmetic is
// done in an unsigned type at least as wide as int (a uint16_t product would be promoted
// to int and could overflow there), and converted back.
template <typename T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

struct AddOp {
  float operator()(float a, float b) const { return a + b; }
  template <typename T> T operator()(T a, T b) const {
    return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
  }
};
struct SubOp {
  float operator()(float a, float b) const { return a - b; }
  template <typename T> T operator()(T a, T b) const {
    return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
  }
};
struct MulOp {
  float operator()(float a, float b) const { return a * b; }
  // complex64, as std::complex<float> multiplies finite values (TFLite's MUL)
  Complex64 operator()(Complex64 a, Complex64 b) const {
    return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
  }
  template <typename T> T operator()(T a, T b) const {
    return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
  }
};
// The integer division functors are total, so that no input can trap (SIGFPE): a divisor
// of 0 is refused by check_divisors first, and lowest / -1, which overflows, gives what
// TFLite's kernels give on x86: DIV (int32) saturates to max, FLOOR_DIV (computed in
// double there) wraps to lowest, FLOOR_MOD is 0 (TFLite traps).
struct DivOp {
  float operator()(float a, float b) const { return a / b; }
  template <typename T> T operator()(T a, T b) const {
    using L = std::numeric_limits<T>;
    if (b == T(-1)) return a == L::lowest() ? L::max() : T(-a);
    return b == T(0) ? T(0) : T(a / b);
  }
};
struct MaxOp { template <typename T> T operator()(T a, T b) const { return a > b ? a : b; } };
struct MinOp { template <typename T> T operator()(T a, T b) const { return a < b ? a : b; } };
struct SquaredDifferenceOp {
  template <typename T> T operator()(T a, T b) const { return (a - b) * (a - b); }
};
// Integer POW is TFLite's std::pow in double converted back. Where the result does not
// fit, that conversion is undefined in TFLite; x86 (where we check against the
// interpreter) gives the lowest value, so we return it, without the undefined behaviour.
struct PowOp {
  float operator()(float a, float b) const { return std::pow(a, b); }
  template <typename T> T operator()(T a, T b) const {
    const double r = std::pow(static_cast<double>(a), static_cast<double>(b));
    const bool fits = r >= static_cast<double>(std::numeric_limits<T>::lowest()) &&
                      r <= static_cast<double>(std::numeric_limits<T>::max());
    return fits ? static_cast<T>(r) : std::numeric_limits<T>::lowest();
  }
};
// TFLite floors the quotient computed in double: a float quotient can round up onto an
// integer (e.g. a just below 3 * b) and floor one too high.
struct FloorDivOp {
  float operator()(float a, float b) const {
    return static_cast<float>(std::floor(static_cast<double>(a) / static_cast<double>(b)));
  }
  template <typename T> T operator()(T a, T b) const {
    if (b == T(-1)) return static_cast<T>(WrapType<T>(0) - static_cast<WrapType<T>>(a));
    if (b == T(0)) return T(0);
    T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
};
struct FloorModOp {
  float operator()(float a, float b) const {
    float r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
  template <typename T> T operator()(T a, T b) const {
    if (b == T(-1) || b == T(0)) return T(0);
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
};
struct GreaterOp { template <typename T> bool operator()(T a, T b) const { return a > b; } };
struct GreaterEqualOp { template <typename T> bool operator()(T a, T b) const { return a >= b; } };
struct LessOp { template <typename T> bool operator()(T a, T b) const { return a < b; } };
struct LessEqualOp { template <typename T> bool operator()(T a, T b) const { return a <= b; } };
struct EqualOp { template <typename T> bool operator()(T a, T b) const { return a == b; } };
struct NotEqualOp { template <typename T> bool operator()(T a, T b) const { return a != b; } };
struct PreluOp { float operator()(float x, float alpha) const { return x >= 0.0f ? x : x * alpha; } };
struct LogicalAndOp { bool operator()(bool a, bool b) const { return a && b; } };
struct LogicalOrOp { bool operator()(bool a, bool b) const { return a || b; } };

// ---- unary ----------------------------------------------------------------------------
template <typename T, typename U, typename Op>
inline void unary(int64_t n, const T* in, U* out, Op op) {
  for (int64_t i = 0; i < n; ++i) out[i] = op(in[i]);
}

// TFLite rounds half-way cases to even (tensorflow/lite/kernels/internal/round.h).
inline float round_half_even(float x) {
  const float f = std::floor(x);
  const float d = x - f;
  if (d < 0.5f) return f;
  if (d > 0.5f) return f + 1.0f;
  return std::fmod(f, 2.0f) == 0.0f ? f : f + 1.0f;
}

struct AbsOp { template <typename T> T operator()(T x) const { return x < 0 ? T(-x) : x; } };
struct NegOp { template <typename T> T operator()(T x) const { return T(-x); } };
struct SquareOp { template <typename T> T operator()(T x) const { return x * x; } };
struct ExpOp { float operator()(float x) const { return std::exp(x); } };
struct LogOp { float operator()(float x) const { return std::log(x); } };
struct SqrtOp { float operator()(float x) const { return std::sqrt(x); } };
struct RsqrtOp { float operator()(float x) const { return 1.0f / std::sqrt(x); } };
struct SinOp { float operator()(float x) const { return std::sin(x); } };
struct CosOp { float operator()(float x) const { return std::cos(x); } };
struct FloorOp { float operator()(float x) const { return std::floor(x); } };
struct CeilOp { float operator()(float x) const { return std::ceil(x); } };
struct RoundOp { float operator()(float x) const { return round_half_even(x); } };
// NaN stays NaN (x == x is false only for NaN), as in TFLite
struct SignOp {
  template <typename T> T operator()(T x) const { return x == x ? T((T(0) < x) - (x < T(0))) : x; }
};
struct LogicalNotOp { bool operator()(bool x) const { return !x; } };

struct ReluOp { float operator()(float x) const { return std::max(x, 0.0f); } };
struct Relu6Op { float operator()(float x) const { return std::min(std::max(x, 0.0f), 6.0f); } };
struct ReluN1To1Op { float operator()(float x) const { return std::min(std::max(x, -1.0f), 1.0f); } };
struct Relu0To1Op { float operator()(float x) const { return std::min(std::max(x, 0.0f), 1.0f); } };
struct LogisticOp { float operator()(float x) const { return 1.0f / (1.0f + std::exp(-x)); } };
struct TanhOp { float operator()(float x) const { return std::tanh(x); } };
struct EluOp { float operator()(float x) const { return x < 0.0f ? std::expm1(x) : x; } };
struct HardSwishOp {
  float operator()(float x) const { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
};

// CAST: C++ conversion, != 0 for -> bool. Float -> integer truncates toward zero and
// saturates as TFLite's cast does: beyond the range (inf included) to the nearest end, NaN
// to the largest value (its tests are x <= max, x >= min, which NaN fails), never the
// undefined conversion. complex64 -> anything else casts the real part and drops the
// imaginary one (-> bool too: only the real part is tested); anything -> complex64 is
// the value as a float with imaginary part 0 (TFLite's cast.cc: std::real, and
// std::complex<float>'s constructor).
template <typename U>
struct CastOp {
  template <typename T> U operator()(T x) const {
    if constexpr (std::is_same_v<T, Complex64> && !std::is_same_v<U, Complex64>) {
      return CastOp<U>{}(x.re);
    } else if constexpr (std::is_same_v<U, Complex64> && !std::is_same_v<T, Complex64>) {
      return Complex64{static_cast<float>(x), 0.0f};
    } else if constexpr (std::is_floating_point_v<T> && std::is_integral_v<U> &&
                         !std::is_same_v<U, bool>) {
      using L = std::numeric_limits<U>;
      // clamped into [min, hi] first (NaN goes to hi), so that the conversion is defined
      // and the loop vectorises: hi is max itself where T holds it (8 and 16 bits), else
      // the T below max + 1 = 2^digits (to which max rounds), and above it (or NaN) the
      // result is max
      constexpr bool kExact = L::digits <= std::numeric_limits<T>::digits;
      constexpr T top = static_cast<T>(L::max());
      constexpr T hi = kExact ? top : top * (T(1) - std::numeric_limits<T>::epsilon() / 2);
      constexpr T lo = static_cast<T>(L::min());
      const bool below_hi = x <= hi;  // false for NaN
      T c = below_hi ? x : hi;
      c = c >= lo ? c : lo;
      if constexpr (kExact) return static_cast<U>(c);
      return below_hi ? static_cast<U>(c) : L::max();
    } else {
      return static_cast<U>(x);
    }
  }
};

// ---- ADD_N ----------------------------------------------------------------------------
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

}  // namespace dlcoder_rt
