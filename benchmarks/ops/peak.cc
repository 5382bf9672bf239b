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

// Operations per second of kChains independent chains acc = step(acc, x), each step `work`
// FLOPs or MACs; acc[c] starts at start(c), so that no two chains are the same value.
template <typename Acc, typename In, typename Start, typename Step, typename Lane0>
double Chains(double work, In x, Start start, Step step, Lane0 lane0) {
  const long iters = 4000000;
  Acc acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = start(c);
  double s = Best(5, [&] {
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = step(acc[c], x);
      OPAQUE(x);
    }
  });
  double sink = 0;
  for (int c = 0; c < kChains; ++c) sink += lane0(acc[c]);
  std::fprintf(stderr, "(%g)\n", sink);
  return work * kChains * iters / s;
}

// float32 FLOP/s: a = a * x + w over full vectors.
double FmaFlops() {
  const VecF w = VecF{} + 1e-7f;
  return Chains<VecF>(
      2.0 * kLanes, VecF{} + 0.999999f, [](int c) { return VecF{} + static_cast<float>(c); },
      [w](VecF a, VecF x) { return a * x + w; }, [](VecF a) { return a[0]; });
}

// int8 multiply-accumulates per second with the dot-product instruction, 0 without one.
double DotMacs() {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  const __m512i w = _mm512_set1_epi8(1);
  return Chains<__m512i>(
      64, _mm512_set1_epi8(2), [](int c) { return _mm512_set1_epi32(c); },
      [w](__m512i a, __m512i x) { return _mm512_dpbusd_epi32(a, x, w); },
      [](__m512i a) { return _mm512_cvtsi512_si32(a); });
#elif defined(__AVXVNNI__)
  const __m256i w = _mm256_set1_epi8(1);
  return Chains<__m256i>(
      32, _mm256_set1_epi8(2), [](int c) { return _mm256_set1_epi32(c); },
      [w](__m256i a, __m256i x) { return _mm256_dpbusd_avx_epi32(a, x, w); },
      [](__m256i a) { return _mm256_cvtsi256_si32(a); });
#elif defined(__ARM_FEATURE_DOTPROD)
  const int8x16_t w = vdupq_n_s8(1);
  return Chains<int32x4_t>(
      16, vdupq_n_s8(2), [](int c) { return vdupq_n_s32(c); },
      [w](int32x4_t a, int8x16_t x) { return vdotq_s32(a, x, w); },
      [](int32x4_t a) { return vgetq_lane_s32(a, 0); });
#else
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
