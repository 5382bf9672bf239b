"""The direct int8 CONV_2D kernel (simd_qconv_direct.h: KxK windows without im2col on
AVX-512 VNNI, read in place from a padded unsigned copy of the input) gives TFLite's bytes.

One hand-built model holds the cases side by side: 3x3, 5x5, 7x7, 1x3 and 3x1 windows,
strides 1 and 2 (and unequal), dilation 2 (and unequal), SAME and VALID (VALID with columns
and rows the windows never reach), in_c 8, 12, 32, 64 (and 10, not a multiple of 4, which
keeps the GEMM), out_c 8 (the ymm tile), 24, 64 and 100 (panel tails; from 256 the GEMM
runs), odd map sizes (row blocks of 12 and their splits), batch 2, per-channel and
per-tensor weights, fused RELU, and uint8 activations (whose uint8 weights keep the GEMM's
int16 path: the direct kernel takes int8 weights only). Run on the machine's own path (the direct kernel where the CPU has
VNNI), with the VNNI path forced and without AMX, on two threads with every task split
(DLCODER_RT_MIN_TASK_MACS=1: each task copies its own band of rows), and under
AddressSanitizer (the copy and the tiles' reads stay inside the scratch the generator plans).
"""
import numpy as np
import pytest

import test_quantized_isa as TQI
import test_quantized_linear as TQL
from dlcoder import compiler, verify as V
from support import byte_mismatches, check_sanitized, run_ours, sanitizer_env

HandModel = TQL.HandModel

I8 = ((0.05, -3), (0.3, 7), 0.004)
RELU = ((0.05, -3), (0.2, -128), 0.004)
U8 = ((0.05, 120), (0.3, 128), 0.006)
# name: (dtype, input shape, out_c, (k_h, k_w), (stride_h, stride_w), (dil_h, dil_w), SAME, per_channel, quant, act)
CASES = {
    "k3_s1_same_c32_o64": (np.int8, (1, 13, 15, 32), 64, (3, 3), (1, 1), (1, 1), True, True, RELU, 1),
    "k3_s2_same_c64_o100": (np.int8, (1, 11, 14, 64), 100, (3, 3), (2, 2), (1, 1), True, True, I8, 0),
    "k3_s1_d2_same_c12_o24": (np.int8, (1, 9, 17, 12), 24, (3, 3), (1, 1), (2, 2), True, False, I8, 0),
    "k5_s1_same_c8_o8_b2": (np.int8, (2, 7, 9, 8), 8, (5, 5), (1, 1), (1, 1), True, True, RELU, 1),
    "k7_s2_valid_c8_o24": (np.int8, (1, 16, 15, 8), 24, (7, 7), (2, 2), (1, 1), False, True, I8, 0),
    "k13_s1_same_c32_o24": (np.int8, (1, 6, 25, 32), 24, (1, 3), (1, 1), (1, 1), True, True, I8, 0),
    "k31_s12_valid_c12_o64": (np.int8, (1, 10, 9, 12), 64, (3, 1), (1, 2), (1, 1), False, False, I8, 0),
    "k3_s21_d12_same_c16_o40": (np.int8, (1, 10, 11, 16), 40, (3, 3), (2, 1), (1, 2), True, True, I8, 0),
    "k3_s2_valid_c12_o8": (np.int8, (1, 10, 10, 12), 8, (3, 3), (2, 2), (1, 1), False, True, I8, 0),
    "k3_s1_same_c10_gemm": (np.int8, (1, 7, 8, 10), 24, (3, 3), (1, 1), (1, 1), True, True, I8, 0),
    "u8_k3_s1_same_c16_o24": (np.uint8, (1, 9, 7, 16), 24, (3, 3), (1, 1), (1, 1), True, False, U8, 1),
    "k3_s1_same_c64_o64_w29": (np.int8, (1, 5, 29, 64), 64, (3, 3), (1, 1), (1, 1), True, True, I8, 0),
}


def _out(n, k, s, d, same):
    return -(-n // s) if same else (n - (k - 1) * d - 1) // s + 1


def _conv(m, rng, dt, xs, oc, kern, stride, dil, same, pc, quant, act):
    (qx, qy, ws) = quant
    x = m.input(xs, dt, quant=qx)
    if dt == np.int8:
        w = rng.integers(-127, 128, (oc, *kern, xs[3])).astype(np.int8)
        qw = ((rng.uniform(0.5, 2.0, oc) * ws).astype(np.float32), np.zeros(oc, np.int64), 0) if pc else (ws, 0)
    else:
        w = rng.integers(0, 256, (oc, *kern, xs[3])).astype(np.uint8)
        qw = (ws, 131)
    scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
    b = m.const(rng.integers(-3000, 3000, oc).astype(np.int32), quant=(scale, np.zeros(np.size(scale), np.int64), 0))
    oh = _out(xs[1], kern[0], stride[0], dil[0], same)
    ow = _out(xs[2], kern[1], stride[1], dil[1], same)
    y = m.output(m._tensor([xs[0], oh, ow, oc], dt, quant=qy))
    m.op("CONV_2D", [x, m.const(w, quant=qw), b], [y], "Conv2DOptions", Padding=0 if same else 1,
         StrideH=stride[0], StrideW=stride[1], DilationHFactor=dil[0], DilationWFactor=dil[1],
         FusedActivationFunction=act)
    return TQL._input(rng, dt, xs, qx[1])


@pytest.fixture
def model(tmp_path):
    m, rng = HandModel(), np.random.default_rng(19)
    inputs = [_conv(m, rng, *case) for case in CASES.values()]
    path = tmp_path / "qkxk.tflite"
    path.write_bytes(m.build())
    return path, inputs


def _check(path, inputs, work, flags=("-O2",), threads=1):
    if threads == 1:
        ours, _, _ = run_ours(path, inputs, work, flags=flags)
    else:
        lib, g = compiler.compile_graph(compiler.load_graph(str(path)), "m")
        compiler.write_library(lib, str(work / "lib"))
        exe = V.build_runner(str(work / "lib"), "m", str(work), flags=flags)
        ours, _ = V.run_runner(exe, g, inputs, str(work), threads=threads)
    refs, _ = V.reference_run(str(path), inputs)
    problems = byte_mismatches(list(CASES), ours, refs)
    assert not problems, "\n".join(problems)


def test_direct_convs_match_tflite(model, tmp_path):
    _check(*model, tmp_path)


def test_vnni_path_without_amx_matches_tflite(model, tmp_path):
    _check(*model, tmp_path, flags=TQI.x86_flags("avx512vnni") + ("-DDLCODER_RT_FORCE_AMX=0",))


def test_two_threads_match_tflite(model, tmp_path):
    _check(*model, tmp_path, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"), threads=2)


def test_direct_convs_stay_inside_their_buffers(model, tmp_path, monkeypatch):
    sanitizer_env(monkeypatch)
    check_sanitized(model[0], tmp_path, model[1], threads=(1, 2))
