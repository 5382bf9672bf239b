"""int8 and uint8 DEPTHWISE_CONV_2D (simd_qdepthwise.h) against TFLite's builtin kernels,
byte for byte, on every instruction-set path.

The kernels take 32 channels at a time on AVX-512 (masked tails), 16 on AVX2 and 8 on
SSE2 (tails through staged copies), fewer channels than a vector that divide it as
several pixels side by side (stride 1), and the output columns whose taps all lie in the
input as one run, the others pixel by pixel; taps outside the input read the input zero
point, which the folded bias cancels. The cases land on each of these: channel counts
1, 2, 3, 8, 13, 16, 21, 35, 40, 72 (tails of every width; the last out_c % 8 channels of
int8 round half away), 3x3, 5x5 and 3x5 windows, strides 1 and 2, SAME and VALID,
dilation, batch 2, rows narrower than the window, uint8, and scales that put results on
rounding ties. One model holds them all, side by side; each x86 path is forced with
-DDLCODER_RT_FORCE_ISA, and aarch64 (the portable loop) runs under qemu. int8 stores its
filter once, as the VNNI kernels' int8 quads (simd_qdepthwise_vnni.h): these paths read it
through the kernels of int16 pairs, which rebuild a block's pairs from it, and through the
portable loop, which reads it by index (uint8 keeps int16 pairs).
"""
import numpy as np
import pytest

import test_quantized_linear as TQL
from support import aarch64_toolchain, byte_mismatches, run_ours
from dlcoder import verify as V
from test_quantized_isa import x86_flags

I8, U8 = np.int8, np.uint8
# name: (dtype, input, filter, stride, dilation, padding, act, per_channel, ties)
CASES = {
    "c1_3x3_same": (I8, (1, 9, 11, 1), (1, 3, 3, 1), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "c2_3x3_same_ties": (I8, (1, 6, 13, 2), (1, 3, 3, 2), (1, 1), (1, 1), "SAME", "NONE", False, True),
    "c3_5x5_same": (I8, (1, 8, 9, 3), (1, 5, 5, 3), (1, 1), (1, 1), "SAME", "RELU", True, False),
    "c8_3x3_same_w23": (I8, (1, 5, 23, 8), (1, 3, 3, 8), (1, 1), (1, 1), "SAME", "RELU6", True, False),
    "c8_3x3_s2_ties": (I8, (1, 7, 9, 8), (1, 3, 3, 8), (2, 2), (1, 1), "SAME", "NONE", False, True),
    "c13_3x3_ties": (I8, (1, 7, 6, 13), (1, 3, 3, 13), (1, 1), (1, 1), "SAME", "NONE", False, True),
    "c16_3x3_same_w19": (I8, (1, 4, 19, 16), (1, 3, 3, 16), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "c21_3x3_s2_b2": (I8, (2, 9, 8, 21), (1, 3, 3, 21), (2, 2), (1, 1), "SAME", "RELU6", True, False),
    "c35_5x5_s2_ties": (I8, (1, 9, 10, 35), (1, 5, 5, 35), (2, 2), (1, 1), "SAME", "NONE", False, True),
    "c40_3x3_valid_b2": (I8, (2, 6, 7, 40), (1, 3, 3, 40), (1, 1), (1, 1), "VALID", "NONE", True, False),
    "c72_5x5_same": (I8, (1, 6, 7, 72), (1, 5, 5, 72), (1, 1), (1, 1), "SAME", "RELU", True, False),
    "c72_3x3_dil2_ties": (I8, (1, 9, 9, 72), (1, 3, 3, 72), (1, 1), (2, 2), "SAME", "NONE", False, True),
    "c24_3x5_s21_dil": (I8, (1, 10, 11, 24), (1, 3, 5, 24), (2, 1), (1, 2), "VALID", "NONE", True, False),
    # rows narrower than the window: no column has all its taps inside
    "c35_5x5_w3": (I8, (1, 6, 3, 35), (1, 5, 5, 35), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "c8_5x5_w2_ties": (I8, (1, 4, 2, 8), (1, 5, 5, 8), (1, 1), (1, 1), "SAME", "NONE", False, True),
    "c64_3x3_w1": (I8, (2, 5, 1, 64), (1, 3, 3, 64), (1, 1), (1, 1), "SAME", "RELU6", True, False),
    "u8_c21_3x3_ties": (U8, (1, 7, 6, 21), (1, 3, 3, 21), (2, 2), (1, 1), "SAME", "NONE", False, True),
    "u8_c4_3x3_ties": (U8, (1, 6, 11, 4), (1, 3, 3, 4), (1, 1), (1, 1), "SAME", "NONE", False, True),
    "u8_c40_5x5_b2": (U8, (2, 7, 8, 40), (1, 5, 5, 40), (1, 1), (1, 1), "SAME", "RELU6", False, False),
    "u8_c16_3x3_valid": (U8, (1, 5, 21, 16), (1, 3, 3, 16), (1, 1), (1, 1), "VALID", "NONE", False, False),
}


def build(path):
    """Every case in one model (the builders all add to one HandModel); returns the inputs
    and the case name of every output."""
    inputs, names = [], []
    with TQL.one_model() as shared:
        for k, (name, (dt, xs, ws, stride, dil, pad, act, per_channel, ties)) in enumerate(CASES.items()):
            _, x = TQL._conv_model(dt, xs, ws, stride, dil, pad, act, per_channel, True, seed=2000 + k, ties=ties)
            inputs += x
            names.append(name)
    path.write_bytes(shared.build())
    return inputs, names


def check(tmp_path, flags, cxx=None, emulator=()):
    model = tmp_path / "dw.tflite"
    inputs, names = build(model)
    ours, _, _ = run_ours(model, inputs, tmp_path, flags=flags, cxx=cxx, emulator=emulator)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(names, ours, refs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["avx512bw", "avx2", "sse2", "scalar"])
def test_x86_path(path, tmp_path):
    check(tmp_path, x86_flags(path))


def test_default_path(tmp_path):
    """The path the CPU picks, in the library built as shipped (-O2, no -march)."""
    check(tmp_path, ("-O2",))


def test_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    check(tmp_path, ("-O2",), cxx=cxx, emulator=emulator)
