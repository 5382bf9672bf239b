// Parameter structs shared by the scalar kernels and the per-ISA SIMD kernels. The
// generator emits them as constexpr aggregates, field by field in this order.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

enum class BinaryKind : int { kAdd, kSub, kMul, kDiv, kMax, kMin, kSquaredDifference };
enum class UnaryKind : int { kNone, kLogistic, kTanh, kHardSwish, kElu, kExp, kRelu, kRelu6,
                             kReluN1To1, kRelu0To1, kAbs, kNeg, kSquare, kSqrt, kRsqrt, kSwish,
                             kGelu, kGeluTanh };

struct ConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t groups;
  Clamp<float> act;
  UnaryKind post;  // applied after the clamp, in the SIMD kernels' epilogue (kNone: nothing)
  Clamp<float> res_act;  // the clamp of a fused residual ADD (used only with a residual)
};

struct DepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier;
  Clamp<float> act;
  UnaryKind post;
};

// Arguments of C[m][n] = act(A[m][k] * B[k][n] + bias): A rows are `lda` floats apart;
// B is packed in panels of 16 columns, [ceil(n/16)][k][16], zero padded; bias (or null)
// has ceil(n/16)*16 floats. With a residual (res, rows `ldr` apart; null: none),
// C = res_act(act(A B + bias) + res): a residual ADD fused into the epilogue. ldb != 0:
// B is a plain row-major [k][n] matrix with rows ldb apart (n a multiple of 16), read in
// place as panels 16 floats apart.
struct GemmParams {
  int32_t m, n, k;
  int32_t lda, ldc;
  Clamp<float> act;
  UnaryKind post;
  const float* res;
  int64_t ldr;
  Clamp<float> res_act;
  int64_t ldb;
};

// How a depthwise chain (simd_depthwise.h: conv_chain) steps through its output rows.
struct ChainSteps {
  int32_t rows;   // output rows per step
  int32_t slots;  // rows of the expanded-input ring (<= kMaxChainSlots)
};
constexpr int32_t kMaxChainSlots = 256;

// Winograd F(4x4, 3x3) convolution (simd_winograd.h): the widest group of output channels
// whose transformed filter is held at once (16 * kNP of the widest ISA).
constexpr int32_t kWinoMaxGroup = 32;
// Input channels whose transformed filter is held at once: the products are summed over
// chunks of this many, so that the transformed filter stays in L2 whatever in_c is.
constexpr int32_t kWinoChunk = 64;
// Input channels ahead whose filter taps the transform prefetches.
constexpr int32_t kWinoPrefetch = 4;

struct PoolParams {
  int32_t batch, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  Clamp<float> act;
};

enum class PoolKind { kAverage, kMax, kL2 };

}  // namespace dlcoder_rt
