// int16x8 quantized kernels, as TFLite's builtin kernels compute them (measured against
// the pip build of ai-edge-litert; dlcoder/ops/qint16.py prepares their constants):
//
// - CONV_2D, DEPTHWISE_CONV_2D: int16 activations (zero point 0), int8 symmetric weights,
//   int64 bias; exact int64 accumulators, requantized by TFLite's int64
//   MultiplyByQuantizedMultiplier: the Q31 multiplier cut to 16 bits (rounded), then one
//   right shift by 15 - shift rounding half up.
// - FULLY_CONNECTED: the same accumulators, requantized in double: round(acc * scale) with
//   the double scale in * w / out, halves away from zero (TFLite's reference kernel with
//   float scales; a value beyond int32 becomes INT32_MIN, as x86 converts it).
// - LOGISTIC, TANH: TFLite's interpolated 256-entry sigmoid table (kSigmoidTableU16),
//   the input first scaled by an integer multiplier and a rounding right shift.
// - SOFTMAX: TFLite's SoftmaxInt16: 513-entry exp and 1/(1+x) tables with interpolation
//   (computed by the generator), the row's sum normalised by its leading zeros.
#pragma once

#include <cmath>

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

// x * multiplier * 2^(shift - 31) for an int64 x, as TFLite's int64 overload computes it:
// the multiplier rounded to 16 bits, then (x * m16 + 2^(14 - shift)) >> (15 - shift), the
// result cut to int32. The generator keeps 15 - shift >= 1. The product wraps as TFLite's
// int64 arithmetic does (only for accumulators beyond 2^47, outside TFLite's contract).
inline int32_t multiply_by_quantized_multiplier_i64(int64_t x, int32_t multiplier, int shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (int64_t{multiplier} + (1 << 15)) >> 16 : 0x7FFF;
  const int total = 15 - shift;
  const uint64_t v = static_cast<uint64_t>(x) * static_cast<uint64_t>(reduced) + (uint64_t{1} << (total - 1));
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(v) >> total)));
}

// (int32_t)std::round(v) as x86 converts it: INT32_MIN for a value out of range.
inline int32_t round_double_to_i32(double v) {
  const double r = std::round(v);
  return (r >= -2147483648.0 && r < 2147483648.0) ? static_cast<int32_t>(r) : INT32_MIN;
}

inline int16_t clamp_i16(int32_t v, int32_t lo, int32_t hi) {
  return static_cast<int16_t>(std::min(std::max(v, lo), hi));
}

inline int64_t dot_i16_i8(const int16_t* a, const int8_t* b, int32_t n) {
  int64_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += int32_t{a[i]} * int32_t{b[i]};
  return s;
}

struct Q16ConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t lo, hi;
};

// NHWC int16 input, weights [out_c][k_h][k_w][in_c], int64 bias [out_c]; `patch` holds
// k_h * k_w * in_c values (scratch). A tap in the padding adds 0 (the zero point is 0).
inline void conv2d_q16(const Q16ConvParams& p, const int16_t* x, const int8_t* w, const int64_t* bias,
                       const int32_t* mult, const int32_t* shift, int16_t* y, int16_t* patch) {
  const int32_t k = p.k_h * p.k_w * p.in_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int16_t* xb = x + int64_t{b} * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        int16_t* dst = patch;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          for (int32_t kx = 0; kx < p.k_w; ++kx, dst += p.in_c) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
              std::fill(dst, dst + p.in_c, int16_t{0});
            } else {
              std::memcpy(dst, xb + (int64_t{iy} * p.in_w + ix) * p.in_c, sizeof(int16_t) * p.in_c);
            }
          }
        }
        int16_t* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        for (int32_t c = 0; c < p.out_c; ++c) {
          const int64_t acc = bias[c] + dot_i16_i8(patch, w + int64_t{c} * k, k);
          yp[c] = clamp_i16(multiply_by_quantized_multiplier_i64(acc, mult[c], shift[c]), p.lo, p.hi);
        }
      }
  }
}

struct Q16DepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left, depth_multiplier;
  int32_t lo, hi;
};

// NHWC int16 input, weights [k_h][k_w][out_c], int64 bias [out_c]; `acc` holds out_c
// int64 (scratch).
inline void depthwise_conv2d_q16(const Q16DepthwiseParams& p, const int16_t* x, const int8_t* w,
                                 const int64_t* bias, const int32_t* mult, const int32_t* shift, int16_t* y,
                                 int64_t* acc) {
  const int32_t m = p.depth_multiplier;
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        for (int32_t c = 0; c < p.out_c; ++c) acc[c] = bias[c];
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          if (iy < 0 || iy >= p.in_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (ix < 0 || ix >= p.in_w) continue;
            const int16_t* xp = x + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
            const int8_t* wp = w + (int64_t{ky} * p.k_w + kx) * p.out_c;
            for (int32_t ic = 0; ic < p.in_c; ++ic)
              for (int32_t j = 0; j < m; ++j) acc[ic * m + j] += int32_t{xp[ic]} * int32_t{wp[ic * m + j]};
          }
        }
        int16_t* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        for (int32_t c = 0; c < p.out_c; ++c)
          yp[c] = clamp_i16(multiply_by_quantized_multiplier_i64(acc[c], mult[c], shift[c]), p.lo, p.hi);
      }
}

struct Q16FullyConnectedParams {
  int32_t rows, k, out_c;
  int32_t lo, hi;
};

// y[r][c] = clamp(round((sum_k x[r][k] * w[c][k] + bias[c]) * scale[c])); weights
// [out_c][k], bias int64 [out_c] or nullptr, scale double [out_c].
inline void fully_connected_q16(const Q16FullyConnectedParams& p, const int16_t* x, const int8_t* w,
                                const int64_t* bias, const double* scale, int16_t* y) {
  for (int32_t r = 0; r < p.rows; ++r) {
    const int16_t* xr = x + int64_t{r} * p.k;
    for (int32_t c = 0; c < p.out_c; ++c) {
      const int64_t acc = (bias ? bias[c] : 0) + dot_i16_i8(xr, w + int64_t{c} * p.k, p.k);
      y[int64_t{r} * p.out_c + c] =
          clamp_i16(round_double_to_i32(static_cast<double>(acc) * scale[c]), p.lo, p.hi);
    }
  }
}

// TFLite's table of sigmoid over [0, 10.7) at 1/24 steps, unsigned 0.16 fixed point, as the
// pip build's int16 LOGISTIC and TANH read it (measured: TANH of every input value).
constexpr uint16_t kSigmoidTableU16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535};

struct Q16SigmoidParams {
  int32_t multiplier, shift;
};

// The input in the table's scale: (x * multiplier + round) >> shift.
inline int32_t sigmoid_input_q16(int16_t x, const Q16SigmoidParams& p) {
  const int32_t round = p.shift > 0 ? int32_t{1} << (p.shift - 1) : 0;
  return (int32_t{x} * p.multiplier + round) >> p.shift;
}

// int16 LOGISTIC (output scale 2^-15): the table interpolated at 9 fractional bits,
// mirrored for negative inputs.
inline void logistic_q16(int64_t n, const Q16SigmoidParams& p, const int16_t* x, int16_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = sigmoid_input_q16(x[i], p);
    const uint32_t a = static_cast<uint32_t>(v < 0 ? -int64_t{v} : int64_t{v});
    const uint32_t uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
      r = uint32_t{0x7FFF} << 10;
    } else {
      const uint32_t ua = kSigmoidTableU16[uh], ub = kSigmoidTableU16[uh + 1];
      r = (ua << 9) + (a & 0x1ff) * (ub - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
    y[i] = static_cast<int16_t>(r >> 10);
  }
}

// int16 TANH (output scale 2^-15): tanh(x) = 2 sigmoid(2x) - 1 on the same table, 8
// fractional bits.
inline void tanh_q16(int64_t n, const Q16SigmoidParams& p, const int16_t* x, int16_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = sigmoid_input_q16(x[i], p);
    const uint32_t a = static_cast<uint32_t>(v < 0 ? -int64_t{v} : int64_t{v});
    const uint32_t uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
      r = int32_t{0xFFFF} << 8;
    } else {
      const uint32_t ua = kSigmoidTableU16[uh], ub = kSigmoidTableU16[uh + 1];
      r = static_cast<int32_t>((ua << 8) + (a & 0xff) * (ub - ua));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    y[i] = static_cast<int16_t>(r >> 8);
  }
}

// TFLite's int16 LUTLookup: 9 index bits, 7 bits interpolated between neighbours.
inline int16_t lut_lookup_q16(int16_t value, const int16_t* lut) {
  const int32_t index = 256 + (int32_t{value} >> 7);
  const int32_t offset = value & 0x7f;
  const int16_t slope = static_cast<int16_t>(lut[index + 1] - lut[index]);
  return static_cast<int16_t>(lut[index] + ((slope * offset + 64) >> 7));
}

struct Q16SoftmaxParams {
  int32_t rows, depth, multiplier, shift;
};

// int16 SOFTMAX over the last dimension (output scale 2^-15, zero point 0). `y` holds
// the row's exp values before it is rescaled, as in TFLite.
inline void softmax_q16(const Q16SoftmaxParams& p, const int16_t* x, int16_t* y, const int16_t* exp_lut,
                        const int16_t* recip_lut) {
  for (int32_t r = 0; r < p.rows; ++r) {
    const int16_t* xr = x + int64_t{r} * p.depth;
    int16_t* yr = y + int64_t{r} * p.depth;
    int16_t mx = -32768;
    for (int32_t c = 0; c < p.depth; ++c) mx = std::max(mx, xr[c]);
    uint32_t sum = 0;  // TFLite's int32 sum (wraps only beyond 65536 elements)
    for (int32_t c = 0; c < p.depth; ++c) {
      const int32_t scaled =
          multiply_by_quantized_multiplier<Rounding::kAway>(int32_t{xr[c]} - mx, p.multiplier, p.shift);
      const int32_t sym = std::min(std::max(scaled + 32767, int32_t{-32768}), int32_t{32767});
      yr[c] = lut_lookup_q16(static_cast<int16_t>(sym), exp_lut);
      sum += static_cast<uint32_t>(static_cast<int32_t>(yr[c]));
    }
    int headroom_plus_one = 0;
    while (headroom_plus_one < 32 && !(sum & (uint32_t{1} << (31 - headroom_plus_one)))) ++headroom_plus_one;
    const int32_t shifted = static_cast<int32_t>(
        ((static_cast<int64_t>(static_cast<int32_t>(sum)) << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int32_t sym_sum = std::min(std::max(shifted - ((1 << 15) + (1 << 16)), int32_t{-32768}), int32_t{32767});
    const int64_t recip = lut_lookup_q16(static_cast<int16_t>(sym_sum), recip_lut);
    const int right = 31 - headroom_plus_one;
    const int64_t round = int64_t{1} << (right - 1);
    for (int32_t c = 0; c < p.depth; ++c) {
      const int64_t v = (int64_t{yr[c]} * recip + round) >> right;
      yr[c] = static_cast<int16_t>(std::min<int64_t>(std::max<int64_t>(v, 0), 32767));
    }
  }
}

}  // namespace dlcoder_rt
