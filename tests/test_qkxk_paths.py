"""The direct int8 CONV_2D kernel (simd_qconv_direct.h: KxK windows without im2col on
AVX-512 VNNI, read in place from a padded unsigned copy of the input) gives TFLite's bytes.

One hand-built model holds the cases side by side: 3x3, 5x5, 7x7, 1x3 and 3x1 windows,
strides 1 and 2 (and unequal), dilation 2 (and unequal), SAME and VALID (VALID with columns
and rows the windows never reach), in_c 8, 12, 16, 20, 32, 64 (and 10, not a multiple of
4, which keeps the GEMM), out_c 8 (the ymm tile), 24, 48, 64, 96, 100, 256 and 272 (tiles
of two panels, single ones, panel tails), odd map sizes (row blocks of 14 and 12 and their
splits, a map one pixel wide), batch 2, per-channel and per-tensor weights, fused RELU, and
uint8 activations (whose uint8 weights keep the GEMM's int16 path: the direct kernel takes
int8 weights only). Run on the machine's own path (the direct kernel where the CPU has
VNNI), with the VNNI path forced and without AMX, on two threads with every task split
(DLCODER_RT_MIN_TASK_MACS=1: each task copies its own band of rows), and under
AddressSanitizer (the copy and the tiles' reads stay inside the scratch the generator plans).
"""
import numpy as np
import pytest

import test_quantized_isa as TQI
from qconv_cases import I8, RELU, U8, build, check
from support import check_sanitized, sanitizer_env

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
    "k3_s1_d2_same_c64_o64_w23": (np.int8, (1, 6, 23, 64), 64, (3, 3), (1, 1), (2, 2), True, True, RELU, 1),
    "k3_s1_same_c8_o48_w13": (np.int8, (1, 5, 13, 8), 48, (3, 3), (1, 1), (1, 1), True, False, I8, 0),
    "k5_s1_d12_valid_c20_o96_w19": (np.int8, (1, 9, 19, 20), 96, (5, 5), (1, 1), (1, 2), False, True, I8, 0),
    "k3_s1_same_c16_o32_w1": (np.int8, (1, 5, 1, 16), 32, (3, 3), (1, 1), (1, 1), True, True, I8, 0),
    "k3_s1_same_c64_o256_w9": (np.int8, (1, 4, 9, 64), 256, (3, 3), (1, 1), (1, 1), True, True, RELU, 1),
    "k3_s2_same_c16_o272_w13": (np.int8, (1, 7, 13, 16), 272, (3, 3), (2, 2), (1, 1), True, True, I8, 0),
}



@pytest.fixture
def model(tmp_path):
    path = tmp_path / "qkxk.tflite"
    return path, build(path, CASES, seed=19)


def _check(path, inputs, work, **kw):
    check(path, inputs, CASES, work, **kw)


def test_direct_convs_match_tflite(model, tmp_path):
    _check(*model, tmp_path)


def test_vnni_path_without_amx_matches_tflite(model, tmp_path):
    _check(*model, tmp_path, flags=TQI.x86_flags("avx512vnni") + ("-DDLCODER_RT_FORCE_AMX=0",))


@pytest.mark.parametrize("path", ["avx512bw", "avx2", "scalar"])
def test_paths_without_vnni_run_the_gemm_and_match_tflite(model, tmp_path, path):
    """The generator emits these convs as QConvKernel::kDirect; a CPU without VNNI runs
    them as im2col + GEMM (qlinear.h: conv2d_gemm), which must give the same bytes."""
    _check(*model, tmp_path, flags=TQI.x86_flags(path))


def test_two_threads_match_tflite(model, tmp_path):
    _check(*model, tmp_path, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"), threads=2)


def test_direct_convs_stay_inside_their_buffers(model, tmp_path, monkeypatch):
    sanitizer_env(monkeypatch)
    check_sanitized(model[0], tmp_path, model[1], threads=(1, 2))


def test_generator_picks_the_kernels_whose_geometry_the_runtime_accepts(tmp_path):
    """The generator names each int8 conv's kernel family (ops/qlinear.py: _conv_kernel) by
    its own copy of qconv_direct_fits and qstem_fits; the runtime runs a family whose test
    fails as the GEMM, which is right but slow. Both copies, on 2,000 random geometries."""
    import subprocess
    from dlcoder import verify as V
    from dlcoder.codegen.runtime_facts import RUNTIME_DIR
    from dlcoder.ops.qlinear import direct_fits, stem_fits

    fields = ("in_c", "out_c", "k_h", "k_w", "stride_h", "stride_w", "dil_h", "dil_w")
    src = tmp_path / "fits.cc"
    src.write_text(
        '#include <cstdio>\n#include "dlcoder_rt/simd_qconv_direct.h"\n#include "dlcoder_rt/simd_qstem.h"\n'
        "int main() {\n  dlcoder_rt::QConvParams p{};\n"
        f"  while (std::scanf(\"{' '.join(['%d'] * len(fields))}\", "
        + ", ".join(f"&p.{f}" for f in fields) + f") == {len(fields)})\n"
        '    std::printf("%d %d\\n", int(dlcoder_rt::qconv_direct_fits(p)), int(dlcoder_rt::qstem_fits(p)));\n}\n')
    exe = tmp_path / "fits"
    subprocess.run(["c++", "-std=c++17", "-O1", "-I", str(RUNTIME_DIR.parent), str(src), "-o", str(exe)], check=True)
    rng = np.random.default_rng(7)
    cases = [dict(zip(fields, (int(rng.integers(1, 20)) if rng.random() < 0.6 else int(rng.integers(1, 300)),
                               int(rng.integers(1, 300)), *rng.integers(1, 8, 2).tolist(),
                               *rng.integers(1, 4, 2).tolist(), *rng.integers(1, 3, 2).tolist())))
             for _ in range(2000)]
    out = subprocess.run([str(exe)], input="\n".join(" ".join(str(c[f]) for f in fields) for c in cases),
                         capture_output=True, text=True, check=True).stdout.split("\n")
    runtime = [tuple(map(int, line.split())) for line in out if line]
    generator = [(int(direct_fits(c)), int(stem_fits(c))) for c in cases]
    assert len(runtime) == len(cases)
    wrong = [(c, r, p) for c, r, p in zip(cases, runtime, generator) if r != p]
    assert not wrong, wrong[:5]
    assert {r for r in runtime} >= {(1, 0), (0, 1), (0, 0)}  # every family drawn
