// The kernel of the example's custom op CUSTOM:MyOp: a leaky ReLU followed by a scale,
// y = scale * (x >= 0 ? x : alpha * x). Header-only and allocation-free, like the
// runtime's kernels; the plug-in (ops.py) emits the call and dlcoder copies this file into
// the output folder (dlcoder_rt/custom/my_op_kernel.h).
#ifndef MY_OP_KERNEL_H_
#define MY_OP_KERNEL_H_

#include <cstddef>

namespace my_op {

struct Params {
  float alpha;
  float scale;
};

inline void leaky_scale(const Params& p, const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i] >= 0.0f ? x[i] : p.alpha * x[i];
    y[i] = p.scale * v;
  }
}

}  // namespace my_op

#endif  // MY_OP_KERNEL_H_
