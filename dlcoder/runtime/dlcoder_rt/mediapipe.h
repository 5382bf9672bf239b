// MediaPipe's custom ops (mediapipe/util/tflite/operations/*.cc), float32:
// MaxPoolingWithArgmax2D and MaxUnpooling2D (NHWC), Landmarks2TransformMatrix,
// TransformLandmarks and TransformTensorBilinear. (Convolution2DTransposeBias runs on
// conv.h's transpose_conv2d_f32.)
// The indices are MediaPipe's: a float32 tensor holding, per pooled value, the position of
// the maximum inside its window (ky * k_w + kx) plus 0.1, so that the unpooling's
// float -> int conversion truncates back to the position whatever the rounding.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

// The window geometry of both ops. Pooling reads in (batch, in_h, in_w, channels) and
// writes out_h x out_w windows; unpooling reads the pooled tensor as `in` and writes back
// the out_h x out_w image the windows came from.
struct ArgmaxPoolParams {
  int32_t batch, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
};

// The window is clipped to the image; the first maximum in row-major window order wins
// (strictly greater replaces), as in MediaPipe's MaxPoolArgmax.
inline void max_pool_argmax_f32(const ArgmaxPoolParams& p, const float* in, float* out,
                                float* indices) {
  for (int32_t b = 0; b < p.batch; ++b) {
    const float* image = in + int64_t{b} * p.in_h * p.in_w * p.channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const int32_t ky0 = std::max(0, -y0), ky1 = std::min(p.k_h, p.in_h - y0);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const int32_t kx0 = std::max(0, -x0), kx1 = std::min(p.k_w, p.in_w - x0);
        for (int32_t c = 0; c < p.channels; ++c) {
          float best = std::numeric_limits<float>::lowest();
          int32_t at = 0;
          for (int32_t ky = ky0; ky < ky1; ++ky)
            for (int32_t kx = kx0; kx < kx1; ++kx) {
              const float v = image[((int64_t{y0} + ky) * p.in_w + x0 + kx) * p.channels + c];
              if (v > best) {
                best = v;
                at = ky * p.k_w + kx;
              }
            }
          *out++ = best;
          *indices++ = static_cast<float>(at) + 0.1f;
        }
      }
    }
  }
}

// Zeros, then each pooled value written back where its index says its maximum was. An
// index outside the window or the image (a corrupt or foreign index tensor) is skipped.
inline void max_unpool_f32(const ArgmaxPoolParams& p, const float* in, const float* indices,
                           float* out) {
  std::fill(out, out + int64_t{p.batch} * p.out_h * p.out_w * p.channels, 0.0f);
  for (int32_t b = 0; b < p.batch; ++b) {
    float* image = out + int64_t{b} * p.out_h * p.out_w * p.channels;
    for (int32_t iy = 0; iy < p.in_h; ++iy)
      for (int32_t ix = 0; ix < p.in_w; ++ix)
        for (int32_t c = 0; c < p.channels; ++c, ++in, ++indices) {
          if (!(*indices >= 0.0f && *indices < static_cast<float>(p.k_h * p.k_w))) continue;
          const int32_t at = static_cast<int32_t>(*indices);
          const int32_t y = iy * p.stride_h - p.pad_top + at / p.k_w;
          const int32_t x = ix * p.stride_w - p.pad_left + at % p.k_w;
          if (y < 0 || y >= p.out_h || x < 0 || x >= p.out_w) continue;
          image[(int64_t{y} * p.out_w + x) * p.channels + c] = *in;
        }
  }
}

// ---- face landmarks: a 4x4 row-major transform, landmarks as (x, y[, z]) points --------

// A 4x4 row-major product a * b into out (out may not alias a or b).
inline void mat4_mul(const float* a, const float* b, float* out) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      float sum = 0.0f;
      for (int k = 0; k < 4; ++k) sum += a[r * 4 + k] * b[k * 4 + c];
      out[r * 4 + c] = sum;
    }
}

// Landmarks2TransformMatrix (version 2). The crop is rotated so that the left -> right
// landmark line makes target_rotation with the x axis, and spans the rotated bounding box
// of the `subset` landmarks (landmarks are x, y, z triples); the matrix maps the output
// image's pixels to the input's: shift(center) * rotate * scale(box / output) *
// shift(-output / 2), as MediaPipe composes it.
struct LandmarksToMatrixParams {
  int32_t left, right, subset_count;
  float target_rotation;
  int32_t output_w, output_h;
  float scale_x, scale_y;
};

inline void landmarks_to_transform_matrix_f32(const LandmarksToMatrixParams& p,
                                              const int32_t* subset, const float* lm,
                                              float* out) {
  const float* l = lm + 3 * p.left;
  const float* r = lm + 3 * p.right;
  const float rot = p.target_rotation - std::atan2(r[1] - l[1], r[0] - l[0]);
  const float c = std::cos(rot), s = std::sin(rot);
  float lo_x = 0, lo_y = 0, hi_x = 0, hi_y = 0;
  for (int32_t i = 0; i < p.subset_count; ++i) {
    const float* q = lm + 3 * subset[i];
    const float x = c * q[0] + -s * q[1] + 0.0f, y = s * q[0] + c * q[1] + 0.0f;
    lo_x = i == 0 || x < lo_x ? x : lo_x;
    lo_y = i == 0 || y < lo_y ? y : lo_y;
    hi_x = i == 0 || x > hi_x ? x : hi_x;
    hi_y = i == 0 || y > hi_y ? y : hi_y;
  }
  const float mid_x = (lo_x + hi_x) / 2, mid_y = (lo_y + hi_y) / 2;
  const float ci = std::cos(-rot), si = std::sin(-rot);
  const float center_x = ci * mid_x + -si * mid_y + 0.0f;
  const float center_y = si * mid_x + ci * mid_y + 0.0f;
  const float sx = p.scale_x * (hi_x - lo_x) / p.output_w;
  const float sy = p.scale_y * (hi_y - lo_y) / p.output_h;
  const float a = -rot;
  const float shift[16] = {1, 0, 0, center_x, 0, 1, 0, center_y, 0, 0, 1, 0, 0, 0, 0, 1};
  const float rotate[16] = {std::cos(a), -std::sin(a), 0, 0, std::sin(a), std::cos(a), 0, 0,
                            0, 0, 1, 0, 0, 0, 0, 1};
  const float scale[16] = {sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  const float back[16] = {1, 0, 0, -(p.output_w / 2.0f), 0, 1, 0, -(p.output_h / 2.0f),
                          0, 0, 1, 0, 0, 0, 0, 1};
  float t1[16], t2[16];
  mat4_mul(shift, rotate, t1);
  mat4_mul(t1, scale, t2);
  mat4_mul(t2, back, out);
}

// TransformLandmarks: each point of `dims` (2 or 3) values gets x, y through the matrix's
// first two rows (z taken as 0, the translation times `scale`); a z is copied as it is.
struct TransformLandmarksParams {
  int32_t points, dims;
  float scale;
};

inline void transform_landmarks_f32(const TransformLandmarksParams& p, const float* lm,
                                    const float* m, float* out) {
  const float tx = m[3] * p.scale, ty = m[7] * p.scale;
  for (int32_t i = 0; i < p.points; ++i, lm += p.dims, out += p.dims) {
    const float x = lm[0], y = lm[1];
    out[0] = m[0] * x + m[1] * y + m[2] * 0.0f + tx * 1.0f;
    out[1] = m[4] * x + m[5] * y + m[6] * 0.0f + ty * 1.0f;
    if (p.dims == 3) out[2] = lm[2];
  }
}

// TransformTensorBilinear (version 2, corners aligned at pixel centers): output pixel
// (x, y) samples the input bilinearly at the matrix's image of (x + 0.5, y + 0.5) minus
// 0.5; a sample point outside [0, w - 1] x [0, h - 1] gives 0 in every channel.
struct TransformTensorParams {
  int32_t in_h, in_w, channels, out_h, out_w;
};

inline void transform_tensor_bilinear_f32(const TransformTensorParams& p, const float* in,
                                          const float* m, float* out) {
  const float x3 = m[3] + m[0] * 0.5f + m[1] * 0.5f - 0.5f;
  const float y3 = m[7] + m[4] * 0.5f + m[5] * 0.5f - 0.5f;
  const int64_t row = int64_t{p.in_w} * p.channels;
  for (int32_t oy = 0; oy < p.out_h; ++oy)
    for (int32_t ox = 0; ox < p.out_w; ++ox, out += p.channels) {
      const float fx = static_cast<float>(ox), fy = static_cast<float>(oy);
      const float tx = m[0] * fx + m[1] * fy + m[2] * 0.0f + x3 * 1.0f;
      const float ty = m[4] * fx + m[5] * fy + m[6] * 0.0f + y3 * 1.0f;
      if (!(tx >= 0.0f && tx <= p.in_w - 1 && ty >= 0.0f && ty <= p.in_h - 1)) {
        std::fill(out, out + p.channels, 0.0f);
        continue;
      }
      const int32_t x0 = static_cast<int32_t>(std::floor(tx));
      const int32_t y0 = static_cast<int32_t>(std::floor(ty));
      const float wx = tx - std::floor(tx), wy = ty - std::floor(ty);
      const bool right = x0 + 1 < p.in_w, below = y0 + 1 < p.in_h;
      const float* q11 = in + y0 * row + int64_t{x0} * p.channels;
      for (int32_t c = 0; c < p.channels; ++c) {
        const float v11 = q11[c];
        const float v21 = right ? q11[p.channels + c] : 0.0f;
        const float v12 = below ? q11[row + c] : 0.0f;
        const float v22 = right && below ? q11[row + p.channels + c] : 0.0f;
        const float upper = (1.0f - wx) * v11 + wx * v21;
        const float lower = (1.0f - wx) * v12 + wx * v22;
        out[c] = wy * lower + (1.0f - wy) * upper;
      }
    }
}

}  // namespace dlcoder_rt
