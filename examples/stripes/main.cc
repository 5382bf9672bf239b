// Classifies a few drawn 24x24 pictures with the generated examples::stripes class.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "examples/stripes/stripes.h"

namespace {

constexpr int kSize = 24;
constexpr const char* kClasses[] = {"horizontal stripes", "vertical stripes",
                                    "diagonal stripes", "checkerboard"};

// The drawing of make_example_models.py: a square wave of `period` pixels.
float Pattern(int kind, int y, int x, float period) {
  auto wave = [&](float t) { return std::sin(2 * M_PI * t / period + 0.5) > 0 ? 1.0f : 0.0f; };
  switch (kind) {
    case 0: return wave(y);
    case 1: return wave(x);
    case 2: return wave((x + y) / std::sqrt(2.0f));
    default: return std::fabs(wave(x) - wave(y));
  }
}

}  // namespace

int main() {
  // The arena holds the inputs, the outputs and every intermediate tensor.
  void* arena = std::aligned_alloc(64, examples::stripes::kArenaBytes);
  examples::stripes model(arena);
  int correct = 0;
  for (int kind = 0; kind < 4; ++kind) {
    float* image = model.input_0();
    for (int y = 0; y < kSize; ++y)
      for (int x = 0; x < kSize; ++x) image[y * kSize + x] = Pattern(kind, y, x, 6.0f);
    if (model.Run() != 0) return 1;
    const float* p = model.output_0();
    int best = 0;
    for (int c = 1; c < 4; ++c) best = p[c] > p[best] ? c : best;
    correct += best == kind;
    std::printf("drew %-18s -> %-18s (p = %.2f)\n", kClasses[kind], kClasses[best], p[best]);
  }
  std::printf("%d of 4 right, weights %zu bytes, arena %zu bytes\n", correct,
              examples::stripes::kWeightBytes, examples::stripes::kArenaBytes);
  std::free(arena);
  return correct == 4 ? 0 : 1;
}
