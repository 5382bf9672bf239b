// Convolutions, NHWC. Filters are repacked at generation time so that the innermost loop
// runs over contiguous output channels:
//   conv2d:          [groups][k_h][k_w][in_c/groups][out_c/groups]
//   depthwise_conv:  [k_h][k_w][out_c]            (TFLite's own layout)
//   transpose_conv:  [k_h][k_w][in_c][out_c]
// Accumulation happens in the output row itself, which stays in L1.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/prelu.h"
#include "dlcoder_rt/simd.h"

namespace dlcoder_rt {


inline void init_bias(float* o, const float* bias, int32_t n) {
  if (bias != nullptr) {
    std::memcpy(o, bias, sizeof(float) * n);
  } else {
    std::fill(o, o + n, 0.0f);
  }
}

inline void clamp_row(float* o, int32_t n, Clamp<float> act) {
  for (int32_t i = 0; i < n; ++i) o[i] = clamp(o[i], act);
}

inline void conv2d_f32(const ConvParams& p, const float* in, const float* filter,
                       const float* bias, float* out) {
  const int32_t icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        float* o = out + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        init_bias(o, bias, p.out_c);
        for (int32_t g = 0; g < p.groups; ++g) {
          float* og = o + g * ocg;
          for (int32_t ky = 0; ky < p.k_h; ++ky) {
            const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
            if (iy < 0 || iy >= p.in_h) continue;
            for (int32_t kx = 0; kx < p.k_w; ++kx) {
              const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
              if (ix < 0 || ix >= p.in_w) continue;
              const float* ip = in + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c + g * icg;
              const float* w = filter + ((int64_t{g} * p.k_h + ky) * p.k_w + kx) * icg * ocg;
              for (int32_t ci = 0; ci < icg; ++ci) {
                const float x = ip[ci];
                const float* wr = w + int64_t{ci} * ocg;
                for (int32_t co = 0; co < ocg; ++co) og[co] += x * wr[co];
              }
            }
          }
        }
        clamp_row(o, p.out_c, p.act);
      }
    }
  }
}


inline void depthwise_conv2d_f32(const DepthwiseParams& p, const float* in, const float* filter,
                                 const float* bias, float* out) {
  const int32_t m = p.depth_multiplier;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        float* o = out + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
        init_bias(o, bias, p.out_c);
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
          if (iy < 0 || iy >= p.in_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (ix < 0 || ix >= p.in_w) continue;
            const float* ip = in + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
            const float* w = filter + (int64_t{ky} * p.k_w + kx) * p.out_c;
            if (m == 1) {
              for (int32_t c = 0; c < p.out_c; ++c) o[c] += ip[c] * w[c];
            } else {
              for (int32_t c = 0; c < p.in_c; ++c)
                for (int32_t j = 0; j < m; ++j) o[c * m + j] += ip[c] * w[c * m + j];
            }
          }
        }
        clamp_row(o, p.out_c, p.act);
      }
    }
  }
}

struct TransposeConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  Clamp<float> act;
};

// Scatter form: each input pixel adds its contribution to a k_h x k_w window of outputs.
inline void transpose_conv2d_f32(const TransposeConvParams& p, const float* in,
                                 const float* filter, const float* bias, float* out) {
  const int64_t out_pixels = int64_t{p.batch} * p.out_h * p.out_w;
  for (int64_t i = 0; i < out_pixels; ++i) init_bias(out + i * p.out_c, bias, p.out_c);
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t iy = 0; iy < p.in_h; ++iy) {
      for (int32_t ix = 0; ix < p.in_w; ++ix) {
        const float* ip = in + ((int64_t{b} * p.in_h + iy) * p.in_w + ix) * p.in_c;
        for (int32_t ky = 0; ky < p.k_h; ++ky) {
          const int32_t oy = iy * p.stride_h - p.pad_top + ky;
          if (oy < 0 || oy >= p.out_h) continue;
          for (int32_t kx = 0; kx < p.k_w; ++kx) {
            const int32_t ox = ix * p.stride_w - p.pad_left + kx;
            if (ox < 0 || ox >= p.out_w) continue;
            float* o = out + ((int64_t{b} * p.out_h + oy) * p.out_w + ox) * p.out_c;
            const float* w = filter + (int64_t{ky} * p.k_w + kx) * p.in_c * p.out_c;
            for (int32_t ci = 0; ci < p.in_c; ++ci) {
              const float x = ip[ci];
              const float* wr = w + int64_t{ci} * p.out_c;
              for (int32_t co = 0; co < p.out_c; ++co) o[co] += x * wr[co];
            }
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < out_pixels; ++i) clamp_row(out + i * p.out_c, p.out_c, p.act);
}

// ---- SIMD paths (simd_kernels.h); filters packed in 16-column panels ----------------
// Each splits its output rows into tasks for the caller's parallel-for (parallel.h).

// res (here and below): the other operand of a residual ADD fused into the epilogue
// (same shape as out), or null.

// 1x1, stride 1, no padding: the input is already the GEMM's A ([pixels][in_c]).
// packed: floats, or float16 weights (uint16_t; simd_kernels.h: load_b), here and in
// conv2d_implicit_f32.
// kDepth: params.h, GemmDepth.
template <GemmDepth kDepth = GemmDepth::kShallow, class B>
inline void conv2d_1x1_f32(const Parallel& par, const ConvParams& p, const float* in,
                           const B* packed, const float* bias, const float* res, float* out) {
  const GemmParams g{p.batch * p.out_h * p.out_w, p.out_c, p.in_c, p.in_c, p.out_c, p.act, p.post,
                     res, p.out_c, p.res_act, 0, p.slope, out};
  gemm_f32<kDepth>(par, g, in, packed, bias, out);
}

// The same with the input scaled per channel first (x * scale[c], e.g. a squeeze-excite
// gate): the scale goes into the weights instead, [in_c][out_c] products into scratch
// (ceil(out_c / 16) * 16 * in_c floats) in place of a pass over the whole input. packed:
// floats or float16 weights, as conv2d_1x1_f32's; the scaled copy is float.
template <class B>
inline void conv2d_1x1_scaled_f32(const Parallel& par, const ConvParams& p, const float* in,
                                  const B* packed, const float* scale, const float* bias,
                                  const float* res, float* out, float* scratch) {
  const int32_t panels = (p.out_c + 15) / 16;
  scale_panel_rows_f32(panels, p.in_c, packed, scale, scratch);
  conv2d_1x1_f32(par, p, in, scratch, bias, res, out);
}

// Any other ungrouped conv: implicit GEMM (simd_kernels.h). koff: the offset of each
// (ky, kx, ci) tap from a window's origin in the input; band_koff: the same in a padded band
// (or null: no band); scratch: kMaxMR * k_h * k_w * in_c floats per task, or the band's.
template <int kRS = 0, class B>  // kRS: stride_w * in_c as a constant, or 0 (simd_kernels.h: WindowAK)
inline void conv2d_implicit_f32(const Parallel& par, const ConvParams& p, const float* in,
                                const B* packed, const float* bias, const int32_t* koff,
                                const int32_t* band_koff, const float* res, float* out, float* scratch) {
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int64_t macs = rows * p.out_w * p.out_c * p.k_h * p.k_w * p.in_c;
  parallel_ranges(par, rows, macs, [&](int32_t t, int64_t r0, int64_t r1) {
    float* own = par.scratch(scratch, t);
    DLCODER_RT_DISPATCH(conv2d_implicit, std::integral_constant<int, kRS>{}, p, in, packed, bias, koff, band_koff, res,
                        out, own, r0, r1)
  });
}

// A 3x3 stride-1 conv as Winograd F(4x4, 3x3) (simd_winograd.h), in blocks of at most
// `block` tiles. filter: [ceil(out_c / 32)][in_c][3][3][32], zero padded; bias padded to whole panels; res: a fused residual or null.
// Split into (tile block, 32 output channels) units. scratch: conv2d_winograd's, per task.
inline void conv2d_f32_winograd(const Parallel& par, const ConvParams& p, int32_t block, const float* in,
                                const float* filter, const float* bias, const float* res, float* out,
                                float* scratch) {
  const int64_t tiles = int64_t{p.batch} * ((p.out_h + 3) / 4) * ((p.out_w + 3) / 4);
  const int64_t chunks = (p.out_c + kWinoMaxGroup - 1) / kWinoMaxGroup;
  const int64_t macs = tiles * 36 * p.in_c * p.out_c;
  // Too few units to go round the threads (a small map, few outputs): smaller blocks. A
  // tile's outputs do not depend on the block it is computed in.
  const int64_t tasks = task_count(par, tiles * chunks, macs);
  const int64_t blocks = std::max((tiles + block - 1) / block, (tasks + chunks - 1) / chunks);
  const int64_t units = blocks * chunks;
  parallel_ranges(par, units, macs, [&](int32_t t, int64_t u0, int64_t u1) {
    float* own = par.scratch(scratch, t);
    DLCODER_RT_DISPATCH(conv2d_winograd, p, in, filter, bias, res, out, own, block, tiles, blocks, u0, u1)
  });
}

// An ungrouped conv with out_c < 16 (kOC) that is not 1x1: tiles only as wide as its
// channels (simd_kernels.h: conv2d_narrow). pairs: the filter as conv2d_pairs reads it, or
// null (out_c > 8 or dil_w > 1), and kRun its k_w * in_c as a constant; koff: tap offsets
// in the padded rows; scratch: k_h * ((out_w - 1) * stride_w + (k_w - 1) * dil_w + 1) * in_c
// floats per task.
template <int kOC, int kRun = 0>
inline void conv2d_narrow_f32(const Parallel& par, const ConvParams& p, const float* in, const float* packed,
                              const float* pairs, const float* bias, const int32_t* koff, float* out,
                              float* scratch) {
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int64_t macs = rows * p.out_w * kOC * p.k_h * p.k_w * p.in_c;
  parallel_ranges(par, rows, macs, [&](int32_t t, int64_t r0, int64_t r1) {
    float* own = par.scratch(scratch, t);
    DLCODER_RT_DISPATCH(conv2d_narrow<kOC>, std::integral_constant<int, kRun>{}, p, in, packed, pairs, bias, koff, out, own, r0, r1)
  });
}

// What the generator knows of a depthwise layer (ops/conv.py: depthwise_spec), as template
// arguments so that simd_depthwise.h instantiates, per ISA, only the unrolled variants the
// layer reaches (each costs once per ISA: 5 times on x86). Two models in one program each
// name their own DwSpec: no macro, no ODR clash. A field at its default (0, or kWhole false,
// kWide true) leaves the choice to the params at run time and keeps every case; DwSpec<> is
// the generic kernel.
//   kK:     3 or 5 for a kK x kK kernel; -1: another size (no unrolled interior)
//   kS:     1 or 2: stride_w, with dil_w 1; -1: another stride or dilation
//   kRows:  bit kh set for each count kh of window rows inside the input that an output row
//           has (3x3 SAME: 2 and 3, so no 1-row variant); 0: any
//   kWhole: out_c is a multiple of 16, so no ISA ever has a partial channel block
//   kWide:  out_c >= kWideChannels, so rows may take dwconv_interior_wide
template <int K = 0, int S = 0, unsigned Rows = 0, bool Whole = false, bool Wide = true>
struct DwSpec {
  static constexpr int kK = K, kS = S;
  static constexpr unsigned kRows = Rows;
  static constexpr bool kWhole = Whole, kWide = Wide;
  // rows two at a time (simd_depthwise.h: dwconv_pairs) need stride 1 and a 3x3 or 5x5 kernel
  static constexpr bool kPairs = (kS == 0 || kS == 1) && kK != -1;
  // the stride the unrolled kernels take: 1 or 2 (dilation 1), else 0
  static int stride(const DepthwiseParams& p) {
    if constexpr (kS != 0) return kS > 0 ? kS : 0;
    return p.dil_w == 1 && (p.stride_w == 1 || p.stride_w == 2) ? p.stride_w : 0;
  }
  // whether a layer may take the interior of stride s (1, 2; -1: any other)
  static constexpr bool allows_stride(int s) { return kS == 0 || kS == s; }
  // whether a layer may take the interior of a kw x kw kernel with kh rows inside the input
  static constexpr bool allows_rows(int kh, int kw) {
    return (kK == 0 || kK == kw) && (kRows == 0 || ((kRows >> kh) & 1u) != 0);
  }
};

// depth_multiplier 1.
template <class Spec = DwSpec<>>
inline void depthwise_conv2d_f32_simd(const Parallel& par, const DepthwiseParams& p, const float* in,
                                      const float* filter, const float* bias, float* out) {
  const int64_t rows = int64_t{p.batch} * p.out_h;
  const int64_t macs = rows * p.out_w * p.out_c * p.k_h * p.k_w;
  parallel_ranges(par, rows, macs, [&](int32_t, int64_t r0, int64_t r1) {
    DLCODER_RT_DISPATCH(depthwise_conv2d, Spec{}, p, in, filter, bias, out, r0, r1)
  });
}

// A depthwise convolution with the 1x1 convolution before it (pw) and/or after it (pj)
// fused, `steps.rows` rows at a time (simd_depthwise.h: conv_chain_rows); pw or pj may be
// null. Each task has its own ring in its scratch. B: the 1x1 filters' panels, float or
// uint16_t (float16). row_at: the run-time ISA's dwconv_row_at for the depthwise stage
// (dw_row_fn), the only part that depends on its DwSpec; head: null, or the run-time ISA's
// conv_rows_at when pw is a KxK conv (conv_rows_fn), with its tap offsets koff, band_koff.
template <class B>
inline void conv_chain_rows_f32(const Parallel& par, scalar::DwRowFn row_at, scalar::ConvRowsFn<B> head,
                                const int32_t* koff, const int32_t* band_koff, const ConvParams* pw,
                                const DepthwiseParams& dw, const ConvParams* pj, const float* in, const B* pw_packed,
                                const float* pw_bias, const float* dw_filter, const float* dw_bias, const B* pj_packed,
                                const float* pj_bias, const float* res, float* out, float* scratch, ChainSteps steps) {
  const int64_t rows = int64_t{dw.batch} * dw.out_h;
  int64_t macs = rows * dw.out_w * dw.out_c * dw.k_h * dw.k_w;
  if (pw != nullptr) macs += int64_t{pw->batch} * pw->out_h * pw->out_w * pw->k_h * pw->k_w * pw->in_c * pw->out_c;
  if (pj != nullptr) macs += int64_t{pj->batch} * pj->out_h * pj->out_w * pj->in_c * pj->out_c;
  // Splitting rows makes every task expand the rows its first window shares with the task
  // before it: (k_h - stride) rows a task, which on a 7-row map is most of the work. A chain
  // without a projection or a KxK head can split channels instead (16 at a time), with no
  // repeated work.
  const int32_t panels = (dw.out_c + 15) / 16;
  const int32_t tasks = task_count(par, rows, macs);
  if (pj == nullptr && head == nullptr && tasks > 1 && panels >= 2 * tasks && dw.out_h < 8 * tasks * dw.k_h) {
    parallel_ranges(par, panels, macs, [&](int32_t t, int64_t q0, int64_t q1) {
      float* own = par.scratch(scratch, t);
      const int32_t c_lo = static_cast<int32_t>(q0 * 16), c_hi = static_cast<int32_t>(std::min<int64_t>(q1 * 16, dw.out_c));
      DLCODER_RT_DISPATCH(conv_chain_rows, row_at, head, koff, band_koff, pw, dw, pj, in, pw_packed, pw_bias, dw_filter,
                          dw_bias, pj_packed, pj_bias, res, out, own, steps, 0, rows, c_lo, c_hi)
    });
    return;
  }
  parallel_ranges(par, rows, macs, [&](int32_t t, int64_t r0, int64_t r1) {
    float* own = par.scratch(scratch, t);
    DLCODER_RT_DISPATCH(conv_chain_rows, row_at, head, koff, band_koff, pw, dw, pj, in, pw_packed, pw_bias, dw_filter,
                        dw_bias, pj_packed, pj_bias, res, out, own, steps, r0, r1, 0, dw.out_c)
  });
}


// The run-time ISA's dwconv_row_at<Spec>.
template <class Spec>
inline scalar::DwRowFn dw_row_fn(Spec spec) {
  DLCODER_RT_DISPATCH(dw_row_fn, spec)
}

// conv_chain_rows_f32 for a depthwise stage of DwSpec Spec. B is named by the caller (a
// null filter tells no type: std::common_type_t keeps B out of deduction).
template <class B = float, class Spec = DwSpec<>>
inline void conv_chain_f32(const Parallel& par, const ConvParams* pw, const DepthwiseParams& dw,
                           const ConvParams* pj, const float* in, const std::common_type_t<B>* pw_packed,
                           const float* pw_bias, const float* dw_filter, const float* dw_bias,
                           const std::common_type_t<B>* pj_packed, const float* pj_bias, const float* res, float* out,
                           float* scratch, ChainSteps steps) {
  conv_chain_rows_f32<B>(par, dw_row_fn(Spec{}), nullptr, nullptr, nullptr, pw, dw, pj, in, pw_packed, pw_bias,
                         dw_filter, dw_bias, pj_packed, pj_bias, res, out, scratch, steps);
}

// The run-time ISA's conv_rows_at<kRS, B>.
template <int kRS, class B>
inline scalar::ConvRowsFn<B> conv_rows_fn() {
  DLCODER_RT_DISPATCH(conv_rows_fn, std::integral_constant<int, kRS>{}, static_cast<const B*>(nullptr))
}

// conv_chain_f32 whose pw is a KxK conv (ops/fused.py), run by conv2d_implicit_f32's kernel
// (kRS, koff and band_koff as there); scratch: the chain's, then the conv's.
template <int kRS, class B = float, class Spec = DwSpec<>>
inline void conv_chain_kxk_f32(const Parallel& par, const ConvParams* pw, const DepthwiseParams& dw,
                               const ConvParams* pj, const float* in, const std::common_type_t<B>* pw_packed,
                               const float* pw_bias, const int32_t* koff, const int32_t* band_koff,
                               const float* dw_filter, const float* dw_bias, const std::common_type_t<B>* pj_packed,
                               const float* pj_bias, const float* res, float* out, float* scratch, ChainSteps steps) {
  conv_chain_rows_f32<B>(par, dw_row_fn(Spec{}), conv_rows_fn<kRS, B>(), koff, band_koff, pw, dw, pj, in, pw_packed,
                         pw_bias, dw_filter, dw_bias, pj_packed, pj_bias, res, out, scratch, steps);
}

}  // namespace dlcoder_rt
