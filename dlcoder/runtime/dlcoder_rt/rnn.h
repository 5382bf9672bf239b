// UNIDIRECTIONAL_SEQUENCE_LSTM (float32), with TFLite's options: CIFG (no input gate),
// peephole connections, layer normalisation of the gates, a projection, cell and
// projection clipping, time-major or batch-major sequences.
//
// The input-to-gate products do not depend on the recurrence, so those of `chunk` time
// steps run as one GEMM (weights packed at generation time, bias fused). Each step then
// adds the recurrent product (a small GEMM whose epilogue adds that step's precomputed rows
// as its residual), applies the gates and writes the step's output straight into the
// output tensor, where the next step reads it back as its recurrent input. Nothing is
// copied.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {

struct LstmParams {
  int32_t batch, steps, n_input, n_cell, n_output;
  int32_t chunk;      // time steps whose input products are computed together (see above)
  bool time_major;
  bool cifg;          // no input gate: it is 1 - forget gate
  UnaryKind act;      // of the cell gate and of the cell state on output (kNone: identity)
  float cell_clip;    // > 0: the cell state is clipped to [-cell_clip, cell_clip]
  float proj_clip;    // > 0: the projected output likewise
};

// Gate columns go input (absent with CIFG), forget, cell, output: G = 3 or 4 gates of
// n_cell columns each. Every pointer but wx, wh, h0 and c0 may be null (option absent).
struct LstmWeights {
  const float* wx;         // input-to-gate weights, GEMM panels of [n_input][G * n_cell]
  const float* wh;         // recurrent weights, GEMM panels of [n_output][G * n_cell]
  const float* bias;       // [G * n_cell] padded to panels; null with layer norm (see norm_bias)
  const float* peephole;   // [3][n_cell]: to the input, forget and output gates
  const float* norm;       // [G][n_cell] layer-norm coefficients
  const float* norm_bias;  // [G][n_cell] gate biases, added after the layer norm
  const float* proj;       // projection, GEMM panels of [n_cell][n_output]
  const float* proj_bias;  // [n_output] padded to panels
  const float* h0;         // initial output state [batch][n_output]
  const float* c0;         // initial cell state [batch][n_cell]
};

// The epsilon of TFLite's MeanStddevNormalization, which normalises the gates.
constexpr float kLstmNormEpsilon = 1e-8f;

// The cell and projection clipping: max(min(clip, x), -clip) as TFLite's CwiseClipping,
// which makes NaN +clip (unlike an activation's clamp, which passes NaN).
inline void lstm_clip(int32_t n, float* x, float clip) {
  for (int32_t i = 0; i < n; ++i) x[i] = std::max(std::min(clip, x[i]), -clip);
}

inline void unidirectional_lstm_f32(const Parallel& par, const LstmParams& p, const LstmWeights& w,
                                    const float* in, float* out, float* scratch) {
  const int32_t n = p.n_cell, G = p.cifg ? 3 : 4, width = G * n, S = p.chunk;
  float* xg = scratch;                                        // [batch][chunk][width]
  float* cell = xg + int64_t{p.batch} * S * width;            // [batch][n]
  float* hidden = cell + int64_t{p.batch} * n;                // [batch][n]: o * act(c), projected
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const Clamp<float> none{-kInf, kInf};
  std::memcpy(cell, w.c0, sizeof(float) * p.batch * n);

  // Row (step t, batch b) of the sequence tensors is t * t_stride + b * b_stride.
  const int64_t t_stride = p.time_major ? p.batch : 1, b_stride = p.time_major ? 1 : p.steps;
  for (int32_t t0 = 0; t0 < p.steps; t0 += S) {
    const int32_t len = std::min(S, p.steps - t0);
    for (int32_t b = 0; b < p.batch; ++b) {  // the chunk's input products, bias included
      gemm_f32(par, GemmParams{len, width, p.n_input, static_cast<int32_t>(t_stride * p.n_input), width,
                               none, UnaryKind::kNone, nullptr, 0, none, 0, {}, nullptr},
               in + (t0 * t_stride + b * b_stride) * p.n_input, w.wx, w.bias,
               xg + int64_t{b} * S * width);
    }
    for (int32_t t = t0; t < t0 + len; ++t) {
      // gates = recurrent product + the step's input products, in place of the latter
      float* gates = xg + int64_t{t - t0} * width;
      const float* h_prev = t == 0 ? w.h0 : out + (t - 1) * t_stride * p.n_output;
      const int64_t ld_h = t == 0 ? p.n_output : b_stride * p.n_output;
      gemm_f32(GemmParams{p.batch, width, p.n_output, static_cast<int32_t>(ld_h), S * width, none,
                          UnaryKind::kNone, gates, int64_t{S} * width, none, 0, {}, nullptr},
               h_prev, w.wh, nullptr, gates);
      for (int32_t b = 0; b < p.batch; ++b) {
        float* g = gates + int64_t{b} * S * width;
        float* c = cell + int64_t{b} * n;
        float* gi = p.cifg ? nullptr : g;
        float* gf = g + (G - 3) * n;
        float* gc = gf + n;
        float* go = gc + n;
        if (w.peephole != nullptr) {
          for (int32_t i = 0; i < n; ++i) {
            if (gi != nullptr) gi[i] += c[i] * w.peephole[i];
            gf[i] += c[i] * w.peephole[n + i];
          }
        }
        if (w.norm != nullptr) {  // the output gate's comes after its peephole, below
          for (int32_t j = 0; j < G - 1; ++j)
            layer_norm_f32(1, n, kLstmNormEpsilon, g + j * n, w.norm + j * n, w.norm_bias + j * n, g + j * n);
        }
        unary_f32(UnaryKind::kLogistic, int64_t{G - 2} * n, g, g);  // input and forget gates
        if (p.act != UnaryKind::kNone) unary_f32(p.act, n, gc, gc);
        for (int32_t i = 0; i < n; ++i) {
          const float input_gate = gi != nullptr ? gi[i] : 1.0f - gf[i];
          c[i] = gf[i] * c[i] + input_gate * gc[i];
        }
        if (p.cell_clip > 0.0f) lstm_clip(n, c, p.cell_clip);
        if (w.peephole != nullptr) {
          for (int32_t i = 0; i < n; ++i) go[i] += c[i] * w.peephole[2 * n + i];
        }
        if (w.norm != nullptr) {
          layer_norm_f32(1, n, kLstmNormEpsilon, go, w.norm + (G - 1) * n, w.norm_bias + (G - 1) * n, go);
        }
        unary_f32(UnaryKind::kLogistic, n, go, go);
        float* h = w.proj != nullptr ? hidden + int64_t{b} * n
                                     : out + (t * t_stride + b * b_stride) * p.n_output;
        // h = o * act(c). Without an activation TFLite's kernel multiplies by the cell gate
        // instead (its ApplyActivationToVector writes nothing for NONE, leaving the cell
        // gate in the buffer it then reads): the reference we agree with. That cell gate
        // is clamped to the float range (NaN passes), so an infinite one gives -FLT_MAX,
        // or -0 with a closed output gate, not -inf or NaN.
        if (p.act != UnaryKind::kNone) {
          unary_f32(p.act, n, c, h);
          for (int32_t i = 0; i < n; ++i) h[i] *= go[i];
        } else {
          const Clamp<float> range{-std::numeric_limits<float>::max(), std::numeric_limits<float>::max()};
          for (int32_t i = 0; i < n; ++i) h[i] = clamp(gc[i], range) * go[i];
        }
      }
      if (w.proj != nullptr) {
        float* o = out + t * t_stride * p.n_output;
        gemm_f32(GemmParams{p.batch, p.n_output, n, n, static_cast<int32_t>(b_stride * p.n_output),
                            none, UnaryKind::kNone, nullptr, 0, none, 0, {}, nullptr},
                 hidden, w.proj, w.proj_bias, o);
        for (int32_t b = 0; b < p.batch && p.proj_clip > 0.0f; ++b)
          lstm_clip(p.n_output, o + b * b_stride * p.n_output, p.proj_clip);
      }
    }
  }
}

}  // namespace dlcoder_rt
