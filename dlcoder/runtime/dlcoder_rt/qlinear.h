// Quantized CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: 8-bit activations, integer
// weights, int32 accumulators, requantized per output channel (requantize.h).
//
// The generator prepares the weights so that the kernels do no zero-point arithmetic of
// their own: weights arrive with their zero point already subtracted (int8 as they are,
// uint8 as int16), and the bias arrives as bias - in_zp * sum(weights) per output channel,
// so sum((x - in_zp) * w) + bias is sum(x * w) + folded bias. A tap in the padding then
// has to contribute nothing, which an input of in_zp does: the kernels pad with in_zp.
//
// Requantization rounds as TFLite's kernels do (requantize.h): CONV_2D and FULLY_CONNECTED
// half up on every channel, DEPTHWISE_CONV_2D half up on the channels of its vector loop
// ([0, vec_channels)) and half away on the rest, BATCH_MATMUL half away.
#pragma once

#include "dlcoder_rt/params.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct QConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t in_zp, out_zp, lo, hi;
};

// sum(a[i] * b[i]) over n, four accumulators for the adds' latency.
template <typename A, typename B>
inline int32_t dot_i32(const A* a, const B* b, int32_t n) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += int32_t{a[i]} * int32_t{b[i]};
    s1 += int32_t{a[i + 1]} * int32_t{b[i + 1]};
    s2 += int32_t{a[i + 2]} * int32_t{b[i + 2]};
    s3 += int32_t{a[i + 3]} * int32_t{b[i + 3]};
  }
  for (; i < n; ++i) s0 += int32_t{a[i]} * int32_t{b[i]};
  return (s0 + s1) + (s2 + s3);
}

// One output pixel's channels from its patch of k = k_h * k_w * in_c inputs.
template <typename Q, typename W>
inline void qdot_channels(const Q* patch, int32_t k, const W* w, const int32_t* bias,
                          const int32_t* mult, const int32_t* shift, int32_t out_c, QuantOut o, Q* y) {
  for (int32_t c = 0; c < out_c; ++c) {
    const int32_t acc = bias[c] + dot_i32(patch, w + int64_t{c} * k, k);
    y[c] = requantize<Q, Rounding::kUp>(acc, mult[c], shift[c], o.zero_point, o.lo, o.hi);
  }
}

// NHWC input, weights [out_c][k_h][k_w][in_c] (zero point subtracted), bias folded as
// above; `patch` holds k_h * k_w * in_c values (scratch), unused for a 1x1 stride-1 conv
// without padding, whose patch is the input pixel itself.
template <typename Q, typename W>
inline void conv2d_q(const QConvParams& p, const Q* x, const W* w, const int32_t* bias,
                     const int32_t* mult, const int32_t* shift, Q* y, Q* patch) {
  const int32_t k = p.k_h * p.k_w * p.in_c;
  const QuantOut o{p.out_zp, p.lo, p.hi};
  const bool direct = p.k_h == 1 && p.k_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
                      p.pad_top == 0 && p.pad_left == 0 && p.in_h == p.out_h && p.in_w == p.out_w;
  for (int32_t b = 0; b < p.batch; ++b) {
    const Q* xb = x + int64_t{b} * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        Q* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        if (direct) {
          qdot_channels(xb + (int64_t{oy} * p.in_w + ox) * p.in_c, k, w, bias, mult, shift, p.out_c, o, yp);
          continue;
        }
        Q* dst = patch;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          for (int32_t kx = 0; kx < p.k_w; ++kx, dst += p.in_c) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
              std::fill(dst, dst + p.in_c, static_cast<Q>(p.in_zp));
            } else {
              std::memcpy(dst, xb + (int64_t{iy} * p.in_w + ix) * p.in_c, sizeof(Q) * p.in_c);
            }
          }
        }
        qdot_channels(patch, k, w, bias, mult, shift, p.out_c, o, yp);
      }
  }
}

struct QDepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier, vec_channels;
  int32_t in_zp, out_zp, lo, hi;
};

// NHWC input, weights [k_h][k_w][out_c] (zero point subtracted), bias [out_c] as the
// model has it (not folded: a tap in the padding is skipped, as TFLite skips it);
// `acc` holds out_c int32 (scratch).
template <typename Q, typename W>
inline void depthwise_conv2d_q(const QDepthwiseParams& p, const Q* x, const W* w, const int32_t* bias,
                               const int32_t* mult, const int32_t* shift, Q* y, int32_t* acc) {
  const int32_t m = p.depth_multiplier;
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t oy = 0; oy < p.out_h; ++oy)
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        for (int32_t c = 0; c < p.out_c; ++c) acc[c] = bias ? bias[c] : 0;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          if (iy < 0 || iy >= p.in_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (ix < 0 || ix >= p.in_w) continue;
            const Q* xp = x + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
            const W* wp = w + (int64_t{ky} * p.k_w + kx) * p.out_c;
            if (m == 1) {
              for (int32_t c = 0; c < p.out_c; ++c) acc[c] += (int32_t{xp[c]} - p.in_zp) * int32_t{wp[c]};
            } else {
              for (int32_t ic = 0; ic < p.in_c; ++ic) {
                const int32_t v = int32_t{xp[ic]} - p.in_zp;
                for (int32_t j = 0; j < m; ++j) acc[ic * m + j] += v * int32_t{wp[ic * m + j]};
              }
            }
          }
        }
        Q* yp = y + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        for (int32_t c = 0; c < p.vec_channels; ++c)
          yp[c] = requantize<Q, Rounding::kUp>(acc[c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
        for (int32_t c = p.vec_channels; c < p.out_c; ++c)
          yp[c] = requantize<Q, Rounding::kAway>(acc[c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
      }
}

struct QFullyConnectedParams {
  int32_t rows, k, out_c;
  int32_t out_zp, lo, hi;
};

// y[r][c] = requantize(sum_k x[r][k] * w[c][k] + bias[c]) with weights [out_c][k]
// (zero point subtracted) and the bias folded as above.
template <typename Q, typename W>
inline void fully_connected_q(const QFullyConnectedParams& p, const Q* x, const W* w, const int32_t* bias,
                              const int32_t* mult, const int32_t* shift, Q* y) {
  const QuantOut o{p.out_zp, p.lo, p.hi};
  for (int32_t r = 0; r < p.rows; ++r)
    qdot_channels(x + int64_t{r} * p.k, p.k, w, bias, mult, shift, p.out_c, o, y + int64_t{r} * p.out_c);
}

// BATCH_MATMUL of two quantized operands (views as BatchMatMulParams describes them):
// out = requantize(sum_k (a - a_zp) * (b - b_zp)), one multiplier for the whole output.
struct QMatMulParams {
  int32_t a_zp, b_zp, multiplier, shift, out_zp, lo, hi;
};

template <typename Q>
inline void batch_matmul_q(const BatchMatMulParams& p, const QMatMulParams& q, const Q* lhs, const Q* rhs,
                           Q* out) {
  int64_t batches = 1;
  for (int d = 0; d < kMaxDims; ++d) batches *= p.dims[d];
  const int64_t a_i = p.adj_x ? 1 : p.lda, a_k = p.adj_x ? p.lda : 1;   // element (i, k) of lhs
  const int64_t b_k = p.adj_y ? 1 : p.ldb, b_j = p.adj_y ? p.ldb : 1;   // element (k, j) of rhs
  for (int64_t t = 0; t < batches; ++t) {
    int64_t rest = t, ia = 0, ib = 0, io = 0;
    for (int d = kMaxDims - 1; d >= 0; --d) {
      const int64_t i = rest % p.dims[d];
      rest /= p.dims[d];
      ia += i * p.a_strides[d];
      ib += i * p.b_strides[d];
      io += i * p.o_strides[d];
    }
    for (int32_t i = 0; i < p.m; ++i)
      for (int32_t j = 0; j < p.n; ++j) {
        const Q* a = lhs + ia + i * a_i;
        const Q* b = rhs + ib + j * b_j;
        int32_t acc = 0;
        for (int32_t k = 0; k < p.k; ++k)
          acc += (int32_t{a[k * a_k]} - q.a_zp) * (int32_t{b[k * b_k]} - q.b_zp);
        out[io + int64_t{i} * p.ldc + j] = requantize<Q>(acc, q.multiplier, q.shift, q.out_zp, q.lo, q.hi);
      }
  }
}

}  // namespace dlcoder_rt
