"""Every instruction-set path of the quantized TRANSPOSE_CONV kernels (qtransposeconv.h: the
image form, simd_qtransposeconv.h, and the phase form, simd_qtransposeconv_phases.h on
CONV_2D's GEMM) gives TFLite's bytes: the machine's own choice, each x86 path forced
(AVX-512 with VNNI's vpdpwssd and without it, AVX2, SSE2, the portable one) and aarch64
(NEON builds, which take the portable kernel, and the forced scalar path) under qemu.

One hand-built model holds the cases side by side (test_quantized_misc's builder, which
also computes the accumulators in numpy), with sizes on the kernel's edges: output channels
not a multiple of 8 (int8: the half-up / half-away split of the requantization) or 16 (the
padded channel block), 16 < out_c <= 32 and past 32 (the two- and one-vector tiles), odd
in_c (the zero second half of the last pair), input widths not a multiple of the 4- or
8-pixel tile, strides 1, 2, 3 and unequal ones, kernels 2 to 5, SAME and VALID, batch 2, bias
present and absent, int8 per channel and per tensor, uint8 with zero points; the tie cases
use scales that put accumulators on exact halves, checked in numpy for both rounding
regions.

The "ph_" cases take the phase form (every output rounding half up: int8 with out_c a
multiple of 8, uint8 with a size that is a multiple of 16; checked on the lowering): kernels
2 to 5 against strides 1 to 3 (a kernel smaller than its stride leaves phases without taps,
bias only), output sizes TFLite derives the padding from rather than in * stride (odd, one
past VALID's), phase rows longer than a GEMM tile, k past a panel's, ties (on the half-up
region only, which is all there is).
"""
import zlib

import numpy as np
import pytest

import test_quantized_misc as TQM
from dlcoder import compiler, verify as V
from dlcoder.ops import qtransposeconv as QTC
from support import aarch64_toolchain, byte_mismatches, run_ours
from test_quantized_isa import x86_flags

I8, U8 = np.int8, np.uint8
PLAIN_Q = {I8: ((0.05, -3), (0.08, 5)), U8: ((0.05, 120), (0.08, 100))}

# name: (dtype, input shape, out_c, kernel, stride, padding, activation, per_channel, bias, ties)
CASES = {
    "i8_pc_k3_s2_same_c19_b2_ties": (I8, (2, 5, 7, 3), 19, (3, 3), (2, 2), "SAME", "NONE", True, True, True),
    "i8_pt_k2_s1_valid_c13_nobias": (I8, (1, 4, 6, 5), 13, (2, 2), (1, 1), "VALID", "NONE", False, False, False),
    "i8_pc_k5_s3_same_c33_ic7_w9": (I8, (1, 4, 9, 7), 33, (5, 5), (3, 3), "SAME", "RELU6", True, True, False),
    "ph_i8_pc_k45_s23_valid_c40_b2": (I8, (2, 3, 5, 20), 40, (4, 5), (2, 3), "VALID", "RELU", True, True, False),
    "ph_i8_pt_k4_s2_same_c48_ic32": (I8, (1, 6, 10, 32), 48, (4, 4), (2, 2), "SAME", "NONE", False, True, False),
    "i8_pt_k3_s2_same_c13_ties": (I8, (1, 6, 5, 4), 13, (3, 3), (2, 2), "SAME", "NONE", False, True, True),
    "u8_k4_s2_same_c5_ties": (U8, (1, 6, 5, 4), 5, (4, 3), (2, 1), "SAME", "NONE", False, True, True),
    "u8_k3_s3_valid_c17_b2": (U8, (2, 4, 5, 3), 17, (3, 3), (3, 3), "VALID", "RELU6", False, True, False),
    "ph_u8_k5_s1_same_c24_nobias": (U8, (1, 5, 6, 9), 24, (5, 5), (1, 1), "SAME", "NONE", False, False, False),
    "u8_k3_s2_valid_c11_ties": (U8, (1, 7, 7, 3), 11, (3, 3), (2, 2), "VALID", "NONE", False, True, True),
    "ph_i8_pc_k3_s2_same_c16_b2_ties": (I8, (2, 5, 7, 3), 16, (3, 3), (2, 2), "SAME", "NONE", True, True, True),
    "ph_i8_pt_k2_s2_valid_c8_nobias_ties": (I8, (1, 4, 6, 5), 8, (2, 2), (2, 2), "VALID", "NONE", False, False,
                                            True),
    "ph_i8_pc_k5_s3_same_c24_ic7": (I8, (1, 4, 9, 7), 24, (5, 5), (3, 3), "SAME", "RELU6", True, True, False),
    "ph_i8_pc_k4_s3_valid_c32_plus1": (I8, (1, 3, 4, 6), 32, (4, 4), (3, 3), "VALID", "NONE", True, True, False),
    "ph_i8_pc_k2_s3_same_c8_b2": (I8, (2, 3, 5, 4), 8, (2, 2), (3, 3), "SAME", "RELU", True, True, False),
    "ph_i8_pt_k45_s12_same_c40_ic33": (I8, (1, 5, 4, 33), 40, (4, 5), (1, 2), "SAME", "NONE", False, True, False),
    "ph_i8_pc_k3_s2_same_c48_w30": (I8, (1, 3, 30, 16), 48, (3, 3), (2, 2), "SAME", "NONE", True, True, False),
    "ph_u8_k3_s2_same_c16_ties": (U8, (1, 6, 5, 4), 16, (3, 3), (2, 2), "SAME", "NONE", False, True, True),
    "ph_u8_k5_s1_valid_c8_nobias": (U8, (1, 4, 4, 3), 8, (5, 5), (1, 1), "VALID", "NONE", False, False, False),
}
# output sizes other than _tconv's (in * stride for SAME, (in - 1) * stride + k for VALID)
OUT_HW = {
    "ph_i8_pc_k3_s2_same_c16_b2_ties": (9, 13),
    "ph_i8_pc_k4_s3_valid_c32_plus1": (11, 14),
    "ph_i8_pt_k45_s12_same_c40_ic33": (5, 7),
}


def _tconv(name, dt, xs, oc, kern, stride, pad, act, pc, seed, qx, qy, w_scale=None, bias=True):
    """test_quantized_misc._tconv with this file's output size for `name`."""
    return TQM._tconv(dt, xs, oc, kern, stride, pad, act, pc, seed, qx, qy, w_scale=w_scale, bias=bias,
                      out_hw=OUT_HW.get(name))


def _has_ties(dt, acc, mult, shift, zp) -> bool:
    """Accumulators in both rounding regions whose two roundings give different output
    bytes (test_quantized_misc's regions; tie cases have no activation), or in the half-up
    one where there is no other (the phase form's cases)."""
    info = np.iinfo(dt)
    up, away = (np.clip(TQM.Q.multiply_by_quantized_multiplier(acc, mult, shift, mode) + zp, info.min, info.max)
                for mode in ("up", "away"))
    ties = up != away
    if dt == I8:
        split = acc.shape[-1] // 8 * 8
        return bool(ties[..., :split].any() and (split == acc.shape[-1] or ties[..., split:].any()))
    flat = ties.reshape(-1)
    split = flat.size // 16 * 16
    return bool(flat[:split].any() and (split == flat.size or flat[split:].any()))


def _seed(name, dt, xs, oc, kern, stride, pad, act, pc, bias, ties) -> int:
    """The first seed from the name's whose accumulators land on ties in both rounding
    regions (a tie case; the name's own otherwise), tried on models of their own."""
    first = zlib.crc32(name.encode())
    if not ties:
        return first
    for seed in range(first, first + 100):
        _, _, acc, (mult, shift) = _tconv(name, dt, xs, oc, kern, stride, pad, act, pc, seed, *TQM.TIE_Q[dt],
                                          w_scale=0.5, bias=bias)
        if _has_ties(dt, acc, mult, shift, TQM.TIE_Q[dt][1][1]):
            return seed
    raise AssertionError(f"{name}: no seed gives ties in both rounding regions")


def build(path):
    """The model with every case side by side; returns (inputs, case names)."""
    seeds = {name: _seed(name, *case) for name, case in CASES.items()}
    shared = TQM.HandModel()
    real = TQM.HandModel
    TQM.HandModel = lambda: shared
    inputs = []
    try:
        for name, (dt, xs, oc, kern, stride, pad, act, pc, bias, ties) in CASES.items():
            qx, qy = TQM.TIE_Q[dt] if ties else PLAIN_Q[dt]
            _, x, _, _ = _tconv(name, dt, xs, oc, kern, stride, pad, act, pc, seeds[name], qx, qy,
                                w_scale=0.5 if ties else None, bias=bias)
            inputs.append(x)
    finally:
        TQM.HandModel = real
    path.write_bytes(shared.build())
    return inputs, list(CASES)


def check(tmp_path, flags, cxx=None, emulator=()):
    model = tmp_path / "qtconv.tflite"
    inputs, names = build(model)
    ours, _, _ = run_ours(model, inputs, tmp_path, flags=flags, cxx=cxx, emulator=emulator)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(names, ours, refs)
    assert not problems, "\n".join(problems)


def test_cases_take_the_forms_named(tmp_path):
    """The "ph_" cases, and only they, lower to the phase form."""
    model = tmp_path / "qtconv.tflite"
    _, names = build(model)
    g = compiler.load_graph(str(model))
    forms = [QTC._phase_form(n, g) for n in g.nodes if n.op == "TRANSPOSE_CONV"]
    assert forms == [name.startswith("ph_") for name in names]


X86 = ["native", "avx512bw", "avx2", "sse2", "scalar"]


@pytest.mark.parametrize("path", X86)
def test_x86_path(path, tmp_path):
    check(tmp_path, ("-O2",) if path == "native" else x86_flags(path))


@pytest.mark.parametrize("path", ["neon", "scalar"])
def test_aarch64_path(path, tmp_path):
    cxx, emulator = aarch64_toolchain()
    flags = ("-O2",) if path == "neon" else ("-O2", "-DDLCODER_RT_FORCE_ISA=0")
    check(tmp_path, flags, cxx=cxx, emulator=emulator)
