// Runs the custom-op example's model on a fixed ramp and prints its 256 outputs, one a
// line: x[i] = (i % 17 - 8) / 4, y = 1.5 * leaky_relu(x + shift, 0.2), the leaky ReLU and
// the scale done by the kernel in my_op_kernel.h.
#include <cstdio>

#include "my_op.h"

int main() {
  alignas(64) static unsigned char arena[demo::my_op::kArenaBytes];
  demo::my_op model(arena);
  float* x = model.input_0();
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>(i % 17 - 8) / 4.0f;
  if (model.Run() != 0) {
    std::fprintf(stderr, "my_op: Run() failed\n");
    return 1;
  }
  for (int i = 0; i < 256; ++i) std::printf("%.9g\n", model.output_0()[i]);
  return 0;
}
