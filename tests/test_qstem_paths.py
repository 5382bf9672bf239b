"""The stem int8 CONV_2D kernel (simd_qstem.h: few input channels, output pixels in the
lanes of AVX-512 VNNI, each group of 4 k built by VBMI byte permutes from copied input
rows) gives TFLite's bytes.

One hand-built model holds the cases side by side: in_c 1, 2, 3 and 4; 3x3 stride 2 SAME
(the stem), 3x3 stride 1, 7x7 stride 2 (pad_left 2 or 3), 5x5 and 1x3 / 3x1 windows,
VALID; widths that are not a multiple of 16 output pixels (a last block of 1 to 15) and
rows wider than 16; out_c 8 and 16 (whole vectors stored), 24, 32 and 64 (panels stored
pixel by pixel, a tail panel of 8), 5 and 7 (quads of a panel past the channels); groups
of 4 k that run into the next tap row (k_w * in_c of 3, 6, 9, 21), per-channel and
per-tensor weights, left and far right multiplier shifts, RELU6, RELU and none, batch 2,
uint8 activations; a stride 3 (stride * in_c > 8) and a dilation 2 that keep the GEMM. Run
on the machine's own path (the stem kernel where the CPU has VNNI and VBMI), on two
threads with every task split (DLCODER_RT_MIN_TASK_MACS=1), and under AddressSanitizer
(the permutes' 128-byte reads stay inside the copied rows the generator plans).
"""
import numpy as np
import pytest

from qconv_cases import I8, RELU, U8, build, check
from support import check_sanitized, sanitizer_env

LEFT = ((0.5, 2), (0.01, -5), 0.25)
RIGHT = ((0.002, 1), (40.0, 3), 0.003)
# name: (dtype, input shape, out_c, (k_h, k_w), (stride_h, stride_w), (dil_h, dil_w), SAME, per_channel, quant, act)
CASES = {
    "k3_s2_same_c3_o8_relu6": (np.int8, (1, 33, 37, 3), 8, (3, 3), (2, 2), (1, 1), True, True, RELU, 3),
    "k3_s2_same_c3_o32_relu6": (np.int8, (1, 20, 70, 3), 32, (3, 3), (2, 2), (1, 1), True, True, RELU, 3),
    "k3_s2_same_c3_o16_b2": (np.int8, (2, 9, 34, 3), 16, (3, 3), (2, 2), (1, 1), True, False, I8, 0),
    "k3_s1_same_c3_o24": (np.int8, (1, 7, 19, 3), 24, (3, 3), (1, 1), (1, 1), True, True, I8, 0),
    "k7_s2_same_c3_o64": (np.int8, (1, 12, 41, 3), 64, (7, 7), (2, 2), (1, 1), True, True, I8, 1),
    "k7_s2_same_c3_o8_w224": (np.int8, (1, 5, 224, 3), 8, (7, 7), (2, 2), (1, 1), True, True, RELU, 3),
    "k7_s2_valid_c3_o16": (np.int8, (1, 15, 40, 3), 16, (7, 7), (2, 2), (1, 1), False, True, I8, 0),
    "k3_s2_valid_c3_o24_left": (np.int8, (1, 10, 21, 3), 24, (3, 3), (2, 2), (1, 1), False, True, LEFT, 0),
    "k3_s2_same_c1_o16": (np.int8, (1, 11, 35, 1), 16, (3, 3), (2, 2), (1, 1), True, True, I8, 0),
    "k3_s1_same_c1_o8_tensor": (np.int8, (1, 6, 17, 1), 8, (3, 3), (1, 1), (1, 1), True, False, I8, 3),
    "k3_s2_same_c2_o32_right": (np.int8, (1, 9, 33, 2), 32, (3, 3), (2, 2), (1, 1), True, True, RIGHT, 0),
    "k5_s1_same_c2_o7": (np.int8, (1, 8, 18, 2), 7, (5, 5), (1, 1), (1, 1), True, True, I8, 0),
    "k3_s2_same_c4_o64": (np.int8, (1, 10, 31, 4), 64, (3, 3), (2, 2), (1, 1), True, True, RELU, 3),
    "k7_s2_same_c4_o5_tensor": (np.int8, (1, 9, 23, 4), 5, (7, 7), (2, 2), (1, 1), True, False, I8, 0),
    "k13_s1_same_c1_o24": (np.int8, (1, 6, 20, 1), 24, (1, 3), (1, 1), (1, 1), True, True, I8, 0),
    "k31_s12_valid_c3_o8": (np.int8, (1, 8, 35, 3), 8, (3, 1), (1, 2), (1, 1), False, True, I8, 0),
    "u8_k3_s2_same_c3_o32": (np.uint8, (1, 13, 36, 3), 32, (3, 3), (2, 2), (1, 1), True, False, U8, 3),
    "u8_k3_s2_same_c3_o8": (np.uint8, (1, 9, 20, 3), 8, (3, 3), (2, 2), (1, 1), True, False, U8, 0),
    # the GEMM: stride_w * in_c > 8, a dilation
    "k3_s3_same_c3_o16_gemm": (np.int8, (1, 10, 20, 3), 16, (3, 3), (3, 3), (1, 1), True, True, I8, 0),
    "k3_s1_d2_same_c3_o8_gemm": (np.int8, (1, 9, 18, 3), 8, (3, 3), (1, 1), (2, 2), True, True, I8, 0),
}



@pytest.fixture
def model(tmp_path):
    path = tmp_path / "qstem.tflite"
    return path, build(path, CASES, seed=23)


def _check(path, inputs, work, **kw):
    check(path, inputs, CASES, work, **kw)


def test_stem_convs_match_tflite(model, tmp_path):
    _check(*model, tmp_path)


def test_two_threads_match_tflite(model, tmp_path):
    _check(*model, tmp_path, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"), threads=2)


def test_stem_convs_stay_inside_their_buffers(model, tmp_path, monkeypatch):
    sanitizer_env(monkeypatch)
    check_sanitized(model[0], tmp_path, model[1], threads=(1, 2))
