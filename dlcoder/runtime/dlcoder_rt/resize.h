// Image resizing on NHWC tensors: RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (float32,
// uint8, int8, int16).
// The generator computes, per output row and per output column, which input rows/columns
// are read (and with what weight) exactly as TFLite's kernels do, and passes those tables;
// the kernels only walk the output and combine the tabled inputs.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/simd.h"
#include "dlcoder_rt/simd_qnearest.h"
#include "dlcoder_rt/simd_qresize.h"

namespace dlcoder_rt {

struct ResizeParams {
  int32_t batches;
  int32_t in_h, in_w;
  int32_t out_h, out_w;
  int32_t depth;
};

// out[b][y][x][:] = in[b][ys[y]][xs[x]][:]. float goes to the SIMD kernel
// (simd_resize.h), the other types are copied as bytes (simd_qnearest.h).
template <typename T>
inline void resize_nearest(const ResizeParams& p, const int32_t* ys, const int32_t* xs,
                           const T* in, T* out) {
  if constexpr (std::is_same<T, float>::value) {
    DLCODER_RT_DISPATCH(resize_nearest_f32, p, ys, xs, in, out)
  } else {
    qnearest::nearest_bytes(p, ys, xs, reinterpret_cast<const uint8_t*>(in), reinterpret_cast<uint8_t*>(out),
                            int64_t{p.depth} * static_cast<int64_t>(sizeof(T)));
  }
}

// One axis of a bilinear resize: output i reads input lo[i] with weight 1 - frac[i] and
// hi[i] with weight frac[i] (frac may fall outside [0, 1] where TFLite clamps lo/hi).
struct ResizeAxis {
  const int32_t* lo;
  const int32_t* hi;
  const float* frac;
};

// Which float kernel a bilinear resize runs (simd_resize.h), picked by the generator
// (ops/spatial.py: _bilinear_path):
// - kTwice: a plain 2x upsample (no align_corners, no half-pixel centres), which TFLite's
//   builtin (optimized) kernel computes as a copy and averages, (a + b) / 2 and
//   ((a + c) / 2 + (b + d) / 2) / 2, so that an inf next to it spreads (and a + b may
//   overflow) but an inf weighted 0 does not make NaN;
// - kGeneral: TFLite's general case, the four corners times their weight products summed
//   in (y0, x0), (y0, x1), (y1, x0), (y1, x1) order, where a weight of 0 does give
//   inf * 0 = NaN and the products keep 1.25 x finite; both by channel vectors;
// - kFlatRows: the same interpolation for at most 16 channels, by whole output rows
//   interpolated along x once per input row (rounded differently, same infinities); a
//   half-pixel upsample's clamped first rows and columns (weights outside [0, 1]) in
//   kGeneral's order.
enum class BilinearPath { kTwice, kGeneral, kFlatRows };

template <BilinearPath kPath>
inline void resize_bilinear_f32(const ResizeParams& p, const ResizeAxis& ay, const ResizeAxis& ax,
                                const float* in, float* out) {
  if constexpr (kPath == BilinearPath::kTwice) {
    DLCODER_RT_DISPATCH(resize_bilinear_twice, p, ay, ax, in, out)
  } else if constexpr (kPath == BilinearPath::kGeneral) {
    DLCODER_RT_DISPATCH(resize_bilinear_general, p, ay, ax, in, out)
  } else {
    DLCODER_RT_DISPATCH(resize_bilinear_flat_rows, p, ay, ax, in, out)
  }
}

// uint8 as TFLite's optimized kernel (ResizeBilinearGenericSmallChannel), which the
// interpreter runs for uint8 whatever the size (no 2x special case): the float tables
// above, the four corner weights as products in float32, the corners times their weights
// summed left to right in float32 with 0.5f, truncated. No requantization: TFLite leaves
// the output's quantization to equal the input's and does not look at it.
inline void resize_bilinear_u8(const ResizeParams& p, const ResizeAxis& ay, const ResizeAxis& ax,
                               const uint8_t* in, uint8_t* out) {
  // a, b, c, d: the corners (y0, x0), (y0, x1), (y1, x0), (y1, x1)
  qresize::for_each_pixel(p, ay, ax, in, out,
                          [&](const uint8_t* a, const uint8_t* b, const uint8_t* c, const uint8_t* d, float dy,
                              float dx, uint8_t* o) {
                            const float s00 = (1 - dy) * (1 - dx), s01 = (1 - dy) * dx, s10 = dy * (1 - dx),
                                        s11 = dy * dx;
                            for (int32_t k = 0; k < p.depth; ++k) {
                              const float v = static_cast<float>(a[k]) * s00 + static_cast<float>(b[k]) * s01 +
                                              static_cast<float>(c[k]) * s10 + static_cast<float>(d[k]) * s11 +
                                              0.5f;
                              o[k] = static_cast<uint8_t>(static_cast<int32_t>(v));
                            }
                          });
}

// int8 and int16 as TFLite's reference kernel (ResizeBilinearInteger): coordinates in
// 1/1024 units (ResizeAxisQ::frac is the position past `lo` in those units), products
// summed in 2^20 units, rounded half away from zero. No requantization, as for uint8.
struct ResizeAxisQ {
  const int32_t* lo;
  const int32_t* hi;
  const int32_t* frac;
};

template <typename T>
inline void resize_bilinear_integer(const ResizeParams& p, const ResizeAxisQ& ay,
                                    const ResizeAxisQ& ax, const T* in, T* out) {
  constexpr int64_t kOne = 1 << 10;
  qresize::for_each_pixel(p, ay, ax, in, out,
                          [&](const T* r00, const T* r01, const T* r10, const T* r11, int64_t dy, int64_t dx,
                              T* o) {
                            for (int32_t c = 0; c < p.depth; ++c) {
                              const int64_t sum = r00[c] * (kOne - dy) * (kOne - dx) + r10[c] * dy * (kOne - dx) +
                                                  r01[c] * (kOne - dy) * dx + r11[c] * dy * dx;
                              const int64_t half = sum > 0 ? (1 << 19) : -(1 << 19);
                              o[c] = static_cast<T>((sum + half) / (1 << 20));
                            }
                          });
}

inline void resize_bilinear_i8(const ResizeParams& p, const ResizeAxisQ& ay, const ResizeAxisQ& ax,
                               const int8_t* in, int8_t* out) {
  if (qresize::bilinear_i8(p, ay, ax, in, out)) return;  // vector code (simd_qresize.h)
  resize_bilinear_integer<int8_t>(p, ay, ax, in, out);
}

inline void resize_bilinear_i16(const ResizeParams& p, const ResizeAxisQ& ay, const ResizeAxisQ& ax,
                                const int16_t* in, int16_t* out) {
  resize_bilinear_integer<int16_t>(p, ay, ax, in, out);
}

}  // namespace dlcoder_rt
