// Image resizing on NHWC tensors: RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (float32, int8).
// The generator computes, per output row and per output column, which input rows/columns
// are read (and with what weight) exactly as TFLite's kernels do, and passes those tables;
// the kernels only walk the output and combine the tabled inputs.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

struct ResizeParams {
  int32_t batches;
  int32_t in_h, in_w;
  int32_t out_h, out_w;
  int32_t depth;
};

// out[b][y][x][:] = in[b][ys[y]][xs[x]][:].
template <typename T>
inline void resize_nearest(const ResizeParams& p, const int32_t* ys, const int32_t* xs,
                           const T* in, T* out) {
  const int64_t row = int64_t{p.in_w} * p.depth;
  for (int32_t b = 0; b < p.batches; ++b) {
    const T* image = in + b * (p.in_h * row);
    for (int32_t y = 0; y < p.out_h; ++y)
      for (int32_t x = 0; x < p.out_w; ++x, out += p.depth)
        std::memcpy(out, image + ys[y] * row + int64_t{xs[x]} * p.depth, sizeof(T) * p.depth);
  }
}

// One axis of a bilinear resize: output i reads input lo[i] with weight 1 - frac[i] and
// hi[i] with weight frac[i] (frac may fall outside [0, 1] where TFLite clamps lo/hi).
struct ResizeAxis {
  const int32_t* lo;
  const int32_t* hi;
  const float* frac;
};

// TFLite's reference formula, term by term in the same order.
inline void resize_bilinear_f32(const ResizeParams& p, const ResizeAxis& ay, const ResizeAxis& ax,
                                const float* in, float* out) {
  const int64_t row = int64_t{p.in_w} * p.depth;
  for (int32_t b = 0; b < p.batches; ++b) {
    const float* image = in + b * (p.in_h * row);
    for (int32_t y = 0; y < p.out_h; ++y) {
      const float* r0 = image + ay.lo[y] * row;
      const float* r1 = image + ay.hi[y] * row;
      const float dy = ay.frac[y];
      for (int32_t x = 0; x < p.out_w; ++x, out += p.depth) {
        const int64_t c0 = int64_t{ax.lo[x]} * p.depth, c1 = int64_t{ax.hi[x]} * p.depth;
        const float dx = ax.frac[x];
        for (int32_t c = 0; c < p.depth; ++c)
          out[c] = r0[c0 + c] * (1 - dy) * (1 - dx) + r1[c0 + c] * dy * (1 - dx) +
                   r0[c1 + c] * (1 - dy) * dx + r1[c1 + c] * dy * dx;
      }
    }
  }
}

// int8 as TFLite's reference kernel: coordinates in 1/1024 units (ResizeAxisQ::frac is the
// position past `lo` in those units), products summed in 2^20 units, rounded half away
// from zero.
struct ResizeAxisQ {
  const int32_t* lo;
  const int32_t* hi;
  const int32_t* frac;
};

inline void resize_bilinear_i8(const ResizeParams& p, const ResizeAxisQ& ay, const ResizeAxisQ& ax,
                               const int8_t* in, int8_t* out) {
  constexpr int64_t kOne = 1 << 10;
  const int64_t row = int64_t{p.in_w} * p.depth;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t* image = in + b * (p.in_h * row);
    for (int32_t y = 0; y < p.out_h; ++y) {
      const int8_t* r0 = image + ay.lo[y] * row;
      const int8_t* r1 = image + ay.hi[y] * row;
      const int64_t dy = ay.frac[y];
      for (int32_t x = 0; x < p.out_w; ++x, out += p.depth) {
        const int64_t c0 = int64_t{ax.lo[x]} * p.depth, c1 = int64_t{ax.hi[x]} * p.depth;
        const int64_t dx = ax.frac[x];
        for (int32_t c = 0; c < p.depth; ++c) {
          const int64_t sum = r0[c0 + c] * (kOne - dy) * (kOne - dx) + r1[c0 + c] * dy * (kOne - dx) +
                              r0[c1 + c] * (kOne - dy) * dx + r1[c1 + c] * dy * dx;
          const int64_t half = sum > 0 ? (1 << 19) : -(1 << 19);
          out[c] = static_cast<int8_t>((sum + half) / (1 << 20));
        }
      }
    }
  }
}

}  // namespace dlcoder_rt
