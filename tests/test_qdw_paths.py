"""int8 DEPTHWISE_CONV_2D on every instruction-set path, byte for byte against TFLite's
builtin kernels, with the cases aimed at the AVX-512 VNNI kernels (simd_qdepthwise.h:
qdw::vnni, 64 channels per block, four taps per vpdpbusd, the inputs flipped to unsigned
and the flip folded into the bias).

The channel counts fall on both sides of vnni_pays (which channel counts take the VNNI
kernels rather than avx512's): whole blocks of 64 (64, 128), tails of every kind (48, 130,
134, 144, 200; 72 and 96 run avx512's), fewer channels that divide 64 at stride 1 (8, 16, 32: pixels side by side)
and at stride 2 (16: avx512's run_split, two pixels from two loads, an odd one after).
Windows 1x1, 3x3, 3x5 and 5x5 (1, 9, 15 and 25 taps: quads padded with zero weights), strides 1 and 2, SAME and VALID, dilation, batch 2,
rows narrower than the window (every column on the edge path), depth multiplier 2 (the
portable loop), every fused activation. Per-channel scales span multipliers above 1 (a left
shift) down to 2^-25, and the tie scales put results on exact halves where the channels of
TFLite's vector loop (rounding half up) and its tail (half away) differ. uint8 (no VNNI
filter) rides along. Maps taller than a group of rows (simd_qdepthwise_driver.h:
kDwRowGroup, the rows whose taps a task sets up before their channel blocks), channels 1,
3, 24 and 72 among them, run on one thread and on two. Each x86 path is forced (test_quantized_isa.x86_flags: avx512vnni is
VNNI on, avx512bw off); aarch64 (the portable loop) runs under qemu.
"""
import sys

import numpy as np
import pytest

from dlcoder import compiler
from dlcoder import verify as V
from support import TESTS, aarch64_toolchain, byte_mismatches
from test_quantized_isa import x86_flags

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
I8, U8 = np.int8, np.uint8

# name: (dtype, input shape, kernel (h, w), stride, dilation, padding, act, depth multiplier, scales)
# scales: "normal" (per channel, as converters give), "extreme" (per channel, multipliers
# from above 1 to 2^-25), "ties" (per tensor, products powers of two)
CASES = {
    "c64_3x3_s1_relu6": (I8, (1, 9, 11, 64), (3, 3), 1, 1, "SAME", "RELU6", 1, "normal"),
    "c48_3x3_s1_tail": (I8, (1, 7, 9, 48), (3, 3), 1, 1, "SAME", "NONE", 1, "normal"),
    "c134_3x3_s1_ties": (I8, (1, 6, 9, 134), (3, 3), 1, 1, "SAME", "NONE", 1, "ties"),
    "c72_5x5_s2_ties": (I8, (1, 9, 10, 72), (5, 5), 2, 1, "SAME", "NONE", 1, "ties"),
    "c128_3x3_s2_extreme": (I8, (1, 9, 10, 128), (3, 3), 2, 1, "SAME", "NONE", 1, "extreme"),
    "c130_3x3_s2_valid": (I8, (1, 9, 8, 130), (3, 3), 2, 1, "VALID", "RELU", 1, "normal"),
    "c144_5x5_s1_relu": (I8, (1, 8, 9, 144), (5, 5), 1, 1, "SAME", "RELU", 1, "normal"),
    "c200_5x5_s2_extreme": (I8, (1, 9, 9, 200), (5, 5), 2, 1, "SAME", "RELU6", 1, "extreme"),
    "c96_3x3_dil2": (I8, (1, 9, 9, 96), (3, 3), 1, 2, "SAME", "NONE", 1, "normal"),
    "c64_3x5_s1_valid_b2": (I8, (2, 6, 9, 64), (3, 5), 1, 1, "VALID", "RELU_N1_TO_1", 1, "normal"),
    "c64_1x1": (I8, (1, 4, 5, 64), (1, 1), 1, 1, "VALID", "NONE", 1, "extreme"),
    "c64_5x5_w2_b2": (I8, (2, 5, 2, 64), (5, 5), 1, 1, "SAME", "RELU6", 1, "normal"),
    "c8_3x3_s1": (I8, (1, 5, 23, 8), (3, 3), 1, 1, "SAME", "RELU6", 1, "normal"),
    "c16_3x3_s1_ties": (I8, (1, 6, 19, 16), (3, 3), 1, 1, "SAME", "NONE", 1, "ties"),
    "c32_5x5_s1": (I8, (1, 6, 13, 32), (5, 5), 1, 1, "SAME", "NONE", 1, "extreme"),
    "c16_3x3_s2_valid": (I8, (1, 11, 11, 16), (3, 3), 2, 1, "VALID", "NONE", 1, "normal"),
    "c16_5x5_s2_same_ties": (I8, (1, 9, 14, 16), (5, 5), 2, 1, "SAME", "NONE", 1, "ties"),
    "c24_mult2_3x3": (I8, (1, 6, 7, 24), (3, 3), 1, 1, "SAME", "RELU", 2, "normal"),
    "u8_c64_3x3": (U8, (1, 6, 7, 64), (3, 3), 1, 1, "SAME", "RELU6", 1, "normal"),
    # taller maps: groups of kDwRowGroup rows and a remainder, split over two threads
    "c1_3x3_s1_tall": (I8, (1, 21, 9, 1), (3, 3), 1, 1, "SAME", "NONE", 1, "normal"),
    "c3_5x5_s2_dil2": (I8, (1, 23, 13, 3), (5, 5), 2, 2, "SAME", "RELU", 1, "normal"),
    "c24_3x3_s2_odd": (I8, (1, 19, 11, 24), (3, 3), 2, 1, "SAME", "RELU6", 1, "normal"),
    "c72_3x3_s1_tall": (I8, (1, 19, 7, 72), (3, 3), 1, 1, "VALID", "NONE", 1, "ties"),
    "c16_5x5_s1_b2_tall": (I8, (2, 17, 6, 16), (5, 5), 1, 1, "SAME", "NONE", 1, "extreme"),
    "u8_c24_5x5_s2": (U8, (1, 15, 9, 24), (5, 5), 2, 1, "SAME", "NONE", 1, "normal"),
}


def _out_size(n, k, s, d, pad):
    eff = (k - 1) * d + 1
    return -(-n // s) if pad == "SAME" else (n - eff) // s + 1


def _scales(rng, kind, oc, qx, qy):
    """Weight scales: per channel (with zero points and axis) or per tensor."""
    if kind == "ties":
        return 0.25, 0
    if kind == "normal":
        s = rng.uniform(0.001, 0.02, oc)
    else:  # multipliers qx * s / qy from about 3 (a left shift of 2) down to 2^-25
        s = qy[0] / qx[0] * np.exp2(rng.uniform(-25, 1.6, oc))
        s[:4] = qy[0] / qx[0] * np.array([2.99, 1.0, 0.5, 2.0 ** -25])
    return s.astype(np.float32), np.zeros(oc, np.int64), 3


def _add_case(m, rng, dt, xs, kernel, stride, dil, pad, act, mult, kind):
    qx, qy = ((0.05, -3), (0.3, 7)) if dt == I8 else ((0.05, 120), (0.3, 128))
    if kind == "ties":
        qx, qy = (0.5, qx[1]), (4.0, qy[1])
    oc = xs[3] * mult
    x = m.input(xs, dt, quant=qx)
    qw = _scales(rng, kind, oc, qx, qy)
    if dt == I8:
        w = rng.integers(-128, 128, (1, *kernel, oc)).astype(np.int8)
        w.reshape(-1)[:2] = [-128, 127]
    else:
        w, qw = rng.integers(0, 256, (1, *kernel, oc)).astype(np.uint8), (0.006, 131)
    scale = np.atleast_1d(np.asarray(qw[0], np.float32) * np.float32(qx[0]))
    bias = m.const(rng.integers(-3000, 3000, oc).astype(np.int32), quant=(scale, np.zeros(scale.size, np.int64), 0))
    oh = _out_size(xs[1], kernel[0], stride, dil, pad)
    ow = _out_size(xs[2], kernel[1], stride, dil, pad)
    y = m.output(m._tensor([xs[0], oh, ow, oc], dt, quant=qy))
    m.op("DEPTHWISE_CONV_2D", [x, m.const(w, quant=qw), bias], [y], "DepthwiseConv2DOptions",
         Padding=0 if pad == "SAME" else 1, StrideH=stride, StrideW=stride, DilationHFactor=dil,
         DilationWFactor=dil, FusedActivationFunction=ACTS[act], DepthMultiplier=mult)
    info = np.iinfo(dt)
    v = rng.integers(info.min, info.max + 1, xs).astype(dt)
    v.reshape(-1)[:3] = [info.min, info.max, qx[1]]
    v[0, 0, :, :] = info.max  # the widest sums: a row of the largest input
    return v


def build(path):
    """Every case in one model; (inputs, the case name of every output)."""
    m, inputs = HandModel(), []
    for k, (name, case) in enumerate(CASES.items()):
        inputs.append(_add_case(m, np.random.default_rng(4100 + k), *case))
    path.write_bytes(m.build())
    return inputs, list(CASES)


def check(tmp_path, flags=("-O2",), cxx=None, emulator=()):
    """Byte for byte against TFLite, on one thread and on two (the output rows split)."""
    model = tmp_path / "qdw.tflite"
    inputs, names = build(model)
    lib, g = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    # (every op splits its rows, however small)
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), cxx=cxx,
                         flags=(*flags, "-DDLCODER_RT_MIN_TASK_MACS=1"))
    refs, _ = V.reference_run(str(model), inputs)
    for threads in (1, 2):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), emulator=emulator, threads=threads)
        problems = byte_mismatches(names, ours, refs)
        assert not problems, f"{threads} threads:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", ["avx512vnni", "avx512bw", "avx2", "sse2", "scalar"])
def test_x86_path(path, tmp_path):
    check(tmp_path, x86_flags(path))


def test_default_path(tmp_path):
    """The path the CPU picks, in the library built as shipped (-O2, no -march)."""
    check(tmp_path)


def test_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    check(tmp_path, cxx=cxx, emulator=emulator)
