"""The GEMM paths of the quantized CONV_2D and FULLY_CONNECTED without AMX (simd_qlinear.h,
simd_qlinear_driver.h) give TFLite's bytes: the AVX-512 VNNI, AVX-512 BW and AVX2 kernels
(rows unrolled, accumulators in registers; VNNI: a ymm tile for panels of at most 8
channels, 4 or 2 chains of accumulators for tiles of 1 to 3 rows, four rows narrowed
together), the SSE2 and scalar ones, their requantization (Rq512 / Rq256: the two
rounding steps as one 64-bit add and logical shift, the zero point taking off the offset
that keeps the sum positive; results narrowed with saturation, then clamped as bytes), the
1x1 convs and FULLY_CONNECTED whose rows are one run of the input (one copy for all the
rows of a tile, k a multiple of 4) or not (row by row), and conv_rows' short kernel rows
(two 64-bit xors) with the k tail zeroed store by store.

One hand-built model holds the cases side by side: output channels 1 to 1152 (panel tails
of 1, 7, 8, 15 and whole panels; tails of at most 8 take the VNNI kernels' ymm tile), k 4
to 1156, rows 1 to 3 (several accumulator chains per row), 49 (blocks of 10 and 9), past
a tile of 12, squeeze-excite 1x1 convs on 1x1 maps, batch 2, stride 2 1x1 convs (im2col,
not direct), per-tensor and per-channel weights, uint8, and scales whose multipliers shift
left (an output scale below input * weight scale) or far right; k 4 to 1024 and rows 1 to
40 with per-channel shifts of -1 and 0 in one panel (Rq512's shr steps, taken only where
every channel of a panel shifts right, and its general ones), a per-tensor shift of -1
(the least the shr steps take) and shifts near -31. Weights past kQChunkBytes (a 25x1028x775
FC: two chunks of panels, the last with a 7-channel tail), and with the chunks shrunk
(DLCODER_RT_QGEMM_CHUNK_BYTES=2048) every GEMM of the model in chunks of one to several
panels, the A rows filled again for each (VNNI, and AVX2's int16 weights of uint8 models).
The same model again on two threads, with small chunks (within each task's panels).
Beside it, without a model: the requantization lane by lane against requantize<Q, kUp>
(requantize.h) on random and tie-making values, one row at a time and four rows narrowed
together (the shr steps add the zero point to the int16 narrowing, with saturation).
"""
import subprocess

import numpy as np
import pytest

import test_quantized_isa as TQI
import test_quantized_linear as TQL
from dlcoder import verify as V
from support import ROOT, byte_mismatches, run_ours
from test_isa import FLAGS

HandModel = TQL.HandModel


def _conv(m, rng, dt, x_shape, oc, k, stride, per_channel, qx, qy, w_scale, act=0):
    """A CONV_2D of oc k x k filters (SAME) on a new input of x_shape; returns its input."""
    x = m.input(x_shape, dt, quant=qx)
    cin = x_shape[3]
    if dt == np.int8:
        w = rng.integers(-127, 128, (oc, k, k, cin)).astype(np.int8)
        qw = ((rng.uniform(0.5, 2.0, oc) * w_scale).astype(np.float32), np.zeros(oc, np.int64), 0) \
            if per_channel else (w_scale, 0)
    else:
        w = rng.integers(0, 256, (oc, k, k, cin)).astype(np.uint8)
        qw = (w_scale, 131)
    scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
    b = m.const(rng.integers(-3000, 3000, oc).astype(np.int32),
                quant=(scale, np.zeros(np.size(scale), np.int64), 0))
    oh, ow = -(-x_shape[1] // stride), -(-x_shape[2] // stride)
    y = m.output(m._tensor([x_shape[0], oh, ow, oc], dt, quant=qy))
    m.op("CONV_2D", [x, m.const(w, quant=qw), b], [y], "Conv2DOptions", Padding=0, StrideH=stride,
         StrideW=stride, DilationHFactor=1, DilationWFactor=1, FusedActivationFunction=act)
    return TQL._input(rng, dt, x_shape, qx[1])


def _fc(m, rng, rows, k, units, qx, qy, w_scale):
    x = m.input((rows, k), np.int8, quant=qx)
    w = rng.integers(-127, 128, (units, k)).astype(np.int8)
    b = m.const(rng.integers(-5000, 5000, units).astype(np.int32),
                quant=(np.float32(w_scale) * np.float32(qx[0]), 0))
    y = m.output(m._tensor((rows, units), np.int8, quant=qy))
    m.op("FULLY_CONNECTED", [x, m.const(w, quant=(w_scale, 0)), b], [y], "FullyConnectedOptions",
         FusedActivationFunction=0, KeepNumDims=False)
    return TQL._input(rng, np.int8, (rows, k), qx[1])


# quantizations (input, output, weight scale): usual (shifts about -7), left shifts (an
# output scale 1/50 of the input's: multipliers past 1), far right shifts, exact ties
I8 = ((0.05, -3), (0.3, 7), 0.004)
LEFT = ((0.5, 2), (0.01, -5), 0.25)
RIGHT = ((0.002, 1), (40.0, 3), 0.003)
TIES = ((0.5, -3), (4.0, 7), 0.25)
U8 = ((0.05, 120), (0.3, 128), 0.006)
# per-channel multipliers in [0.25, 1): shifts -1 and 0 in one panel (Rq512 keeps its
# general steps unless every channel shifts right), per-tensor just below 0.5 (shift -1, the
# least the shr steps take) and far right (shift -31 .. -25)
MIXED = ((0.5, 3), (0.5, -2), 0.5)
HALF = ((0.5, 3), (1.0, -2), 0.999)
FAR = ((0.001, 0), (4.0e3, 1), 0.002)
# name: (dtype, input shape, out channels, kernel, stride, per_channel, quantization, act)
CONV_CASES = {
    "pw_k16_c1": (np.int8, (1, 5, 7, 16), 1, 1, 1, True, I8, 0),
    "pw_k16_c24_b2": (np.int8, (2, 6, 5, 16), 24, 1, 1, True, I8, 3),
    "pw_k24_c47_left": (np.int8, (1, 5, 6, 24), 47, 1, 1, True, LEFT, 0),
    "pw_k24_c40_left_tensor": (np.int8, (1, 4, 7, 24), 40, 1, 1, False, LEFT, 0),
    "pw_k144_c24_right": (np.int8, (1, 7, 5, 144), 24, 1, 1, True, RIGHT, 0),
    "pw_k16_c15_ties": (np.int8, (1, 6, 6, 16), 15, 1, 1, False, TIES, 0),
    "pw_k30_c33": (np.int8, (1, 5, 5, 30), 33, 1, 1, True, I8, 1),
    "pw_k16_s2_c17": (np.int8, (1, 9, 8, 16), 17, 1, 2, True, I8, 0),
    "pw_u8_k16_c23_b2": (np.uint8, (2, 5, 5, 16), 23, 1, 1, False, U8, 3),
    "pw_u8_k20_c8_ties": (np.uint8, (1, 6, 5, 20), 8, 1, 1, False, ((0.5, 120), (4.0, 128), 0.25), 0),
    "stem_k27_s2_c32": (np.int8, (1, 17, 16, 3), 32, 3, 2, True, I8, 3),
    "stem_k27_c7_left": (np.int8, (1, 7, 9, 3), 7, 3, 1, True, LEFT, 0),
    "stem_u8_k27_s2_c16": (np.uint8, (1, 11, 10, 3), 16, 3, 2, False, U8, 0),
    # 8-channel (ymm) tails: a panel of at most 8 channels, alone or after whole panels
    "pw_k8_c8": (np.int8, (1, 7, 9, 8), 8, 1, 1, True, I8, 3),
    "pw_k4_c40_ties": (np.int8, (1, 5, 5, 4), 40, 1, 1, False, TIES, 0),
    "pw_k12_c5_left": (np.int8, (1, 4, 4, 12), 5, 1, 1, True, LEFT, 0),
    "stem_k27_s2_c8": (np.int8, (1, 15, 14, 3), 8, 3, 2, True, I8, 3),
    "stem_k27_s2_c24_right": (np.int8, (1, 9, 9, 3), 24, 3, 2, True, RIGHT, 0),
    # 3x3 windows of tap rows up to 16 bytes: one 16-byte copy per tap row inside the input
    "c3_k45_c16": (np.int8, (1, 8, 8, 5), 16, 3, 1, True, I8, 0),
    "c3_k36_s2_c20_b2": (np.int8, (2, 9, 10, 4), 20, 3, 2, True, I8, 1),
    # 7x7 maps: 49 rows in blocks of 10, 10, 10, 10, 9
    "pw_k40_c24_49rows": (np.int8, (1, 7, 7, 40), 24, 1, 1, True, I8, 1),
    # squeeze-excite: 1x1 convs on a 1x1 map (one row; k groups not a multiple of 4 chains)
    "se_k1156_c20": (np.int8, (1, 1, 1, 1156), 20, 1, 1, True, I8, 0),
    "se_k20_c1152_b2": (np.int8, (2, 1, 1, 20), 1152, 1, 1, True, I8, 0),
    "se_k6_c144_left": (np.int8, (1, 1, 1, 6), 144, 1, 1, True, LEFT, 0),
    # k 4 .. 1024 (the shr requantization on whole and 8-channel panels), rows 1 .. 40
    "pw_k4_c24_mixed": (np.int8, (1, 5, 8, 4), 24, 1, 1, True, MIXED, 0),
    "pw_k8_c40_half_tensor": (np.int8, (1, 3, 13, 8), 40, 1, 1, False, HALF, 0),
    "pw_k32_c1000_far": (np.int8, (1, 1, 3, 32), 1000, 1, 1, True, FAR, 0),
    "pw_k36_c24_b2_mixed": (np.int8, (2, 4, 5, 36), 24, 1, 1, True, MIXED, 1),
    "pw_k100_c40_half": (np.int8, (1, 5, 8, 100), 40, 1, 1, True, HALF, 3),
    "pw_k1024_c8": (np.int8, (1, 3, 3, 1024), 8, 1, 1, True, I8, 0),
    "pw_u8_k32_c24_mixed": (np.uint8, (1, 6, 6, 32), 24, 1, 1, False, ((0.5, 120), (0.5, 100), 0.5), 0),
}
FC_CASES = {"fc_r30_k64_c47": (30, 64, 47, I8), "fc_r13_k30_c9_left": (13, 30, 9, LEFT),
            "fc_r25_k16_c24_ties": (25, 16, 24, TIES),
            # one, two and three rows (4 and 2 chains of accumulators), an 8-channel tail
            "fc_r1_k516_c1000": (1, 516, 1000, I8), "fc_r2_k36_c40_ties": (2, 36, 40, TIES),
            "fc_r3_k1028_c24_right": (3, 1028, 24, RIGHT), "fc_r1_k8_c3_left": (1, 8, 3, LEFT),
            "fc_r40_k4_c1000_half": (40, 4, 1000, HALF), "fc_r11_k100_c40_far": (11, 100, 40, FAR),
            "fc_r17_k36_c24_mixed": (17, 36, 24, MIXED), "fc_r7_k1024_c8_ties": (7, 1024, 8, TIES),
            "fc_r25_k1028_c775_chunks": (25, 1028, 775, I8)}


def _build(path):
    m, rng = HandModel(), np.random.default_rng(5)
    inputs = []
    for dt, shape, oc, k, stride, pc, (qx, qy, ws), act in CONV_CASES.values():
        inputs.append(_conv(m, rng, dt, shape, oc, k, stride, pc, qx, qy, ws, act))
    for rows, k, units, (qx, qy, ws) in FC_CASES.values():
        inputs.append(_fc(m, rng, rows, k, units, qx, qy, ws))
    path.write_bytes(m.build())
    return inputs, list(CONV_CASES) + list(FC_CASES)


# each x86 path forced (x86_flags skips one this CPU lacks); sse2 and scalar share the
# driver (the row blocks, the copies into the A rows)
PATHS = ["vnni_without_amx", "avx512bw", "avx2", "sse2", "scalar", "vnni_small_chunks", "avx2_small_chunks"]
# weight chunks of 2 KB: a panel of k 128 (VNNI) or 64 (int16 weights) fills one
SMALL_CHUNKS = ("-DDLCODER_RT_QGEMM_CHUNK_BYTES=2048",)


@pytest.mark.parametrize("path", PATHS)
def test_gemm_paths_match_tflite(path, tmp_path):
    if path.startswith("vnni"):
        flags = TQI.x86_flags("avx512vnni") + ("-DDLCODER_RT_FORCE_AMX=0",)
    else:
        flags = TQI.x86_flags(path.removesuffix("_small_chunks"))
    if path.endswith("_small_chunks"):
        flags += SMALL_CHUNKS
    model = tmp_path / "qvnni.tflite"
    inputs, names = _build(model)
    ours, _, _ = run_ours(model, inputs, tmp_path, flags=flags)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(names, ours, refs)
    assert not problems, "\n".join(problems)


REQUANT_MAIN = r'''
// The requantization of the AVX-512 and AVX2 GEMM kernels (simd_qlinear.h: out512, out256,
// bytes of 16 channels, ch of them stored; out512's four rows narrowed together) against requantize<Q, kUp> (requantize.h), on
// random accumulators of every magnitude, multipliers 0, 2^30, 2^30 + 1 and in [2^30, 2^31),
// shifts in [-31, 30] (per channel, or one per panel), zero points and ranges.
#include <cstdio>
#include <cstdlib>
#include <random>
#include "dlcoder_rt/simd_qlinear.h"

using namespace dlcoder_rt;

DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
template <typename Q>
void run512(const int32_t* x, const QEpilogue& e, int ch, Q* y) {
  qsimd::out512(e)(_mm512_loadu_si512(x), ch, y);
}

// four rows x[0..64) narrowed together, y rows 16 apart
template <typename Q>
void run512x4(const int32_t* x, const QEpilogue& e, int ch, Q* y) {
  qsimd::out512(e).four(_mm512_loadu_si512(x), _mm512_loadu_si512(x + 16), _mm512_loadu_si512(x + 32),
                        _mm512_loadu_si512(x + 48), ch, y, 16);
}
DLCODER_RT_TARGET_END

DLCODER_RT_TARGET_BEGIN("avx2,fma")
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")
// the VNNI kernels' epilogue of at most 8 channels (Out8), one row or four (y rows 16 apart)
template <typename Q>
void run8(const int32_t* x, const QEpilogue& e, int ch, Q* y, bool four) {
  const qsimd::k_avx512vnni::Out8 out(e);
  auto row = [&](int r) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 16 * r)); };
  if (four) out.four(row(0), row(1), row(2), row(3), ch, y, 16); else out(row(0), ch, y);
}
DLCODER_RT_TARGET_END

template <typename Q>
void run256(const int32_t* x, const QEpilogue& e, int ch, Q* y) {
  qsimd::out256(e)(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)),
                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 8)), ch, y);
}
DLCODER_RT_TARGET_END

// avx512: 0 AVX2 only, 1 AVX-512 BW, 2 and VNNI
template <typename Q>
long check(std::mt19937_64& rng, long trials, int avx512) {
  long bad = 0;
  const int32_t qmin = std::is_signed<Q>::value ? -128 : 0, qmax = qmin + 255;
  for (long t = 0; t < trials; ++t) {
    alignas(64) int32_t x[64], m[16], s[16], bias[16] = {};
    const int32_t zp = qmin + static_cast<int32_t>(rng() % 256);
    int32_t lo = qmin + static_cast<int32_t>(rng() % 256), hi = qmin + static_cast<int32_t>(rng() % 256);
    if (lo > hi) std::swap(lo, hi);
    if (t % 3 == 0) lo = qmin, hi = qmax;
    const int ties = static_cast<int>(t % 5);
    const int32_t one_shift = static_cast<int32_t>(rng() % 62) - 31;
    for (int c = 0; c < 16; ++c) {
      const uint64_t r = rng();
      const int bits = 1 + static_cast<int>(r % 32);
      x[c] = static_cast<int32_t>(static_cast<int64_t>(rng()) >> (64 - bits));
      if (r % 97 == 0) x[c] = (r & 1) ? INT32_MIN : INT32_MAX;
      m[c] = ties == 0 ? (1 << 30) + static_cast<int32_t>(r % 2) : ties == 1 && c == 0 ? 0
             : (1 << 30) + static_cast<int32_t>((r >> 8) % (1u << 30));
      s[c] = ties == 2 ? static_cast<int32_t>((r >> 40) % 62) - 31 : ties == 4 ? one_shift
             : -static_cast<int32_t>((r >> 40) % 32) + (ties == 3 ? 2 : 0);
    }
    for (int i = 16; i < 64; ++i) x[i] = x[i % 16] ^ static_cast<int32_t>(rng() >> (40 + i % 24));
    const QEpilogue e{bias, m, s, zp, lo, hi};
    alignas(16) Q y[64];
    // AVX-512: every other trial four rows at once; VNNI: every third Out8 (8 channels or fewer)
    const bool four = avx512 && t % 4 < 2, eight = avx512 == 2 && t % 3 == 1;
    const int ch = eight ? 1 + static_cast<int>(rng() % 8) : t % 2 ? 16 : 1 + static_cast<int>(rng() % 16);
    if (eight) run8<Q>(x, e, ch, y, four);
    else if (four) run512x4<Q>(x, e, ch, y);
    else if (avx512) run512<Q>(x, e, ch, y);
    else run256<Q>(x, e, ch, y);
    for (int i = 0; i < (four ? 64 : 16); ++i) {
      const int c = i % 16;
      if (c >= ch) continue;
      const Q want = requantize<Q, Rounding::kUp>(x[i], m[c], s[c], zp, lo, hi);
      if (y[i] != want && bad++ < 5)
        std::printf("%s x %d m %d shift %d zp %d [%d, %d]: got %d want %d\n",
                    eight ? "vnni out8" : four ? "avx512 x4" : avx512 ? "avx512" : "avx2", x[i], m[c], s[c], zp, lo,
                    hi, int{y[i]}, int{want});
    }
  }
  return bad;
}

int main(int argc, char** argv) {
  std::mt19937_64 rng(11);
  long bad = 0;
  const int most = argc > 1 ? std::atoi(argv[1]) : 2;  // 0: AVX2 only, 1: and AVX-512 BW, 2: and VNNI
  for (int avx512 = 0; avx512 <= most; ++avx512)
    bad += check<int8_t>(rng, 1000000, avx512) + check<uint8_t>(rng, 1000000, avx512);
  std::printf("%ld\n", bad);
  return bad != 0;
}
'''


def test_gemm_requantization_is_exact(tmp_path):
    if "avx2" not in FLAGS:
        pytest.skip("this CPU lacks AVX2")
    avx512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= FLAGS
    most = 2 if avx512 and "avx512_vnni" in FLAGS else 1 if avx512 else 0
    src, exe = tmp_path / "rq.cc", tmp_path / "rq"
    src.write_text(REQUANT_MAIN)
    subprocess.run(["c++", "-std=c++17", "-O2", f"-I{ROOT / 'dlcoder' / 'runtime'}", str(src), "-o", str(exe)],
                   check=True)
    run = subprocess.run([str(exe), str(most)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "0", run.stdout


def test_gemm_paths_split_on_two_threads(tmp_path):
    """The same model on two threads (every kernel split into tasks: row blocks, or panels
    where a GEMM has fewer blocks than threads, each task's panels in small chunks), the
    VNNI kernels without AMX: TFLite's bytes."""
    import test_threads as TT
    model = tmp_path / "qvnni.tflite"
    inputs, names = _build(model)
    exe, g, _ = TT.build(model, tmp_path, flags=(*TT.SPLIT_ALL, "-DDLCODER_RT_FORCE_AMX=0", *SMALL_CHUNKS))
    ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=2)
    TT.check_split(TT.thread_stats(tmp_path), 2)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(names, ours, refs)
    assert not problems, "\n".join(problems)
