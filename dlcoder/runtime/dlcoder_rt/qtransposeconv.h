// Quantized TRANSPOSE_CONV: 8-bit activations, 8-bit weights (int8 symmetric per tensor or
// per output channel; uint8 per tensor with a zero point), int32 bias, int32 accumulators
// requantized per output channel. Two forms, the generator picks one per node
// (dlcoder/ops/qtransposeconv.py):
//
// Phases (transpose_conv2d_q_phases; simd_qtransposeconv_phases.h), when every output
// rounds half up (below). Output pixel (oy, ox) takes the taps ky = (oy + pad_top) mod
// stride_h (mod stride), kx likewise, from input rows iy = (oy + pad_top - ky) / stride_h:
// the outputs of one phase (py, px) = ((oy + pad_top) mod stride_h, (ox + pad_left) mod
// stride_w) form a stride-1 convolution of the input by the sub-kernel of taps py, py +
// stride_h, ... (qtc_phase: its geometry as a QConvParams), which the quantized CONV_2D's
// GEMM computes (simd_qlinear.h: im2col rows with the input zero point outside the input,
// vpdpbusd / vpmaddwd / sdot micro-kernels, requantized in registers and stored straight to
// every stride_w-th output pixel). No accumulator image, no scatter; int32 sums are exact
// in any order (they wrap alike), so the bytes are TFLite's. A phase without taps (kernel
// smaller than the stride) is its bias. Layout: per phase, in order py * stride_w + px, the
// weights [out_c][taps_y][taps_x][in_c] packed as CONV_2D's ([panels][kp/4][16][4], kp =
// qgemm_kp(taps * in_c)), its taps in the order of rising input row and column; bias_u and
// bias_s per phase ([phases][out_c padded to 16], the input zero point's share folded in as
// CONV_2D's); mult, shift padded to 16. Scratch (per task): A rows, kQMaxRows * kp * 2 bytes
// of the largest kp; task 0's (the node's) also holds, where the direct kernel may run, the
// input copied with its border (qtc_border). The direct kernel (AVX-512 VNNI, int8 weights,
// in_c % 4 == 0; transpose_conv_direct, on CONV_2D's direct kernel, simd_qconv_direct.h)
// skips im2col: it copies the input once into the unsigned domain with a border of the
// input zero point and reads each pixel's tap rows from that copy in place, the same
// weights and biases; measured 2-3x faster than im2col
// plus the GEMM on the benchmark's shapes (im2col was over half the time).
//
// Image (transpose_conv2d_q), otherwise. As TFLite's kernels (transpose_conv.cc, optimized
// TransposeConvV2): every input pixel's
// products with the filter are scattered into an int32 image the size of the output
// (col2im); taps that land outside the output are dropped; the bias is added; then each
// accumulator is requantized. int32 sums are exact in any order (they wrap alike), so the
// products are formed as small GEMMs (simd_qtransposeconv.h): per input row, the input
// channels are taken in pairs (x - in_zp as int16, two to an int32, the second 0 past an
// odd in_c), and per tap a tile of 4 or 8 pixels x 16..32 output channels multiplies them with
// the weights (vpmaddwd, or vpdpwssd with AVX-512 VNNI), then adds each pixel's row of
// channels where its tap lands.
//
// Layout (dlcoder/ops/qtransposeconv.py): weights int16, zero point subtracted,
// [k_h][k_w][k_pairs][out_cp][2] with out_cp = out_c rounded up to 16 (zero weights past
// out_c), k_pairs = ceil(in_c / 2) (zero weights past in_c). Scratch: the requantization
// constants (QtcRq: 3 int64 and 2 int32 arrays of out_cp), the accumulator image
// [out_h][out_w][out_cp] int32, then one input row's pairs [in_w][k_pairs] int32. With
// AVX-512 BW the requantization is vectorised too (16 channels of a pixel at a time, in
// int64), keeping each element's rounding mode.
//
// Rounding of the requantization, found by experiment against the pip build (requantize.h):
// element i (flat index, channel c) rounds half up when c < vec_channels and i < vec_elems,
// half away otherwise. int8: vec_channels = 8 * floor(out_c / 8) (TFLite's per-channel
// Quantize takes channels in NEON blocks of 8, then a scalar tail), vec_elems = all.
// uint8: vec_channels = out_c, vec_elems = 16 * floor(size / 16) (its per-tensor Quantize
// walks the flat output in blocks of 16, then a scalar tail). The phase form rounds half
// up everywhere, as CONV_2D does: it takes int8 with out_c a multiple of 8 and uint8 with
// a size that is a multiple of 16.
#pragma once

#include <cstring>

#include "dlcoder_rt/isa.h"
#include "dlcoder_rt/requantize.h"
#include "dlcoder_rt/simd_qconv_direct.h"
#include "dlcoder_rt/simd_qlinear.h"

namespace dlcoder_rt {

struct QTransposeConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t in_zp, k_pairs, out_cp;
  int32_t out_zp, lo, hi;
  int32_t vec_channels;
  int64_t vec_elems;
};

namespace qtc_scalar {
struct V {
  struct Pair {
    int32_t lo, hi;
  };
  using R = int32_t;
  static constexpr int kLanes = 1;
  static constexpr int kTileM = 4;
  static R zero() { return 0; }
  static Pair load(const int16_t* w) { return {w[0], w[1]}; }
  static Pair splat(int32_t x) { return {static_cast<int16_t>(x & 0xffff), x >> 16}; }
  static R mac(R acc, Pair w, Pair x) { return acc + w.lo * x.lo + w.hi * x.hi; }
  static void add_to(int32_t* p, R v) { *p += v; }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_scalar

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("sse2")
namespace qtc_sse2 {
struct V {
  using R = __m128i;
  static constexpr int kLanes = 4;
  static constexpr int kTileM = 4;
  static R zero() { return _mm_setzero_si128(); }
  static R load(const int16_t* w) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w)); }
  static R splat(int32_t x) { return _mm_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm_add_epi32(acc, _mm_madd_epi16(w, x)); }
  static void add_to(int32_t* p, R v) {
    __m128i* q = reinterpret_cast<__m128i*>(p);
    _mm_storeu_si128(q, _mm_add_epi32(_mm_loadu_si128(q), v));
  }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_sse2
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2")
namespace qtc_avx2 {
struct V {
  using R = __m256i;
  static constexpr int kLanes = 8;
  static constexpr int kTileM = 4;
  static R zero() { return _mm256_setzero_si256(); }
  static R load(const int16_t* w) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)); }
  static R splat(int32_t x) { return _mm256_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
  static void add_to(int32_t* p, R v) {
    __m256i* q = reinterpret_cast<__m256i*>(p);
    _mm256_storeu_si256(q, _mm256_add_epi32(_mm256_loadu_si256(q), v));
  }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_avx2
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx2")
namespace qtc_avx512 {
struct V {
  using R = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kTileM = 8;
  static R zero() { return _mm512_setzero_si512(); }
  static R load(const int16_t* w) { return _mm512_loadu_si512(w); }
  static R splat(int32_t x) { return _mm512_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x)); }
  static void add_to(int32_t* p, R v) { _mm512_storeu_si512(p, _mm512_add_epi32(_mm512_loadu_si512(p), v)); }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx512vnni,avx2")
namespace qtc_vnni {
struct V {
  using R = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kTileM = 8;
  static R zero() { return _mm512_setzero_si512(); }
  static R load(const int16_t* w) { return _mm512_loadu_si512(w); }
  static R splat(int32_t x) { return _mm512_set1_epi32(x); }
  static R mac(R acc, R w, R x) { return _mm512_dpwssd_epi32(acc, w, x); }
  static void add_to(int32_t* p, R v) { _mm512_storeu_si512(p, _mm512_add_epi32(_mm512_loadu_si512(p), v)); }
};
#include "dlcoder_rt/simd_qtransposeconv.h"
}  // namespace qtc_vnni
DLCODER_RT_TARGET_END
#endif

// Per-channel constants of the vector requantization (qdepthwise's formulation, exact in
// int64): with P = (acc << left) * mult and rs = max(-shift, 0), the half-up result is
// floor((P + add) / 2^sh), add = 2^30 + (rs > 0 ? 2^(30 + rs) : 0), sh = 31 + rs (the
// doubling high multiply's nudge and the shift's, one floor of a floor); half away is the
// same with `away` = 2^31 subtracted from P when P < -2^30 (a negative high part), where
// rs > 0 on the channels that round half away, 0 elsewhere.
struct QtcRq {
  int64_t* add;
  int64_t* sh;
  int64_t* away;
  int32_t* left;
  int32_t* mult;
};

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx2")
namespace qtc_avx512 {
// Channels c..c+7: x (shifted left) and their multipliers to the clamped outputs.
inline __m256i requantize_half(__m256i x, __m256i m, const QtcRq& rq, int32_t c, __m512i zp, __m512i lo,
                               __m512i hi) {
  __m512i prod = _mm512_mul_epi32(_mm512_cvtepi32_epi64(x), _mm512_cvtepi32_epi64(m));
  const __mmask8 below = _mm512_cmplt_epi64_mask(prod, _mm512_set1_epi64(-(int64_t{1} << 30)));
  prod = _mm512_mask_sub_epi64(prod, below, prod, _mm512_loadu_si512(rq.away + c));
  const __m512i v = _mm512_srav_epi64(_mm512_add_epi64(prod, _mm512_loadu_si512(rq.add + c)),
                                      _mm512_loadu_si512(rq.sh + c));
  return _mm512_cvtepi64_epi32(_mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(v, zp), lo), hi));
}

// Pixels [0, n) of the accumulator image (stride out_cp) to y (stride out_c).
template <typename Q>
inline void requantize_pixels(const QTransposeConvParams& p, const QtcRq& rq, const int32_t* acc, int64_t n,
                              Q* y) {
  const __m512i zp = _mm512_set1_epi64(p.out_zp), lo = _mm512_set1_epi64(p.lo), hi = _mm512_set1_epi64(p.hi);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t* a = acc + i * p.out_cp;
    Q* yp = y + i * p.out_c;
    for (int32_t c = 0; c < p.out_c; c += 16) {
      const __m512i x = _mm512_sllv_epi32(_mm512_loadu_si512(a + c), _mm512_loadu_si512(rq.left + c));
      const __m512i m = _mm512_loadu_si512(rq.mult + c);
      const __m256i r0 = requantize_half(_mm512_castsi512_si256(x), _mm512_castsi512_si256(m), rq, c, zp, lo, hi);
      const __m256i r1 = requantize_half(_mm512_extracti64x4_epi64(x, 1), _mm512_extracti64x4_epi64(m, 1), rq,
                                         c + 8, zp, lo, hi);
      const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1);
      const int32_t left = p.out_c - c;
      const __mmask16 keep = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      _mm_mask_storeu_epi8(yp + c, keep, _mm512_cvtepi32_epi8(both));
    }
  }
}
}  // namespace qtc_avx512
DLCODER_RT_TARGET_END
#endif

using QtcRowFn = void (*)(const QTransposeConvParams&, const int32_t*, int32_t, const int16_t*, int32_t*);

// The row kernel of the instruction set chosen at run time (isa.h).
inline QtcRowFn qtc_row_kernel() {
#if defined(DLCODER_RT_X86)
  switch (runtime_isa()) {
    case Isa::kAvx512:
      if (runtime_avx512bw()) return runtime_int8_dot() ? qtc_vnni::qtc_row : qtc_avx512::qtc_row;
      return qtc_avx2::qtc_row;
    case Isa::kAvx2: return qtc_avx2::qtc_row;
    case Isa::kSse2: return qtc_sse2::qtc_row;
    default: return qtc_scalar::qtc_row;
  }
#else
  return qtc_scalar::qtc_row;
#endif
}

// The per-channel constants of QtcRq from the multipliers and shifts (zeros past out_c).
inline void qtc_rq_constants(const QTransposeConvParams& p, const int32_t* mult, const int32_t* shift,
                             const QtcRq& rq) {
  for (int32_t c = 0; c < p.out_cp; ++c) {
    const int32_t sh = c < p.out_c ? shift[c] : 0;
    const int32_t rs = sh > 0 ? 0 : -sh;
    rq.left[c] = sh > 0 ? sh : 0;
    rq.mult[c] = c < p.out_c ? mult[c] : 0;
    rq.add[c] = (int64_t{1} << 30) + (rs > 0 ? int64_t{1} << (30 + rs) : 0);
    rq.sh[c] = 31 + rs;
    rq.away[c] = c >= p.vec_channels && rs > 0 ? int64_t{1} << 31 : 0;
  }
}

// NHWC input x, output y; w packed as above; bias [out_c] or nullptr; `scratch` as above.
template <typename Q>
inline void transpose_conv2d_q(const QTransposeConvParams& p, const Q* x, const int16_t* w,
                               const int32_t* bias, const int32_t* mult, const int32_t* shift, Q* y,
                               int64_t* scratch) {
  const QtcRowFn row = qtc_row_kernel();
  const int64_t pixels = int64_t{p.out_h} * p.out_w;
  const int64_t image = pixels * p.out_c;
  const QtcRq rq{scratch, scratch + p.out_cp, scratch + 2 * p.out_cp,
                 reinterpret_cast<int32_t*>(scratch + 3 * p.out_cp),
                 reinterpret_cast<int32_t*>(scratch + 3 * p.out_cp) + p.out_cp};
  int32_t* acc = rq.mult + p.out_cp;
  int32_t* pairs = acc + pixels * p.out_cp;
#if defined(DLCODER_RT_X86)
  const bool vector_rq = runtime_isa() == Isa::kAvx512 && runtime_avx512bw();
#else
  const bool vector_rq = false;
#endif
  if (vector_rq) qtc_rq_constants(p, mult, shift, rq);
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t c = 0; c < p.out_cp; ++c) acc[c] = bias && c < p.out_c ? bias[c] : 0;
    for (int64_t i = 1; i < pixels; ++i) std::memcpy(acc + i * p.out_cp, acc, sizeof(int32_t) * p.out_cp);
    const Q* xb = x + int64_t{b} * p.in_h * p.in_w * p.in_c;
    for (int32_t iy = 0; iy < p.in_h; ++iy) {
      for (int32_t ix = 0; ix < p.in_w; ++ix) {
        const Q* xp = xb + (int64_t{iy} * p.in_w + ix) * p.in_c;
        int32_t* d = pairs + int64_t{ix} * p.k_pairs;
        for (int32_t k = 0; k < p.k_pairs; ++k) {
          const int32_t lo = int32_t{xp[2 * k]} - p.in_zp;
          const int32_t hi = 2 * k + 1 < p.in_c ? int32_t{xp[2 * k + 1]} - p.in_zp : 0;
          d[k] = static_cast<int32_t>((static_cast<uint32_t>(hi) << 16) | (static_cast<uint32_t>(lo) & 0xffffu));
        }
      }
      row(p, pairs, iy, w, acc);
    }
    Q* yb = y + b * image;
    const int64_t base = b * image;
    // whole pixels before vec_elems take the vector path (its channels' rounding in `away`)
    int64_t done = 0;
    if (vector_rq) {
      const int64_t before = p.vec_elems > base ? (p.vec_elems - base) / p.out_c : 0;
      done = before < pixels ? before : pixels;
#if defined(DLCODER_RT_X86)
      qtc_avx512::requantize_pixels(p, rq, acc, done, yb);
#endif
    }
    for (int64_t i = done; i < pixels; ++i) {
      const int32_t* a = acc + i * p.out_cp;
      Q* yp = yb + i * p.out_c;
      const int64_t at = base + i * p.out_c;
      for (int32_t c = 0; c < p.out_c; ++c) {
        const bool up = c < p.vec_channels && at + c < p.vec_elems;
        yp[c] = up ? requantize<Q, Rounding::kUp>(a[c], mult[c], shift[c], p.out_zp, p.lo, p.hi)
                   : requantize<Q, Rounding::kAway>(a[c], mult[c], shift[c], p.out_zp, p.lo, p.hi);
      }
    }
  }
}

// ---- the phase form ----------------------------------------------------------------------

// Taps of a kernel of k along one axis in phase `ph` of stride s.
inline int32_t qtc_taps(int32_t k, int32_t s, int32_t ph) { return ph < k ? (k - ph + s - 1) / s : 0; }

// Phase (py, px) as a stride-1 convolution of the input (conv: out_h x out_w its output
// pixels, k_h x k_w its taps, padding such that its output pixel (i, j) is the transpose
// conv's (oy0 + i * stride_h, ox0 + j * stride_w)); k = taps * in_c and its packed kp.
struct QtcPhase {
  QConvParams conv;
  int32_t oy0, ox0, k, kp;
};

inline QtcPhase qtc_phase(const QTransposeConvParams& p, int32_t py, int32_t px) {
  const int32_t ty = qtc_taps(p.k_h, p.stride_h, py), tx = qtc_taps(p.k_w, p.stride_w, px);
  const int32_t oy0 = ((py - p.pad_top) % p.stride_h + p.stride_h) % p.stride_h;
  const int32_t ox0 = ((px - p.pad_left) % p.stride_w + p.stride_w) % p.stride_w;
  const int32_t qy = (oy0 + p.pad_top - py) / p.stride_h, qx = (ox0 + p.pad_left - px) / p.stride_w;
  const int32_t ny = oy0 < p.out_h ? (p.out_h - oy0 + p.stride_h - 1) / p.stride_h : 0;
  const int32_t nx = ox0 < p.out_w ? (p.out_w - ox0 + p.stride_w - 1) / p.stride_w : 0;
  QtcPhase f{};
  f.conv = QConvParams{p.batch, p.in_h, p.in_w, p.in_c, ny, nx, p.out_c, ty, tx, 1, 1, 1, 1,
                       ty - 1 - qy, tx - 1 - qx, p.in_zp, p.out_zp, p.lo, p.hi};
  f.oy0 = oy0;
  f.ox0 = ox0;
  f.k = ty * tx * p.in_c;
  f.kp = qgemm_kp(f.k);
  return f;
}

// The rows and columns past the input that the taps of some phase reach: the border of
// the direct kernel's padded image (ops/qtransposeconv.py: _border, the same sums).
struct QtcBorder {
  int32_t top, bottom, left, right;
};

inline QtcBorder qtc_border(const QTransposeConvParams& p) {
  QtcBorder b{0, 0, 0, 0};
  for (int32_t py = 0; py < p.stride_h; ++py) {
    for (int32_t px = 0; px < p.stride_w; ++px) {
      const QConvParams c = qtc_phase(p, py, px).conv;
      if (c.out_h > 0 && c.k_h > 0) {
        b.top = std::max(b.top, c.pad_top);
        b.bottom = std::max(b.bottom, c.out_h - 1 - c.pad_top + c.k_h - 1 - (p.in_h - 1));
      }
      if (c.out_w > 0 && c.k_w > 0) {
        b.left = std::max(b.left, c.pad_left);
        b.right = std::max(b.right, c.out_w - 1 - c.pad_left + c.k_w - 1 - (p.in_w - 1));
      }
    }
  }
  return b;
}

// The weights of phase `ph`: the panels of the phases before it come first.
template <typename W>
inline const W* phase_weights(const QTransposeConvParams& p, const W* w, int32_t ph, int32_t ocp) {
  for (int32_t q = 0; q < ph; ++q) w += int64_t{ocp} * qtc_phase(p, q / p.stride_w, q % p.stride_w).kp;
  return w;
}

// The phase loop of both kernels: tasks take (phase, batch, phase row) units, and
// row(task, phase, its weights, its epilogue args, b, i, y of its first pixel, ldy) computes
// row i of the phase in image b (its pixels every stride_w-th of an output row, ldy apart).
template <typename Q, typename W, typename Row>
inline void qtc_phase_rows(const Parallel& par, const QTransposeConvParams& p, const W* w, const int32_t* bias_u,
                           const int32_t* bias_s, const int32_t* mult, const int32_t* shift, Q* y, const Row& row) {
  const int32_t ocp = (p.out_c + kQPanel - 1) / kQPanel * kQPanel;
  const int32_t rows = (p.out_h + p.stride_h - 1) / p.stride_h;  // the most output rows of a phase
  const int64_t per_phase = int64_t{p.batch} * rows, ldy = int64_t{p.stride_w} * p.out_c;
  const int64_t macs = int64_t{p.batch} * p.in_h * p.in_w * p.k_h * p.k_w * p.in_c * ocp;
  parallel_ranges(par, p.stride_h * p.stride_w * per_phase, macs, [&](int32_t t, int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi;) {
      const int32_t ph = static_cast<int32_t>(u / per_phase);
      const QtcPhase f = qtc_phase(p, ph / p.stride_w, ph % p.stride_w);
      const W* wp = phase_weights(p, w, ph, ocp);
      const QRequantArgs args{bias_u + int64_t{ph} * ocp, bias_s + int64_t{ph} * ocp, mult, shift,
                              p.out_zp, p.lo, p.hi};
      const int64_t end = std::min(hi, (ph + 1) * per_phase);
      for (; u < end; ++u) {
        const int32_t b = static_cast<int32_t>(u % per_phase / rows), i = static_cast<int32_t>(u % rows);
        if (i >= f.conv.out_h || f.conv.out_w == 0) continue;
        row(t, f, wp, args, b, i,
            y + ((int64_t{b} * p.out_h + f.oy0 + int64_t{i} * p.stride_h) * p.out_w + f.ox0) * p.out_c, ldy);
      }
    }
  });
}

namespace qsimd {
namespace scalar {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"
}  // namespace scalar

#if defined(DLCODER_RT_X86)
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
namespace avx512vnni {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"

// ---- the direct kernel (simd_qconv_direct.h): the phase GEMM without im2col ----------
// The input is copied once with the border of qtc_border; a phase row's windows are then
// runs of its copy (stride 1, no dilation), the weights CONV_2D's packing of the phase.
template <typename Q>
inline void transpose_conv_direct(const Parallel& par, const QTransposeConvParams& p, const Q* x, const int8_t* w,
                                  const int32_t* bias_u, const int32_t* mult, const int32_t* shift, Q* y,
                                  void* scratch) {
  const QtcBorder bd = qtc_border(p);
  const int32_t rows = p.in_h + bd.top + bd.bottom, pw = p.in_w + bd.left + bd.right;
  uint8_t* img = static_cast<uint8_t*>(scratch);
  for (int32_t b = 0; b < p.batch; ++b)
    direct_pad_rows(x + int64_t{b} * p.in_h * p.in_w * p.in_c, p.in_h, p.in_w, p.in_c, bd.left, bd.right, -bd.top,
                    p.in_h + bd.bottom, p.in_zp, img + int64_t{b} * rows * pw * p.in_c);
  const int64_t width = int64_t{pw} * p.in_c;
  qtc_phase_rows(par, p, w, bias_u, bias_u, mult, shift, y,
                 [&](int32_t, const QtcPhase& f, const int8_t* wp, const QRequantArgs& args, int32_t b, int32_t i,
                     Q* yrow, int64_t ldy) {
                   const QDirectTaps t{f.conv.k_h, 1, f.conv.k_w * p.in_c / kQGroup, width, 0, p.in_c};
                   const uint8_t* src = img + (int64_t{b} * rows + i - f.conv.pad_top + bd.top) * width +
                                        int64_t{bd.left - f.conv.pad_left} * p.in_c;
                   direct_row(t, src, f.conv.out_w, wp, f.kp, args, p.out_c, yrow, ldy);
                 });
}
}  // namespace avx512vnni
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
namespace avx512 {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"
}  // namespace avx512
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
namespace avx2 {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"
}  // namespace avx2
DLCODER_RT_TARGET_END

namespace sse2 {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"
}  // namespace sse2
#endif

#if defined(DLCODER_RT_NEON)
namespace neon {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"
}  // namespace neon

DLCODER_RT_TARGET_BEGIN(DLCODER_RT_DOTPROD_TARGET)
namespace neondot {
#include "dlcoder_rt/simd_qtransposeconv_phases.h"
}  // namespace neondot
DLCODER_RT_TARGET_END
#endif
}  // namespace qsimd

// Whether the direct kernel runs: AVX-512 VNNI (qlinear_path), int8 weights, in_c % 4 == 0.
template <typename W>
inline bool qtc_direct(const QTransposeConvParams& p, const W*) {
  const QPath path = qlinear_path<W>();
  return sizeof(W) == 1 && p.in_c % kQGroup == 0 && (path == QPath::kAvx512Vnni || path == QPath::kAmx);
}

// NHWC input x, output y; w, bias_u, bias_s, mult, shift as in the header comment (W:
// int8_t, or int16_t for uint8 weights); `scratch`: task 0's A rows.
template <typename Q, typename W>
inline void transpose_conv2d_q_phases(const Parallel& par, const QTransposeConvParams& p, const Q* x, const W* w,
                                      const int32_t* bias_u, const int32_t* bias_s, const int32_t* mult,
                                      const int32_t* shift, Q* y, void* scratch) {
  if (qtc_direct(p, w)) {
#if defined(DLCODER_RT_X86)
    if constexpr (sizeof(W) == 1) return qsimd::avx512vnni::transpose_conv_direct(par, p, x, w, bias_u, mult, shift, y, scratch);
#endif
  }
  DLCODER_RT_QDISPATCH(W, transpose_conv_phases<Q>(par, p, x, w, bias_u, bias_s, mult, shift, y, scratch))
}

}  // namespace dlcoder_rt
