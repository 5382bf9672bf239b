// RFFT2D (numpy's rfft2 over the two innermost dims, cropped or zero-padded to
// fft_length) and the complex helpers COMPLEX_ABS, REAL, IMAG.
//
// Each [h, w] slice: a complex FFT of every row (real input, length fft_w, keeping the
// fft_w/2 + 1 non-negative frequencies), then of every remaining column (length fft_h).
// Power-of-two lengths use an iterative radix-2 FFT, others a direct DFT. Arithmetic is
// in double, like TFLite's kernel, and twiddles come precomputed from the generator.
#pragma once

#include "dlcoder_rt/common.h"
#include "dlcoder_rt/complex64.h"

namespace dlcoder_rt {

struct Rfft2dParams {
  int64_t batch;             // number of [in_h, in_w] slices
  int32_t in_h, in_w;
  int32_t fft_h, fft_w;
};

// In-place complex FFT of n points (re/im interleaved doubles); tw holds
// exp(-2 pi i k / n) for k < n / 2 when n is a power of two.
inline void fft_inplace(double* x, int32_t n, const double* tw, double* work) {
  if (n <= 1) return;
  if ((n & (n - 1)) != 0) {  // direct DFT
    for (int32_t k = 0; k < n; ++k) {
      double re = 0, im = 0;
      for (int32_t t = 0; t < n; ++t) {
        const double a = -6.283185307179586476925 * static_cast<double>(int64_t{k} * t % n) / n;
        re += x[2 * t] * std::cos(a) - x[2 * t + 1] * std::sin(a);
        im += x[2 * t] * std::sin(a) + x[2 * t + 1] * std::cos(a);
      }
      work[2 * k] = re;
      work[2 * k + 1] = im;
    }
    std::memcpy(x, work, sizeof(double) * 2 * n);
    return;
  }
  for (int32_t i = 1, j = 0; i < n; ++i) {  // bit reversal
    int32_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      std::swap(x[2 * i], x[2 * j]);
      std::swap(x[2 * i + 1], x[2 * j + 1]);
    }
  }
  for (int32_t len = 2; len <= n; len <<= 1) {
    const int32_t step = n / len;
    for (int32_t s = 0; s < n; s += len) {
      for (int32_t k = 0; k < len / 2; ++k) {
        const double wr = tw[2 * k * step], wi = tw[2 * k * step + 1];
        double* a = x + 2 * (s + k);
        double* b = x + 2 * (s + k + len / 2);
        // twiddle 1 (k = 0): b itself, which is what the products give for finite b, but
        // inf * 0 would make NaN where TFLite's FFT has none
        const double br = k == 0 ? b[0] : b[0] * wr - b[1] * wi;
        const double bi = k == 0 ? b[1] : b[0] * wi + b[1] * wr;
        b[0] = a[0] - br;
        b[1] = a[1] - bi;
        a[0] += br;
        a[1] += bi;
      }
    }
  }
}

// scratch: 2 * (fft_h * (fft_w / 2 + 1) + 2 * (fft_w + fft_h)) doubles.
inline void rfft2d(const Rfft2dParams& p, const float* in, const double* tw_w, const double* tw_h,
                   Complex64* out, double* scratch) {
  const int32_t cols = p.fft_w / 2 + 1;
  double* spec = scratch;                               // [fft_h][cols] complex
  double* row = spec + 2 * int64_t{p.fft_h} * cols;      // [fft_w] complex
  double* col = row + 2 * int64_t{p.fft_w};               // [fft_h] complex
  double* work = col + 2 * int64_t{p.fft_h};              // [max(fft_w, fft_h)] complex
  for (int64_t b = 0; b < p.batch; ++b) {
    const float* x = in + b * p.in_h * p.in_w;
    for (int32_t r = 0; r < p.fft_h; ++r) {
      for (int32_t c = 0; c < p.fft_w; ++c) {
        row[2 * c] = (r < p.in_h && c < p.in_w) ? x[int64_t{r} * p.in_w + c] : 0.0;
        row[2 * c + 1] = 0.0;
      }
      fft_inplace(row, p.fft_w, tw_w, work);
      std::memcpy(spec + 2 * int64_t{r} * cols, row, sizeof(double) * 2 * cols);
    }
    for (int32_t c = 0; c < cols; ++c) {
      for (int32_t r = 0; r < p.fft_h; ++r) {
        col[2 * r] = spec[2 * (int64_t{r} * cols + c)];
        col[2 * r + 1] = spec[2 * (int64_t{r} * cols + c) + 1];
      }
      fft_inplace(col, p.fft_h, tw_h, work);
      Complex64* o = out + b * p.fft_h * cols + c;
      for (int32_t r = 0; r < p.fft_h; ++r)
        o[int64_t{r} * cols] = Complex64{static_cast<float>(col[2 * r]), static_cast<float>(col[2 * r + 1])};
    }
  }
}

inline void complex_abs(int64_t n, const Complex64* in, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::hypot(in[i].re, in[i].im);
}

inline void complex_part(int64_t n, const Complex64* in, float* out, bool imag) {
  for (int64_t i = 0; i < n; ++i) out[i] = imag ? in[i].im : in[i].re;
}

}  // namespace dlcoder_rt
