// Parameter structs and constants shared by the scalar kernels, the per-ISA SIMD kernels
// and the generator. The generator reads the constants (`constexpr int32_t kName = 12;`)
// and the structs' fields (plain data members) out of the headers, codegen/runtime_facts.py:
// it emits each struct as a constexpr aggregate field by field in this order, and sizes and
// packs its data with these values.
#pragma once

#include "dlcoder_rt/common.h"

namespace dlcoder_rt {

enum class BinaryKind : int { kAdd, kSub, kMul, kDiv, kMax, kMin, kSquaredDifference };
enum class UnaryKind : int { kNone, kLogistic, kTanh, kHardSwish, kElu, kExp, kRelu, kRelu6,
                             kReluN1To1, kRelu0To1, kAbs, kNeg, kSquare, kSqrt, kRsqrt, kSwish,
                             kGelu, kGeluTanh };

// A fused PRELU or LEAKY_RELU: x < 0 ? x * a : x, applied after the clamp (and `post`) in
// the kernels' epilogues. Output element i (of the whole output tensor, row-major) takes
// a = alpha[i % period]: alpha of `period` floats broadcasts to the output as its trailing
// dims (period C: one slope per channel; H * W * C: one per element of an image), the
// period a multiple of the output's last dim. alpha null with period 1: a = value for every
// element (LEAKY_RELU, a PRELU with one slope). period 0: no slope fused. The generator
// emits alpha null in its constexpr params and sets it at the call (with_alpha): a pointer
// into the weights is not a constant expression.
struct Slope {
  const float* alpha;
  int64_t period;
  float value;
};

struct ConvParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t groups;
  Clamp<float> act;
  UnaryKind post;  // applied after the clamp, in the SIMD kernels' epilogue (kNone: nothing)
  Clamp<float> res_act;  // the clamp of a fused residual ADD (used only with a residual)
  Slope slope;  // a fused PRELU / LEAKY_RELU (period 0: none)
};

struct DepthwiseParams {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier;
  Clamp<float> act;
  UnaryKind post;
  Slope slope;  // period 0, 1 or out_c only: the SIMD rows do not know their pixel
};

// Params `p` with its slope's alpha set (the generator's params are constexpr, alpha a
// pointer into the weights: see Slope).
template <class P>
constexpr P with_alpha(P p, const float* alpha) {
  p.slope.alpha = alpha;
  return p;
}

// Columns of a packed GEMM panel: B goes to the GEMM kernels as [ceil(n / kPanel)][k][kPanel]
// (the generator packs constant weights so, ops/_gemm.py). The kernels of simd_kernels.h
// are written for 16 and check it.
constexpr int32_t kPanel = 16;
// Rows of A the widest GEMM tile takes: every ISA's kMR is at most this (simd_kernels.h
// checks it), and the generator sizes scratch with it (an implicit GEMM's gathered rows).
constexpr int32_t kMaxMR = 12;
// The float GEMM (simd_kernels.h: gemm) reads B's packed panels in chunks of about this many
// bytes, which stay in L2 while the row blocks of A pass.
constexpr int64_t kGemmChunkBytes = 262144;

// The float GEMM a call compiles: kDeep adds gemm_deep (simd_kernels.h: the depth in blocks,
// for B panels too long for a chunk of them to stay in L2), about 98 KB of code over the
// ISAs of a portable build, so the generator asks for it only where gemm_deep_fits (its
// mirror: ops/_gemm.py, deep_fits). A kDeep call still runs shallow where the run-time
// shape does not fit (a thread's share of rows); a kShallow one never runs gemm_deep.
enum class GemmDepth : int { kShallow = 0, kDeep = 1 };

// Whether gemm_deep pays: more rows than one tile of mr (one row block reads B once anyway),
// and two panels of B over the whole depth (k elements of b_bytes) past a chunk.
constexpr bool gemm_deep_fits(int64_t m, int32_t k, int32_t b_bytes, int32_t mr = kMaxMR,
                              int64_t chunk_bytes = kGemmChunkBytes) {
  return m > mr && 2 * int64_t{k} * kPanel * b_bytes > chunk_bytes;
}

// Arguments of C[m][n] = act(A[m][k] * B[k][n] + bias): A rows are `lda` floats apart;
// B is packed in panels of 16 columns, [ceil(n/16)][k][16], zero padded; bias (or null)
// has ceil(n/16)*16 floats. With a residual (res, rows `ldr` apart; null: none),
// C = res_act(act(A B + bias) + res): a residual ADD fused into the epilogue. ldb != 0:
// B is a plain row-major [k][n] matrix with rows ldb apart (n a multiple of 16), read in
// place as panels 16 floats apart. A slope (period != 0) is applied after the clamp and
// `post`; element C[i][j] is output element (&C[i][j] - origin) for its alpha (Slope).
struct GemmParams {
  int32_t m, n, k;
  int32_t lda, ldc;
  Clamp<float> act;
  UnaryKind post;
  const float* res;
  int64_t ldr;
  Clamp<float> res_act;
  int64_t ldb;
  Slope slope;
  const float* origin;
};

// How a depthwise chain (simd_depthwise.h: conv_chain_rows) steps through its output rows.
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

// Floats between positions e and e + 1 of V ([36][n][in_c]) and of M ([36][n][ldm]). One
// cache line more than the rows: n * width is often a multiple of 1024 (32 tiles of 128
// channels, 64 of 16 or 32), which puts the 36 positions in one L1 set, so that the 36
// stores of a tile's transform (and the 36 loads of its output transform) evict each
// other. Measured on a 56x56 128->32 conv (DenseNet's): 427 -> 388 us; 28x28: 114 -> 99.
constexpr int64_t wino_rows_stride(int32_t n, int32_t width) { return int64_t{n} * width + 16; }

// Floats between positions of U, the transformed filter of kc input channels and `panels`
// panels of output channels ([36][panels][kc][kPanel]): one cache line more than the
// operand, so that the 36 stores of one transform do not fall 4 KB apart (where they would
// stall the loads that follow them).
constexpr int64_t wino_u_stride(int32_t panels, int32_t kc) { return int64_t{panels} * kc * kPanel + 16; }

// The scratch of conv2d_winograd for blocks of `block` tiles of in_c channels, in floats:
// V, then U (at `u`), then M (at `m`), `floats` in all. The generator reserves its own
// count of bytes (ops/conv.py: _wino_scratch) and static_asserts that it equals this.
struct WinoScratch {
  int64_t u, m, floats;
};
constexpr WinoScratch wino_scratch(int32_t block, int32_t in_c) {
  const int64_t v_floats = 36 * wino_rows_stride(block, in_c);
  const int64_t u_floats = 36 * wino_u_stride(kWinoMaxGroup / kPanel, in_c < kWinoChunk ? in_c : kWinoChunk);
  const int64_t m_floats = 36 * wino_rows_stride(block, kWinoMaxGroup);
  return {v_floats, v_floats + u_floats, v_floats + u_floats + m_floats};
}
static_assert(kWinoMaxGroup % kPanel == 0, "a Winograd group is whole panels");

struct PoolParams {
  int32_t batch, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w;
  int32_t pad_top, pad_left;
  Clamp<float> act;
};

enum class PoolKind { kAverage, kMax, kL2 };

// out[batch][m][n] = lhs[batch][m][k] * rhs[batch][k][n] over the result's batch dims, each
// operand a strided view of its tensor (ops/matmul.py): element strides per batch dim (0
// where it broadcasts) and the elements between its stored rows. adj_x: lhs is stored
// [k][m]; adj_y: rhs is stored [n][k].
struct BatchMatMulParams {
  int32_t dims[kMaxDims];  // the result's batch dims, padded in front with 1s
  int32_t a_strides[kMaxDims], b_strides[kMaxDims], o_strides[kMaxDims];
  int32_t m, k, n;
  bool adj_x, adj_y;
  int32_t lda, ldb, ldc;
};

// The number of batches of a BatchMatMulParams (the product of its batch dims).
inline int64_t batch_count(const BatchMatMulParams& p) {
  int64_t batches = 1;
  for (int d = 0; d < kMaxDims; ++d) batches *= p.dims[d];
  return batches;
}

// Batch t's element offsets into lhs, rhs and out (t in [0, batch_count)).
inline void batch_offsets(const BatchMatMulParams& p, int64_t t, int64_t* a, int64_t* b, int64_t* o) {
  *a = *b = *o = 0;
  for (int d = kMaxDims - 1; d >= 0; --d) {
    const int64_t i = t % p.dims[d];
    t /= p.dims[d];
    *a += i * p.a_strides[d];
    *b += i * p.b_strides[d];
    *o += i * p.o_strides[d];
  }
}

// Where a batch's operand elements are, adj_x / adj_y applied: lhs element (i, k) at
// i * a_i + k * a_k, rhs element (k, j) at k * b_k + j * b_j.
struct MatMulSteps {
  int64_t a_i, a_k, b_k, b_j;
  explicit MatMulSteps(const BatchMatMulParams& p)
      : a_i(p.adj_x ? 1 : p.lda), a_k(p.adj_x ? p.lda : 1), b_k(p.adj_y ? 1 : p.ldb), b_j(p.adj_y ? p.ldb : 1) {}
};

// f(a, b, o) for every output element of every batch: a the offset of its lhs row, b of its
// rhs column (their k-th elements at + k * a_k and + k * b_k), o its offset in out. The
// reference kernels' loop.
template <typename F>
inline void for_each_matmul_output(const BatchMatMulParams& p, const F& f) {
  const MatMulSteps s(p);
  for (int64_t t = 0, batches = batch_count(p); t < batches; ++t) {
    int64_t ia, ib, io;
    batch_offsets(p, t, &ia, &ib, &io);
    for (int32_t i = 0; i < p.m; ++i)
      for (int32_t j = 0; j < p.n; ++j) f(ia + i * s.a_i, ib + j * s.b_j, io + int64_t{i} * p.ldc + j);
  }
}

}  // namespace dlcoder_rt
