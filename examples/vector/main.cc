// Runs the generated examples::math::vector class: a + b, a.b and the means of a and b.
#include <cstdio>
#include <cstdlib>

#include "examples/vector/vector.h"

namespace {

void Print(const char* label, const float* v, int n) {
  std::printf("%-10s = [", label);
  for (int i = 0; i < n; ++i) std::printf(i ? " %g" : "%g", v[i]);
  std::printf("]\n");
}

}  // namespace

int main() {
  void* arena = std::aligned_alloc(64, examples::math::vector::kArenaBytes);
  examples::math::vector model(arena);
  // The TFLite converter ordered the tensors (see `dlcoder inspect vector.tflite`):
  // input 0 is b, input 1 is a; output 0 is a.b, output 1 is a + b, output 2 the means.
  float* a = model.input_1();
  float* b = model.input_0();
  const float av[4] = {1, 2, 3, 4}, bv[4] = {0.5f, -1, 2, 10};
  for (int i = 0; i < 4; ++i) a[i] = av[i], b[i] = bv[i];
  if (model.Run() != 0) return 1;
  Print("a", a, 4);
  Print("b", b, 4);
  Print("a + b", model.output_1(), 4);
  Print("a . b", model.output_0(), 1);
  Print("mean a, b", model.output_2(), 2);
  std::free(arena);
  return 0;
}
