// Draws a digit "7" into LeNet-5's 28x28 input, runs the model and prints the probability
// of each of the ten classes. (The weights are random, so the ranking means nothing; the
// program shows the API.)
#include <cstdio>

#include "lenet5.h"

namespace {

const char* const kDigit[28] = {
    "                            ", "                            ", "                            ",
    "                            ", "      ################      ", "      ################      ",
    "                   ###      ", "                  ###       ", "                 ###        ",
    "                ###         ", "               ###          ", "              ###           ",
    "             ###            ", "            ###             ", "           ###              ",
    "          ###               ", "         ###                ", "         ###                ",
    "        ###                 ", "        ###                 ", "       ###                  ",
    "       ###                  ", "                            ", "                            ",
    "                            ", "                            ", "                            ",
    "                            ",
};

}  // namespace

int main() {
  alignas(64) static unsigned char arena[demo::lenet5::kArenaBytes];
  demo::lenet5 model(arena);

  float* pixels = model.input_0();
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) pixels[y * 28 + x] = kDigit[y][x] == '#' ? 1.0f : 0.0f;
  }
  if (model.Run() != 0) {
    std::fprintf(stderr, "lenet5: Run() failed\n");
    return 1;
  }

  const float* probabilities = model.output_0();
  int best = 0;
  for (int k = 0; k < 10; ++k) {
    std::printf("class %d: %.5f\n", k, probabilities[k]);
    if (probabilities[k] > probabilities[best]) best = k;
  }
  std::printf("top class: %d\n", best);
  return 0;
}
