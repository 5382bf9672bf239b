"""int8 and uint8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and BATCH_MATMUL against
TFLite's builtin kernels, byte for byte (issue 13).

Hand-built one-op models (tests/models/op_hand.py): random weights and biases, int8
weights symmetric per channel or per tensor, uint8 weights with a zero point; inputs span
the dtype with the extremes and the zero point planted; strides, dilations, both
paddings, depth multipliers and every fused activation. What varies is what the prepare
step computes: one multiplier per channel, the folded zero-point terms, the activation
range.
"""
import contextlib
import sys
import zlib

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.ops import qlinear as QL
from support import TESTS, byte_mismatches, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


@contextlib.contextmanager
def one_model():
    """Inside, every builder here adds its op to one shared HandModel (yielded) instead of a
    model of its own, so that many cases compile as one library."""
    global HandModel
    shared, real = HandModel(), HandModel
    HandModel = lambda: shared  # noqa: E731
    try:
        yield shared
    finally:
        HandModel = real


def _input(rng, dt, shape, zp):
    info = np.iinfo(dt)
    x = rng.integers(info.min, info.max + 1, shape).astype(dt)
    x.reshape(-1)[:3] = [info.min, info.max, zp]
    return x


# Scales whose products are powers of two: the accumulators then land on exact halves of the
# output step often, where the kernels' two rounding modes differ (requantize.h).
TIES = {"x": 0.5, "w": 0.25, "y": 4.0}


def _weights(rng, dt, shape, per_channel_axis=None, ties=False):
    """(weights, quant) with scales near what converters give (or TIES)."""
    if dt == np.int8:
        w = rng.integers(-127, 128, shape).astype(np.int8)
        if per_channel_axis is None:
            return w, (TIES["w"] if ties else 0.004, 0)
        n = shape[per_channel_axis]
        return w, (rng.uniform(0.001, 0.02, n).astype(np.float32), np.zeros(n, np.int64), per_channel_axis)
    return rng.integers(0, 256, shape).astype(np.uint8), (0.006, 131)


def _conv_model(dt, x_shape, w_shape, stride, dilation, padding, act, per_channel, depthwise,
                seed, bias=True, ties=False):
    rng = np.random.default_rng(seed)
    qx, qy = ((0.05, -3), (0.3, 7)) if dt == np.int8 else ((0.05, 120), (0.3, 128))
    if ties:
        qx, qy = (TIES["x"], qx[1]), (TIES["y"], qy[1])
    m = HandModel()
    x = m.input(x_shape, dt, quant=qx)
    axis = 3 if depthwise else 0
    w, qw = _weights(rng, dt, w_shape, axis if per_channel else None, ties)
    oc = w_shape[axis]
    ins = [x, m.const(w, quant=qw)]
    if bias:
        scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
        ins.append(m.const(rng.integers(-3000, 3000, oc).astype(np.int32),
                           quant=(scale, np.zeros(scale.size, np.int64), 0)))
    kh, kw = (w_shape[1], w_shape[2])
    out_hw = []
    for d, k, s, dil in zip(x_shape[1:3], (kh, kw), stride, dilation):
        eff = (k - 1) * dil + 1
        out_hw.append(-(-d // s) if padding == "SAME" else (d - eff) // s + 1)
    y = m.output(m._tensor([x_shape[0], *out_hw, oc], dt, quant=qy))
    opts = dict(Padding=0 if padding == "SAME" else 1, StrideH=stride[0], StrideW=stride[1],
                DilationHFactor=dilation[0], DilationWFactor=dilation[1], FusedActivationFunction=ACTS[act])
    if depthwise:
        m.op("DEPTHWISE_CONV_2D", ins, [y], "DepthwiseConv2DOptions", DepthMultiplier=oc // x_shape[3], **opts)
    else:
        m.op("CONV_2D", ins, [y], "Conv2DOptions", **opts)
    return m, [_input(rng, dt, x_shape, qx[1])]


CONV_CASES = {
    # name: (dtype, input, filter, stride, dilation, padding, act, per_channel, depthwise)
    "conv_i8_3x3_same": (np.int8, (1, 9, 11, 5), (7, 3, 3, 5), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "conv_i8_3x3_s2_relu6": (np.int8, (2, 10, 9, 4), (6, 3, 3, 4), (2, 2), (1, 1), "SAME", "RELU6", True, False),
    "conv_i8_1x1_relu": (np.int8, (1, 6, 7, 19), (23, 1, 1, 19), (1, 1), (1, 1), "VALID", "RELU", True, False),
    "conv_i8_5x3_dil_valid": (np.int8, (1, 12, 10, 3), (4, 5, 3, 3), (1, 2), (2, 1), "VALID", "RELU_N1_TO_1", False, False),
    "conv_u8_3x3_same": (np.uint8, (1, 8, 8, 6), (5, 3, 3, 6), (1, 1), (1, 1), "SAME", "RELU6", False, False),
    # the AMX kernels (simd_qamx.h) where this CPU has them: k 96 in two blocks of 48, read
    # in place for the first 32 rows, copied for the last 17; 40 channels, a pair of panels
    # and a lone one of 8
    "conv_i8_1x1_k96_c40": (np.int8, (1, 7, 7, 96), (40, 1, 1, 96), (1, 1), (1, 1), "VALID", "RELU6", True,
                            False),
    # k 160: four blocks of 40; 30 rows, all copied; batch 2
    "conv_i8_1x1_k160_b2": (np.int8, (2, 5, 3, 160), (33, 1, 1, 160), (1, 1), (1, 1), "VALID", "NONE", True, False),
    # k 68 (17 groups of 4, which no block size divides): packed as 72, copied (not read in
    # place) with zeros past k
    "conv_i8_1x1_k68": (np.int8, (1, 4, 5, 68), (9, 1, 1, 68), (1, 1), (1, 1), "VALID", "NONE", False, False),
    # a 7x7 stride-2 stem on 3 channels (ResNet, DenseNet): k 147 packed as 156
    "conv_i8_7x7_s2_cin3": (np.int8, (1, 19, 21, 3), (16, 7, 7, 3), (2, 2), (1, 1), "SAME", "RELU", True, False),
    # mobilenet's first layer: 3 channels, stride 2, kernel rows inside the input copied whole
    "conv_i8_3x3_s2_cin3_w37": (np.int8, (1, 15, 37, 3), (16, 3, 3, 3), (2, 2), (1, 1), "SAME", "RELU6", True,
                                False),
    "dw_i8_3x3_same": (np.int8, (1, 9, 8, 12), (1, 3, 3, 12), (1, 1), (1, 1), "SAME", "RELU6", True, True),
    "dw_i8_3x3_s2_mult2": (np.int8, (2, 9, 10, 3), (1, 3, 3, 6), (2, 2), (1, 1), "SAME", "NONE", True, True),
    "dw_i8_5x5_dil": (np.int8, (1, 12, 12, 4), (1, 5, 5, 4), (1, 1), (2, 2), "VALID", "RELU", False, True),
    "dw_u8_3x3": (np.uint8, (1, 7, 7, 8), (1, 3, 3, 8), (1, 1), (1, 1), "SAME", "NONE", False, True),
}


def _fc_model(dt, rows, depth, units, act, per_channel, keep_dims, seed, bias=True, ties=False):
    rng = np.random.default_rng(seed)
    qx, qy = ((0.04, 9), (0.5, -20)) if dt == np.int8 else ((0.04, 100), (0.5, 140))
    if ties:
        qx, qy = (TIES["x"], qx[1]), (TIES["y"], qy[1])
    m = HandModel()
    x_shape = (rows, depth) if not keep_dims else (2, rows // 2, depth)
    x = m.input(x_shape, dt, quant=qx)
    w, qw = _weights(rng, dt, (units, depth), 0 if per_channel else None, ties)
    ins = [x, m.const(w, quant=qw)]
    if bias:
        scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
        ins.append(m.const(rng.integers(-5000, 5000, units).astype(np.int32),
                           quant=(scale, np.zeros(scale.size, np.int64), 0)))
    out_shape = x_shape[:-1] + (units,) if keep_dims else (rows, units)
    y = m.output(m._tensor(out_shape, dt, quant=qy))
    m.op("FULLY_CONNECTED", ins, [y], "FullyConnectedOptions", FusedActivationFunction=ACTS[act],
         KeepNumDims=keep_dims)
    return m, [_input(rng, dt, x_shape, qx[1])]


FC_CASES = {
    "fc_i8_per_channel": (np.int8, 3, 37, 11, "NONE", True, False),
    "fc_i8_per_tensor_relu": (np.int8, 4, 64, 10, "RELU", False, False),
    "fc_i8_keep_dims_relu6": (np.int8, 6, 20, 9, "RELU6", True, True),
    "fc_u8": (np.uint8, 2, 30, 12, "NONE", False, False),
    # AMX: two row blocks in place and 6 rows copied, k in four blocks of 64
    "fc_i8_r70_k256_c50": (np.int8, 70, 256, 50, "RELU", True, False),
    # three rows (a tile of 16 rows, 13 of them padding), k 1280
    "fc_i8_r3_k1280_c24": (np.int8, 3, 1280, 24, "NONE", True, False),
    # k not a multiple of 4: every row copied, its k tail meeting zero weights
    "fc_i8_r40_k30_c17": (np.int8, 40, 30, 17, "RELU6", False, False),
}


def _bmm_model(a_shape, b_shape, adj_x, adj_y, seed, ties=False):
    rng = np.random.default_rng(seed)
    qa, qb, qy = ((0.5, 5), (0.25, -2), (16.0, 3)) if ties else ((0.03, 5), (0.04, -2), (0.2, 3))
    m = HandModel()
    a, b = m.input(a_shape, np.int8, quant=qa), m.input(b_shape, np.int8, quant=qb)
    am, ak = (a_shape[-1], a_shape[-2]) if adj_x else (a_shape[-2], a_shape[-1])
    bn = b_shape[-2] if adj_y else b_shape[-1]
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    y = m.output(m._tensor(tuple(batch) + (am, bn), np.int8, quant=qy))
    m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=adj_x, AdjY=adj_y)
    return m, [_input(rng, np.int8, a_shape, qa[1]), _input(rng, np.int8, b_shape, qb[1])]


BMM_CASES = {
    "bmm_i8": ((1, 4, 6, 8), (1, 4, 8, 5), False, False),
    "bmm_i8_adj_y_broadcast": ((2, 3, 7, 9), (1, 3, 4, 9), False, True),
    "bmm_i8_adj_x": ((5, 6), (5, 3), True, False),
}


def _build(case):
    if case in CONV_CASES:
        return _conv_model(*CONV_CASES[case], seed=zlib.crc32(case.encode()))
    if case in FC_CASES:
        return _fc_model(*FC_CASES[case], seed=zlib.crc32(case.encode()))
    return _bmm_model(*BMM_CASES[case], seed=zlib.crc32(case.encode()))


def _check(model, inputs, tmp_path, name="q"):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model.build())
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    problems = byte_mismatches([f"output {k}" for k in range(len(refs))], ours, refs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", sorted(CONV_CASES) + sorted(FC_CASES) + sorted(BMM_CASES))
def test_matches_tflite(case, tmp_path):
    _check(*_build(case), tmp_path)


TIE_CASES = {
    "conv_i8": lambda: _conv_model(np.int8, (1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE",
                                   False, False, seed=1, ties=True),
    "conv_u8": lambda: _conv_model(np.uint8, (1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE",
                                   False, False, seed=2, ties=True),
    # 13 channels: 8 in the vector loop (half up), 5 in the scalar tail (half away)
    "dw_i8_13": lambda: _conv_model(np.int8, (1, 7, 6, 13), (1, 3, 3, 13), (1, 1), (1, 1), "SAME", "NONE",
                                    False, True, seed=3, ties=True),
    "dw_u8_21": lambda: _conv_model(np.uint8, (1, 7, 6, 21), (1, 3, 3, 21), (2, 2), (1, 1), "SAME", "NONE",
                                    False, True, seed=4, ties=True),
    "dw_i8_mult2": lambda: _conv_model(np.int8, (1, 6, 6, 7), (1, 3, 3, 14), (1, 1), (1, 1), "SAME", "NONE",
                                       False, True, seed=5, ties=True),
    "fc_i8": lambda: _fc_model(np.int8, 5, 24, 19, "NONE", False, False, seed=6, ties=True),
    "fc_u8": lambda: _fc_model(np.uint8, 5, 24, 19, "NONE", False, False, seed=7, ties=True),
    "bmm_i8": lambda: _bmm_model((2, 5, 8), (2, 8, 9), False, False, seed=8, ties=True),
}


@pytest.mark.parametrize("case", sorted(TIE_CASES))
def test_rounding_ties_match_tflite(case, tmp_path):
    """Scales that put many results on exact ties: the rounding mode of every channel shows."""
    _check(*TIE_CASES[case](), tmp_path)


REQUANT_MAIN = r'''
// Brute force: the AMX kernels' requantization (simd_qamx.h, one 64-bit multiply-add and
// one shift per lane) against requantize<Q, kUp> (requantize.h), on random accumulators,
// multipliers (0 and [2^30, 2^31)), shifts in [-31, 30], zero points and ranges; and on
// multipliers 2^30 and 2^30 + 1, where x * m lands on exact halves of the divisor.
#include <cstdio>
#include <random>
#include "dlcoder_rt/simd_qamx.h"

template <typename Q>
long check(std::mt19937_64& rng, long trials) {
  using namespace dlcoder_rt;
  long bad = 0;
  const int32_t qmin = std::is_signed<Q>::value ? -128 : 0, qmax = qmin + 255;
  for (long t = 0; t < trials; ++t) {
    alignas(64) int32_t x[16], m[16], s[16];
    const int32_t zp = qmin + static_cast<int32_t>(rng() % 256);
    int32_t lo = qmin + static_cast<int32_t>(rng() % 256), hi = qmin + static_cast<int32_t>(rng() % 256);
    if (lo > hi) std::swap(lo, hi);
    if (t % 3 == 0) lo = qmin, hi = qmax;
    const int ties = static_cast<int>(t % 4);
    for (int c = 0; c < 16; ++c) {
      const uint64_t r = rng();
      const int bits = 1 + static_cast<int>(r % 32);   // accumulators of every magnitude
      x[c] = static_cast<int32_t>(static_cast<int64_t>(rng()) >> (64 - bits));
      if (r % 97 == 0) x[c] = (r & 1) ? INT32_MIN : INT32_MAX;
      m[c] = ties == 0 ? (1 << 30) + static_cast<int32_t>(r % 2) : ties == 1 && c == 0 ? 0
             : (1 << 30) + static_cast<int32_t>((r >> 8) % (1u << 30));
      s[c] = ties == 2 ? static_cast<int32_t>((r >> 40) % 62) - 31 : -static_cast<int32_t>((r >> 40) % 32) +
             (ties == 3 ? 2 : 0);
    }
    alignas(16) Q y[16];
    const int ch = 1 + static_cast<int>(rng() % 16);
    qamx::Requant<Q>(m, s, zp, lo, hi)(x, ch, y);
    for (int c = 0; c < ch; ++c) {
      const Q want = requantize<Q, Rounding::kUp>(x[c], m[c], s[c], zp, lo, hi);
      if (y[c] != want && bad++ < 5)
        std::printf("x %d m %d shift %d zp %d [%d, %d]: got %d want %d\n", x[c], m[c], s[c], zp, lo, hi,
                    int{y[c]}, int{want});
    }
  }
  return bad;
}

int main() {
  std::mt19937_64 rng(7);
  const long bad = check<int8_t>(rng, 2000000) + check<uint8_t>(rng, 2000000);
  std::printf("%ld\n", bad);
  return bad != 0;
}
'''


def test_amx_requantization_is_exact(tmp_path):
    """The identity the AMX epilogue relies on, element by element (also on CPUs without
    AMX: the epilogue is AVX-512 code)."""
    import subprocess
    from support import ROOT
    from test_isa import FLAGS
    if not {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= FLAGS:
        pytest.skip("this CPU lacks AVX-512 BW/DQ/VL")
    src, exe = tmp_path / "rq.cc", tmp_path / "rq"
    src.write_text(REQUANT_MAIN)
    subprocess.run(["c++", "-std=c++17", "-O2", f"-I{ROOT / 'dlcoder' / 'runtime'}", str(src), "-o", str(exe)],
                   check=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "0", run.stdout


def test_packed_k_is_the_kernels(tmp_path):
    """ops/qlinear.py packs the weights to packed_k(k) rows of k; the kernels step through
    qgemm_kp(k): the two must agree for every k."""
    import subprocess
    from support import ROOT
    src, exe = tmp_path / "kp.cc", tmp_path / "kp"
    src.write_text('#include "dlcoder_rt/simd_qlinear.h"\n#include <cstdio>\n'
                   'int main() { for (int k = 1; k <= 5000; ++k) std::printf("%d\\n", dlcoder_rt::qgemm_kp(k)); }\n')
    subprocess.run(["c++", "-std=c++17", "-O2", f"-I{ROOT / 'dlcoder' / 'runtime'}", str(src), "-o", str(exe)],
                   check=True)
    ours = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [QL.packed_k(k) for k in range(1, 5001)]
    assert ours == want
    assert QL.packed_k(147) == 156 and QL.packed_k(68) == 72 and QL.packed_k(96) == 96
    assert all(QL._amx_block(kp) > 0 for kp in want[:200])


def test_without_bias(tmp_path):
    _check(*_fc_model(np.int8, 2, 9, 4, "NONE", True, False, seed=5, bias=False), tmp_path, "fc")
    _check(*_fc_model(np.uint8, 2, 9, 4, "NONE", False, False, seed=5, bias=False), tmp_path, "fcu8")
    # TFLite's conv Prepare requires the bias of quantized data, and so do we
    m, _ = _conv_model(np.int8, (1, 5, 5, 3), (4, 3, 3, 3), (1, 1), (1, 1), "SAME", "NONE", True, False,
                       seed=4, bias=False)
    path = tmp_path / "conv.tflite"
    path.write_bytes(m.build())
    from dlcoder.errors import DlcoderError
    with pytest.raises(DlcoderError, match="needs a bias"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_bias_scale_tflite_rejects_is_refused(tmp_path):
    m, _ = _fc_model(np.int8, 2, 9, 4, "NONE", False, False, seed=5)
    m.tensors[2]["quant"] = (0.5, 0)     # the bias: not input scale * weight scale
    path = tmp_path / "fc.tflite"
    path.write_bytes(m.build())
    with pytest.raises(RuntimeError, match="scale_diff / output_scale <= 0.02"):
        V.reference_run(str(path), [np.zeros((2, 9), np.int8)])
    from dlcoder.errors import DlcoderError
    with pytest.raises(DlcoderError, match="bias scale 0.5 is not input scale"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_per_channel_activations_are_refused(tmp_path):
    """A scheme no kernel takes names the op, the tensor and the scheme."""
    m = HandModel()
    x = m.input((1, 4, 4, 2), np.int8, quant=([0.1, 0.2], [0, 0], 3))
    w = m.const(np.ones((3, 1, 1, 2), np.int8), quant=(0.01, 0))
    b = m.const(np.zeros(3, np.int32), quant=(0.001, 0))
    y = m.output(m._tensor((1, 4, 4, 3), np.int8, quant=(0.1, 0)))
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=1, StrideH=1, StrideW=1)
    path = tmp_path / "pc.tflite"
    path.write_bytes(m.build())
    from dlcoder.errors import DlcoderError
    with pytest.raises(DlcoderError, match=r"CONV_2D.*input 0 'input_0' is quantized per channel"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
