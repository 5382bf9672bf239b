// Dynamic-range ("hybrid") UNIDIRECTIONAL_SEQUENCE_LSTM: float32 sequence, states, biases
// and layer-norm coefficients; int8 weights (input-to-gate, recurrent, peephole, projection)
// with one scale per tensor. As TFLite's EvalHybrid (lstm_eval.cc), step by step and row by
// row (every row of a step is independent of the others):
//   - the step's input row and the previous output state row are quantized to int8 on the
//     fly (qhybrid.h: symmetric, or asymmetric with a zero point when the option says so);
//   - each gate starts at its bias (0 with layer norm) and accumulates, input then
//     recurrent product, float(sum(q * w) - zp * row_sum) * (row scale * weight scale),
//     as TFLite's x86 MatrixBatchVectorMultiplyAccumulate forms it (qhybrid.h hybrid_row):
//     row sums those of its ReductionSumVector (int16 lanes that wrap, generation time),
//     the zero point's share taken off in int32, and for weights holding -128 its SSSE3
//     dot product (hybrid_dot_sse, the flags wx_sse / wh_sse / proj_sse);
//   - peepholes add (float(w) * scale) * c; layer norm (TFLite's MeanStddevNormalization)
//     scales by the coefficients and adds the bias;
//   - the gates' sigmoid and the tanh are Eigen's float approximations, as TFLite's
//     tensor_utils apply them (see hybrid_lstm_tanh, hybrid_lstm_sigmoid); c = f * c, then
//     c += g * i (CIFG: i = 1 - f); clipping; h = o * act(c);
//   - a projection quantizes h like the input and adds its bias; then projection clipping.
// Every float operation is one rounded operation, in TFLite's order (no fused multiply-add).
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/qhybrid.h"
#include "dlcoder_rt/requantize.h"

namespace dlcoder_rt {

struct HybridLstmParams {
  int32_t batch, steps, n_input, n_cell, n_output;
  int32_t time_major, cifg, asymmetric;
  int32_t act;  // the cell gate's and the cell state's: 1 tanh, 2 relu, 3 relu6, 4 relu_n1_to_1
  float cell_clip, proj_clip;  // > 0: clip to [-clip, clip]
  // the input-to-gate, recurrent, projection weights hold -128 where TFLite's SSE dot
  // product takes it as +128 (qhybrid.h hybrid_dot_sse)
  int32_t wx_sse, wh_sse, proj_sse;
};

// Gates go input (absent with CIFG), forget, cell, output: G = 3 or 4 gates of n_cell rows.
// Every pointer but wx, wh, bias and the states may be null (the option absent).
struct HybridLstmWeights {
  const int8_t* wx;         // [G][n_cell][n_input]
  const float* wx_scale;    // [G]
  const int32_t* wx_sums;   // [G][n_cell]: row sums as TFLite's (for an asymmetric input's zero point)
  const int8_t* wh;         // [G][n_cell][n_output]
  const float* wh_scale;    // [G]
  const int32_t* wh_sums;   // [G][n_cell]
  const float* peephole;    // [3][n_cell]: float(w) * scale, to the input, forget, output gates
  const float* bias;        // [G][n_cell]
  const float* norm;        // [G][n_cell] layer-norm coefficients
  const int8_t* proj;       // [n_output][n_cell]
  const float* proj_scale;  // [1]
  const int32_t* proj_sums; // [n_output]
  const float* proj_bias;   // [n_output]
  const float* h0;          // initial output state [batch][n_output]
  const float* c0;          // initial cell state [batch][n_cell]
};

// tanh as TFLite's LSTM takes it (Eigen's float tanh with EIGEN_FAST_MATH, no FMA: a 9/8
// rational approximation, clamped where it reaches +-1). Measured against the pip build's
// TANH and LSTM kernels.
inline float hybrid_lstm_tanh(float a) {
  const float x = std::max(std::min(a, 7.90738964080810547f), -7.90738964080810547f);
  const float x2 = x * x, x3 = x2 * x;
  float p = 1.394553628e-8f;
  p = x2 * p + 2.102733560e-5f;
  p = x2 * p + 3.520756727e-3f;
  p = x2 * p + 1.340216100e-1f;
  float q = 8.015776984e-7f;
  q = x2 * q + 3.326951409e-4f;
  q = x2 * q + 2.597254514e-2f;
  q = x2 * q + 4.673548340e-1f;
  q = x2 * q + 1.0f;
  return (x3 * p + x) / q;
}

inline float hybrid_lstm_act(int32_t act, float x) {
  switch (act) {
    case 1: return hybrid_lstm_tanh(x);
    case 2: return std::max(0.0f, x);
    case 3: return std::max(0.0f, std::min(x, 6.0f));
    case 4: return std::max(-1.0f, std::min(x, 1.0f));
    default: return x;
  }
}

// Eigen's float logistic, which TFLite's LSTM applies to a gate buffer: a 4-float packet
// path (exp(x/2) by range reduction and a degree-5 polynomial, squared, then e / (1 + e))
// for the packets, a scalar path (expf) for the elements before the first 16-byte aligned
// one and after the last whole packet.
inline float hybrid_lstm_sigmoid_packet(float x0) {
  float x = std::min(x0, 16.6355324f) * 0.5f;
  const float m = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = m * -0.693359375f + x;
  r = m * 2.12194440e-4f + r;
  const float r2 = r * r;
  const float even = r2 * 4.1898667812347412109375e-2f + 0.49999141693115234375f;
  const float odd = r2 * 8.33471305668354034423828125e-3f + 0.16666877269744873046875f;
  float p = r * odd + even;
  p = r2 * p + (r + 1.0f);
  const int32_t biased = static_cast<int32_t>(std::min(std::max(m + 127.0f, 0.0f), 255.0f));
  const uint32_t bits = static_cast<uint32_t>(biased) << 23;
  float two_m;
  std::memcpy(&two_m, &bits, sizeof(float));
  float e = p * two_m;
  e = e * e;
  return x0 < -104.0f ? 0.0f : e / (1.0f + e);
}

inline float hybrid_lstm_sigmoid_scalar(float x) {
  const float e = std::exp(std::min(x, 16.6355324f));
  return e / (1.0f + e);
}

// Logistic of g[0, n): elements idx0 .. idx0 + n of a call on `size` floats that start
// `base` floats after a 16-byte aligned address.
inline void hybrid_lstm_sigmoid(float* g, int32_t n, int64_t base, int64_t idx0, int64_t size) {
  const int64_t head = std::min<int64_t>((4 - base % 4) % 4, size);
  const int64_t end = head + (size - head) / 4 * 4;
  for (int32_t i = 0; i < n; ++i) {
    const int64_t k = idx0 + i;
    g[i] = k >= head && k < end ? hybrid_lstm_sigmoid_packet(g[i]) : hybrid_lstm_sigmoid_scalar(g[i]);
  }
}

// TFLite's MeanStddevNormalization of one row of n (its portable form, sums left to right:
// a 20-cell case rules out the NEON kernel's 16-wide blocks).
inline void hybrid_lstm_normalize(float* v, int32_t n) {
  float sum = 0.0f;
  for (int32_t i = 0; i < n; ++i) sum += v[i];
  const float mean = sum / static_cast<float>(n);
  float sq = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    const float d = v[i] - mean;
    sq += d * d;
  }
  const float variance = sq / static_cast<float>(n);
  const float inv = 1.0f / std::sqrt(variance + 1e-8f);
  for (int32_t i = 0; i < n; ++i) v[i] = (v[i] - mean) * inv;
}

// gate[i] += float(sum(q * w[i]) - zp * sums[i]) * scale for the n rows of w (k columns),
// the int32 arithmetic wrapping as TFLite's; `sse_dot`: the products as its SSSE3 kernel
// forms them (hybrid_dot_sse).
inline void hybrid_lstm_accumulate(const int8_t* q, int32_t k, int32_t zp, float scale,
                                   const int8_t* w, const int32_t* sums, int32_t n, float* gate,
                                   bool sse_dot) {
  for (int32_t i = 0; i < n; ++i) {
    const int8_t* wi = w + int64_t{i} * k;
    const int32_t dot = sse_dot ? hybrid_dot_sse(q, wi, k) : hybrid_dot(q, wi, k);
    const int32_t acc = static_cast<int32_t>(
        static_cast<uint32_t>(dot) - static_cast<uint32_t>(zp) * static_cast<uint32_t>(sums[i]));
    gate[i] += static_cast<float>(acc) * scale;
  }
}

// scratch: floats [G * n_cell + n_cell + batch * (n_output + n_cell)], then int8
// [max(n_input, n_output, n_cell)].
inline void unidirectional_lstm_hybrid(const HybridLstmParams& p, const HybridLstmWeights& w,
                                       const float* in, float* out, float* scratch) {
  const int32_t n = p.n_cell, G = p.cifg ? 3 : 4;
  float* gates = scratch;                          // [G][n]
  float* hidden = gates + int64_t{G} * n;          // [n]
  float* h_state = hidden + n;                     // [batch][n_output]
  float* c_state = h_state + int64_t{p.batch} * p.n_output;  // [batch][n]
  int8_t* q = reinterpret_cast<int8_t*>(c_state + int64_t{p.batch} * n);
  std::memcpy(h_state, w.h0, sizeof(float) * p.batch * p.n_output);
  std::memcpy(c_state, w.c0, sizeof(float) * p.batch * n);
  const bool asym = p.asymmetric != 0;
  const int64_t t_stride = p.time_major ? p.batch : 1, b_stride = p.time_major ? 1 : p.steps;

  for (int32_t b = 0; b < p.batch; ++b) {
    float* h = h_state + int64_t{b} * p.n_output;
    float* c = c_state + int64_t{b} * n;
    for (int32_t t = 0; t < p.steps; ++t) {
      const int64_t row = t * t_stride + b * b_stride;
      const float* x = in + row * p.n_input;
      float* y = out + row * p.n_output;
      for (int32_t j = 0; j < G; ++j) {
        float* g = gates + int64_t{j} * n;
        if (w.norm != nullptr) {
          std::fill(g, g + n, 0.0f);
        } else {
          std::copy(w.bias + int64_t{j} * n, w.bias + int64_t{j + 1} * n, g);
        }
      }
      float s;
      int32_t zp;
      hybrid_quantize(asym, x, p.n_input, q, &s, &zp);
      for (int32_t j = 0; j < G; ++j)
        hybrid_lstm_accumulate(q, p.n_input, zp, s * w.wx_scale[j], w.wx + int64_t{j} * n * p.n_input,
                               w.wx_sums + int64_t{j} * n, n, gates + int64_t{j} * n, p.wx_sse != 0);
      hybrid_quantize(asym, h, p.n_output, q, &s, &zp);
      for (int32_t j = 0; j < G; ++j)
        hybrid_lstm_accumulate(q, p.n_output, zp, s * w.wh_scale[j], w.wh + int64_t{j} * n * p.n_output,
                               w.wh_sums + int64_t{j} * n, n, gates + int64_t{j} * n, p.wh_sse != 0);
      // Where TFLite's gate buffers put this row: slots input, cell, forget, output (CIFG:
      // cell, forget, output) of n_cell * batch floats; batch-major steps run one row at a
      // time at row b of the slot, time-major steps all rows at once.
      const int64_t slot = int64_t{n} * p.batch;
      const int64_t idx0 = p.time_major ? int64_t{b} * n : 0, call = p.time_major ? slot : n;
      auto slot_base = [&](int32_t k) { return k * slot + (p.time_major ? 0 : int64_t{b} * n); };
      float* gi = p.cifg ? nullptr : gates;
      float* gf = gates + int64_t{G - 3} * n;
      float* gc = gf + n;
      float* go = gc + n;
      // the input and forget gates (peephole on the previous cell state), then the cell gate
      for (int32_t j = 0; j < G - 1; ++j) {
        float* g = gates + int64_t{j} * n;
        const bool cell_gate = g == gc;
        if (w.peephole != nullptr && !cell_gate) {
          const float* pw = w.peephole + (g == gi ? 0 : n);
          for (int32_t i = 0; i < n; ++i) g[i] += pw[i] * c[i];
        }
        if (w.norm != nullptr) {
          hybrid_lstm_normalize(g, n);
          const float* coef = w.norm + int64_t{j} * n;
          const float* bias = w.bias + int64_t{j} * n;
          for (int32_t i = 0; i < n; ++i) g[i] = coef[i] * g[i];
          for (int32_t i = 0; i < n; ++i) g[i] += bias[i];
        }
        if (cell_gate) {
          for (int32_t i = 0; i < n; ++i) g[i] = hybrid_lstm_act(p.act, g[i]);
        } else {
          hybrid_lstm_sigmoid(g, n, slot_base(g == gi ? 0 : g == gf ? 2 - p.cifg : 0), idx0, call);
        }
      }
      for (int32_t i = 0; i < n; ++i) c[i] = gf[i] * c[i];
      for (int32_t i = 0; i < n; ++i) {
        const float ig = gi != nullptr ? gi[i] : 1.0f - gf[i];
        c[i] += gc[i] * ig;
      }
      if (p.cell_clip > 0.0f)
        for (int32_t i = 0; i < n; ++i) c[i] = std::max(std::min(p.cell_clip, c[i]), -p.cell_clip);
      if (w.peephole != nullptr)
        for (int32_t i = 0; i < n; ++i) go[i] += w.peephole[2 * n + i] * c[i];
      if (w.norm != nullptr) {
        hybrid_lstm_normalize(go, n);
        const float* coef = w.norm + int64_t{G - 1} * n;
        const float* bias = w.bias + int64_t{G - 1} * n;
        for (int32_t i = 0; i < n; ++i) go[i] = coef[i] * go[i];
        for (int32_t i = 0; i < n; ++i) go[i] += bias[i];
      }
      hybrid_lstm_sigmoid(go, n, slot_base(G - 1), idx0, call);
      float* hid = w.proj != nullptr ? hidden : y;
      for (int32_t i = 0; i < n; ++i) hid[i] = go[i] * hybrid_lstm_act(p.act, c[i]);
      if (w.proj != nullptr) {
        for (int32_t i = 0; i < p.n_output; ++i) y[i] = w.proj_bias != nullptr ? w.proj_bias[i] : 0.0f;
        hybrid_quantize(asym, hidden, n, q, &s, &zp);
        hybrid_lstm_accumulate(q, n, zp, s * w.proj_scale[0], w.proj, w.proj_sums, p.n_output, y,
                               p.proj_sse != 0);
        if (p.proj_clip > 0.0f)
          for (int32_t i = 0; i < p.n_output; ++i) y[i] = std::max(std::min(p.proj_clip, y[i]), -p.proj_clip);
      }
      std::memcpy(h, y, sizeof(float) * p.n_output);
    }
  }
}


// ---- full-integer ("8x8_16") LSTM ------------------------------------------------------
// int8 sequence, weights, output state and output; int16 cell state (scale 2^cell_log2),
// peepholes and gates; int32 biases. As TFLite's EvalInteger8x8_16 (lstm_eval.cc) with the
// portable tensor_utils (what the x86 pip build runs for every step of it): each gate is
// clamp16(MBQM(x . wx + bias_x)) then clamp16(+ MBQM(h . wh + bias_h)) then, with peepholes,
// clamp16(+ MBQM(c * p)) (MBQM: requantize.h's, half away from zero), the biases folded with
// the operands' zero points at generation time; sigmoid of Q3.12 (the cell gate: tanh) in
// gemmlowp's int16 fixed point; c = rdbpot(f * c, 15) + rdbpot(i * g, 30 + cell_log2)
// (CIFG: i = 32767 - f), saturated, clipped; h = MBQM(o * tanh(c)) +- hidden zero point,
// then the projection (int8 output) and its clipping. Rows are independent of each other,
// so every batch row runs its own sequence whatever the layout.

// gemmlowp's int16 fixed-point primitives (fixedpoint.h), on int32 carriers.
inline int32_t fx16_wrap(int32_t v) { return static_cast<int16_t>(static_cast<uint16_t>(v)); }

inline int32_t fx16_mul(int32_t a, int32_t b) {  // SaturatingRoundingDoublingHighMul
  if (a == -32768 && b == -32768) return 32767;
  const int32_t ab = a * b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return fx16_wrap((ab + nudge) / (1 << 15));
}

inline int32_t fx16_pot(int32_t x, int e) {  // SaturatingRoundingMultiplyByPOT<e>
  if (e < 0) return rounding_divide_by_pot(x, -e);
  if (e == 0) return x;
  const int32_t threshold = (1 << (15 - e)) - 1;
  return x > threshold ? 32767 : x < -threshold ? -32768 : x * (1 << e);
}

// the int16 value of a gemmlowp Q0.31 constant (RescaleConstantInitializer)
constexpr int32_t fx16_const(int32_t v32) {
  return (v32 >> 16) + (((v32 & 0xFFFF) > (0x7FFF + (v32 < 0 ? 1 : 0))) ? 1 : 0);
}

// exp(a) for a in [-1/4, 0), Q0.15
inline int32_t fx16_exp_quarter(int32_t a) {
  constexpr int32_t kConst = fx16_const(1895147668), kThird = fx16_const(715827883);
  const int32_t x = fx16_wrap(a + (1 << 12));
  const int32_t x2 = fx16_mul(x, x), x3 = fx16_mul(x2, x), x4 = fx16_mul(x2, x2);
  const int32_t x4_4 = fx16_pot(x4, -2);
  const int32_t poly = fx16_pot(fx16_wrap(fx16_mul(fx16_wrap(x4_4 + x3), kThird) + x2), -1);
  return std::min(32767, std::max(-32768, kConst + fx16_mul(kConst, fx16_wrap(x + poly))));
}

// exp(a) for a <= 0 in Q(bits).(15 - bits), result Q0.15
inline int32_t fx16_exp_negative(int32_t a, int bits) {
  const int frac = 15 - bits;
  const int32_t quarter = 1 << (frac - 2);
  const int32_t a_mod = fx16_wrap((a & (quarter - 1)) - quarter);
  int32_t r = fx16_exp_quarter(fx16_pot(a_mod, bits));
  const int32_t rem = fx16_wrap(a_mod - a);
  static constexpr int32_t kMult[7] = {fx16_const(1672461947), fx16_const(1302514674),
                                       fx16_const(790015084), fx16_const(290630308),
                                       fx16_const(39332535), fx16_const(720401), fx16_const(242)};
  for (int e = -2; e <= 4; ++e)
    if (bits > e && (rem & fx16_wrap(1 << (frac + e))) != 0) r = fx16_mul(r, kMult[e + 2]);
  if (bits > 5 && a < fx16_const(-(1 << (36 - bits)))) r = 0;
  return a == 0 ? 32767 : r;
}

// Newton-Raphson 1 / (1 + a) (minus_x: (1 - a) / (1 + a)) for a in (0, 1), Q0.15
inline int32_t fx16_reciprocal(int32_t a, bool minus_x) {
  const int32_t sum = a + 32767;
  const int32_t half = (sum + (sum >= 0 ? 1 : -1)) / 2;  // RoundingHalfSum
  constexpr int32_t k48 = fx16_const(1515870810), kNeg32 = fx16_const(-1010580540);
  int32_t x = fx16_wrap(k48 + fx16_mul(half, kNeg32));
  for (int i = 0; i < 3; ++i) {
    const int32_t one_minus = fx16_wrap((1 << 13) - fx16_mul(half, x));
    x = fx16_wrap(x + fx16_pot(fx16_mul(x, one_minus), 2));
  }
  return minus_x ? fx16_pot(fx16_wrap(x - (1 << 13)), 2) : fx16_pot(x, 1);
}

// gemmlowp::logistic of Q3.12 -> Q0.15
inline int16_t lstm_sigmoid_q3_12(int32_t a) {
  if (a == 0) return static_cast<int16_t>(fx16_const(1 << 30));
  const int32_t abs_a = a > 0 ? a : fx16_wrap(-a);
  const int32_t pos = fx16_reciprocal(fx16_exp_negative(fx16_wrap(-abs_a), 3), false);
  return static_cast<int16_t>(a > 0 ? pos : fx16_wrap(32767 - pos));
}

// gemmlowp::tanh of Q(bits).(15 - bits) -> Q0.15
inline int16_t lstm_tanh_q(int32_t a, int bits) {
  if (a == 0) return 0;
  const int32_t n = a < 0 ? a : fx16_wrap(-a);
  const int32_t t = fx16_reciprocal(fx16_exp_negative(n, bits + 1), true);
  return static_cast<int16_t>(a < 0 ? fx16_wrap(-t) : t);
}

struct IntLstmParams {
  int32_t batch, steps, n_input, n_cell, n_output, time_major, cifg;
  int32_t cell_log2;      // the cell state's scale is 2^cell_log2, in [-15, -9]
  int32_t cell_clip;      // > 0: clip the cell state to [-cell_clip, cell_clip]
  int32_t proj_clip;      // > 0: clip the projection's output likewise
  int32_t hidden_offset;  // added to the requantized o * tanh(c)
  int32_t hidden_mult, hidden_shift, proj_mult, proj_shift, out_zp, h0;
};

// G = 3 (CIFG) or 4 gates, in the order input, forget, cell, output; P = the peepholes'
// gates (input unless CIFG, forget, output).
struct IntLstmWeights {
  const int8_t* wx;          // [G][n_cell][n_input]
  const int8_t* wh;          // [G][n_cell][n_output]
  const int32_t* bx;         // [G][n_cell]: bias - input zero point * row sums
  const int32_t* bh;         // [G][n_cell]: - output state zero point * row sums
  const int32_t* mult;       // [2G + P]: input, recurrent, then peephole multipliers
  const int32_t* shift;      // [2G + P]
  const int16_t* peephole;   // [P][n_cell] or null
  const int8_t* proj;        // [n_output][n_cell] or null
  const int32_t* proj_bias;  // [n_output]: bias + hidden zero point * row sums
};

inline void int_lstm_matmul(const int8_t* v, int32_t k, const int8_t* w, const int32_t* bias,
                            int32_t n, int32_t mult, int32_t shift, int16_t* gate) {
  for (int32_t i = 0; i < n; ++i) {
    int32_t acc = bias[i];
    const int8_t* row = w + int64_t{i} * k;
    for (int32_t j = 0; j < k; ++j) acc += int32_t{v[j]} * int32_t{row[j]};
    const int32_t r = multiply_by_quantized_multiplier<Rounding::kAway>(acc, mult, shift) + gate[i];
    gate[i] = static_cast<int16_t>(std::min(32767, std::max(-32768, r)));
  }
}

// scratch: int16 [5 * n_cell + batch * (n_cell + n_output)]
inline void unidirectional_lstm_int8(const IntLstmParams& p, const IntLstmWeights& w,
                                     const int8_t* in, int8_t* out, int16_t* scratch) {
  const int32_t n = p.n_cell, G = p.cifg ? 3 : 4;
  int16_t* gates = scratch;                               // [4][n]
  int16_t* tmp = gates + int64_t{4} * n;                  // [n]
  int16_t* c_all = tmp + n;                               // [batch][n]
  int16_t* h_all = c_all + int64_t{p.batch} * n;          // [batch][n_output]
  std::fill(c_all, c_all + int64_t{p.batch} * n, int16_t{0});
  std::fill(h_all, h_all + int64_t{p.batch} * p.n_output, static_cast<int16_t>(p.h0));
  const int64_t t_stride = p.time_major ? p.batch : 1, b_stride = p.time_major ? 1 : p.steps;
  for (int32_t b = 0; b < p.batch; ++b) {
    int16_t* c = c_all + int64_t{b} * n;
    int16_t* hs = h_all + int64_t{b} * p.n_output;
    for (int32_t t = 0; t < p.steps; ++t) {
      const int64_t row = t * t_stride + b * b_stride;
      const int8_t* x = in + row * p.n_input;
      int8_t* y = out + row * p.n_output;
      // the previous output state as int8, in this step's output row (written last)
      int8_t* hprev = y;
      for (int32_t i = 0; i < p.n_output; ++i) hprev[i] = static_cast<int8_t>(hs[i]);
      int16_t* gi = p.cifg ? nullptr : gates;
      int16_t* gf = gates + int64_t{1} * n;
      int16_t* gc = gates + int64_t{2} * n;
      int16_t* go = gates + int64_t{3} * n;
      auto gate = [&](int32_t j, int16_t* g, const int16_t* peep, int32_t pm, int32_t ps,
                      bool tanh_gate) {
        std::fill(g, g + n, int16_t{0});
        int_lstm_matmul(x, p.n_input, w.wx + int64_t{j} * n * p.n_input, w.bx + int64_t{j} * n, n,
                        w.mult[j], w.shift[j], g);
        int_lstm_matmul(hprev, p.n_output, w.wh + int64_t{j} * n * p.n_output,
                        w.bh + int64_t{j} * n, n, w.mult[G + j], w.shift[G + j], g);
        if (peep != nullptr)
          for (int32_t i = 0; i < n; ++i) {
            const int32_t v = multiply_by_quantized_multiplier<Rounding::kAway>(
                int32_t{peep[i]} * int32_t{c[i]}, pm, ps) + g[i];
            g[i] = static_cast<int16_t>(std::min(32767, std::max(-32768, v)));
          }
        for (int32_t i = 0; i < n; ++i)
          g[i] = tanh_gate ? lstm_tanh_q(g[i], 3) : lstm_sigmoid_q3_12(g[i]);
      };
      const int32_t P0 = 2 * G;   // first peephole multiplier
      const int16_t* pw = w.peephole;
      int32_t j = 0;
      if (!p.cifg) {
        gate(j++, gi, pw, pw ? w.mult[P0] : 0, pw ? w.shift[P0] : 0, false);
      }
      const int32_t pf = p.cifg ? 0 : 1;   // the forget gate's peephole row
      gate(j++, gf, pw ? pw + int64_t{pf} * n : nullptr, pw ? w.mult[P0 + pf] : 0,
           pw ? w.shift[P0 + pf] : 0, false);
      gate(j++, gc, nullptr, 0, 0, true);
      const int32_t cell_shift = 30 + p.cell_log2;
      for (int32_t i = 0; i < n; ++i) {
        const int32_t kept = fx16_wrap(rounding_divide_by_pot(int32_t{gf[i]} * int32_t{c[i]}, 15));
        const int32_t ig = gi != nullptr ? int32_t{gi[i]} : fx16_wrap(32767 - gf[i]);
        const int32_t added = fx16_wrap(rounding_divide_by_pot(ig * int32_t{gc[i]}, cell_shift));
        int32_t v = std::min(32767, std::max(-32768, kept + added));
        if (p.cell_clip > 0) v = std::min(p.cell_clip, std::max(-p.cell_clip, v));
        c[i] = static_cast<int16_t>(v);
      }
      const int32_t po = p.cifg ? 1 : 2;   // the output gate's peephole row
      gate(j++, go, pw ? pw + int64_t{po} * n : nullptr, pw ? w.mult[P0 + po] : 0,
           pw ? w.shift[P0 + po] : 0, false);
      const int tanh_bits = 15 + p.cell_log2;
      for (int32_t i = 0; i < n; ++i) {
        const int32_t v = multiply_by_quantized_multiplier<Rounding::kAway>(
            int32_t{go[i]} * int32_t{lstm_tanh_q(c[i], tanh_bits)}, p.hidden_mult, p.hidden_shift)
            + p.hidden_offset;
        tmp[i] = static_cast<int16_t>(std::min(127, std::max(-128, v)));
      }
      if (w.proj != nullptr) {
        for (int32_t o = 0; o < p.n_output; ++o) {
          int32_t acc = w.proj_bias[o];
          const int8_t* row = w.proj + int64_t{o} * n;
          for (int32_t i = 0; i < n; ++i) acc += int32_t{tmp[i]} * int32_t{row[i]};
          int32_t v = multiply_by_quantized_multiplier<Rounding::kAway>(acc, p.proj_mult, p.proj_shift)
                      + p.out_zp;
          v = std::min(127, std::max(-128, v));
          if (p.proj_clip > 0) v = std::min(p.proj_clip, std::max(-p.proj_clip, v));
          hs[o] = static_cast<int16_t>(v);
        }
      } else {
        for (int32_t i = 0; i < n; ++i) hs[i] = tmp[i];
      }
      for (int32_t i = 0; i < p.n_output; ++i) y[i] = static_cast<int8_t>(hs[i]);
    }
  }
}

}  // namespace dlcoder_rt
