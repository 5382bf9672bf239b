// This core's ceilings, for the op benchmark's roofline (roofline.py): the float32 FMA rate
// of its widest vectors, the int8 dot-product rate (VNNI vpdpbusd, or Arm's sdot), and the
// rate at which a loop streams bytes through the caches and memory, at working sets from
// 4 KB to 128 MB.
//
// Built by roofline.py with `-O2 -march=native`: these are the machine's limits, not what a
// portable build reaches. Prints one JSON object.
//
// Each rate is the best of several timed repetitions, so that a preempted one does not
// count. The compute loops keep 12 independent accumulators, more than any core's FMA
// latency times its FMA ports, so that they measure throughput, not latency.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float VecF __attribute__((vector_size(kLanes * 4)));
constexpr int kChains = 12;

// An empty asm that claims to change a vector register, so the loops are not folded.
#if defined(__aarch64__)
#define OPAQUE(v) __asm__ volatile("" : "+w"(v))
#else
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))
#endif

#if defined(__AVX512VNNI__) || defined(__AVXVNNI__)
#include <immintrin.h>
#elif defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>
#endif

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best of `reps` timings of fn(), in seconds.
template <typename Fn>
double Best(int reps, Fn fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, Seconds(t0));
  }
  return best;
}

// float32 FLOP/s: kChains independent a = a * x + w chains over full vectors.
double FmaFlops() {
  const long iters = 4000000;
  VecF acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = VecF{} + static_cast<float>(c);
  VecF x = VecF{} + 0.999999f, w = VecF{} + 1e-7f;
  double s = Best(5, [&] {
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * x + w;
      OPAQUE(x);
    }
  });
  float sink = 0;
  for (int c = 0; c < kChains; ++c) sink += acc[c][0];
  std::fprintf(stderr, "(%g)\n", sink);
  return 2.0 * kLanes * kChains * iters / s;
}

// int8 multiply-accumulates per second with the dot-product instruction, 0 without one.
double DotMacs() {
  const long iters = 4000000;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  __m512i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
  __m512i x = _mm512_set1_epi8(2), w = _mm512_set1_epi8(1);
  double s = Best(5, [&] {
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], x, w);
      OPAQUE(x);
    }
  });
  int sink = 0;
  for (int c = 0; c < kChains; ++c) sink += _mm512_cvtsi512_si32(acc[c]);
  std::fprintf(stderr, "(%d)\n", sink);
  return 64.0 * kChains * iters / s;
#elif defined(__AVXVNNI__)
  __m256i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
  __m256i x = _mm256_set1_epi8(2), w = _mm256_set1_epi8(1);
  double s = Best(5, [&] {
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = _mm256_dpbusd_avx_epi32(acc[c], x, w);
      OPAQUE(x);
    }
  });
  int sink = 0;
  for (int c = 0; c < kChains; ++c) sink += _mm256_cvtsi256_si32(acc[c]);
  std::fprintf(stderr, "(%d)\n", sink);
  return 32.0 * kChains * iters / s;
#elif defined(__ARM_FEATURE_DOTPROD)
  int32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = vdupq_n_s32(c);
  int8x16_t x = vdupq_n_s8(2), w = vdupq_n_s8(1);
  double s = Best(5, [&] {
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = vdotq_s32(acc[c], x, w);
      OPAQUE(x);
    }
  });
  int sink = 0;
  for (int c = 0; c < kChains; ++c) sink += vgetq_lane_s32(acc[c], 0);
  std::fprintf(stderr, "(%d)\n", sink);
  return 16.0 * kChains * iters / s;
#else
  (void)iters;
  return 0;
#endif
}

// Bytes per second of c = a + b over float arrays whose three footprints add up to
// `bytes` (two streams read, one written, as an elementwise op or a copy with its source
// does), repeated until about 64 MB have moved per timing, so that the loop runs over
// caches as warm as a benchmark's repeated invokes leave them.
double Stream(size_t bytes) {
  size_t n = std::max<size_t>(bytes / 12 / kLanes, 1) * kLanes;
  std::vector<VecF> a(n / kLanes), b(n / kLanes), c(n / kLanes);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = VecF{} + static_cast<float>(i & 7);
    b[i] = VecF{} + 1.0f;
  }
  size_t reps = std::max<size_t>((64u << 20) / (12 * n), 1);
  double s = Best(7, [&] {
    for (size_t r = 0; r < reps; ++r) {
      for (size_t i = 0; i < c.size(); ++i) c[i] = a[i] + b[i];
      __asm__ volatile("" : : "r"(c.data()) : "memory");
    }
  });
  return 12.0 * n * reps / s;
}

}  // namespace

int main() {
  std::printf("{\"lanes\": %d, \"fma_flops\": %.4g, \"dot_macs\": %.4g, \"stream\": [", kLanes,
              FmaFlops(), DotMacs());
  const char* sep = "";
  for (size_t kb = 4; kb <= (128u << 10); kb *= 2) {
    std::printf("%s[%zu, %.4g]", sep, kb << 10, Stream(kb << 10));
    sep = ", ";
  }
  std::printf("]}\n");
  return 0;
}
