// dlcoder runtime: TFLite's complex64, two floats. Its own header so that a generated
// NAME.h whose model takes or gives complex64 tensors can name the type without pulling
// in any kernel.
#pragma once

namespace dlcoder_rt {

struct Complex64 {
  float re, im;
};

}  // namespace dlcoder_rt
