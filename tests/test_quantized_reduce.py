"""Quantized pools, reductions and softmax (dlcoder/ops/qreduce.py) match TFLite byte for
byte, or refuse what TFLite rejects.

The models are tests/models/quantized_reduce/ (make_quantized_reduce_models.py says what
each pins down): several ops per model on inputs holding the dtype's extremes and the zero
point. Beside them, without a C++ compile: the softmax table (glibc's expf emulated in
dlcoder/quant.py) against the C library's expf, where Python's correctly rounded exp
differs. Then the vector kernels (MEAN's sums, the pools, SOFTMAX) on every path, each
forced, with sizes around their blocks.
"""
import ctypes
import ctypes.util
import json
import math
import sys

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, aarch64_toolchain, byte_mismatches, load_npz_inputs, run_ours
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

HERE = TESTS / "models" / "quantized_reduce"
INDEX = json.loads((HERE / "index.json").read_text())
RUNS = sorted(c for c in INDEX if "rejects" not in INDEX[c])
REJECTED = sorted(c for c in INDEX if "rejects" in INDEX[c])


@pytest.mark.parametrize("case", RUNS)
def test_bytes_match_tflite(case, tmp_path):
    path = HERE / f"{case}.tflite"
    inputs = load_npz_inputs(HERE / f"{case}.npz", compiler.load_graph(str(path)))
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) > 1
    assert sum(len(np.unique(r)) > 2 for r in refs) >= len(refs) - 1, f"{case}: weak outputs"
    problems = byte_mismatches([f"{case} output {k}" for k in range(len(refs))], ours, refs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", REJECTED)
def test_what_tflite_rejects_is_refused(case):
    path = HERE / f"{case}.tflite"
    entry = INDEX[case]
    feeds = np.load(HERE / f"{case}.npz")
    with pytest.raises(RuntimeError, match=entry["rejects"]):
        V.reference_run(str(path), [feeds[f"input_{k}"] for k in range(len(feeds.files))])
    with pytest.raises(DlcoderError, match=entry["dlcoder"]):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_expf_is_glibc():
    """quant.expf equals the C library's expf (glibc) on float32 values where the correctly
    rounded exp differs from it: the softmax tables depend on it."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    rng = np.random.default_rng(0)
    xs = np.concatenate([-rng.uniform(0, 110, 40000), rng.uniform(-1, 1, 10000)]).astype(np.float32)
    where_exp_differs = 0
    for x in xs.tolist():
        c = libm.expf(x)
        assert Q.expf(x) == c, x
        where_exp_differs += float(np.float32(math.exp(x))) != c
    assert where_exp_differs > 5      # the test covers values where math.exp would fail


# ---- the vector kernels (MEAN's column sums, SOFTMAX) on every path ------------------------
# MEAN over H and W: channels around the 16- and 64-column blocks and past the 256-channel
# stack block, more pixels than an int16 chunk holds (256 int8, 128 uint8), batch 2, and
# scales that put the means on ties (in_scale / (count * out_scale) a power of two, so the
# half-up vector channels and the half-away tail show); MEAN without keep_dims and over the
# last axis (QuantizedMeanOrSum: dense runs added to dense outputs, or summed into one).
# Pools over blocks of channels (the window's sums by add_row). SOFTMAX: rows around the
# 16-row blocks, depths around 4 and 16, and rows alone past the last block.
MEAN_CASES = [  # (input shape, axes, keep_dims, input quantization, output quantization)
    ((1, 2, 2, 45), [1, 2], True, (0.5, 3), (1.0, -2)),
    ((1, 4, 4, 70), [1, 2], True, (0.5, -1), (0.25, 4)),
    ((2, 3, 4, 300), [1, 2], True, (0.1, 5), (0.07, -3)),
    ((2, 16, 17, 20), [1, 2], True, (0.05, 2), (0.1, 1)),
    ((1, 16, 17, 64), [1, 2], True, (0.05, 0), (0.05, 0)),
    ((1, 4, 5, 37), [1, 2], False, (0.1, -3), (0.3, -9)),
    ((3, 5, 37), [2], True, (0.04, 11), (0.01, -20)),
]
POOL_CASES = [  # (op, input shape, filter, stride, padding (0 SAME, 1 VALID)): channels past 256
    ("AVERAGE_POOL_2D", (1, 5, 6, 300), 3, 2, 0), ("MAX_POOL_2D", (2, 4, 5, 37), 2, 1, 1),
    ("AVERAGE_POOL_2D", (2, 4, 5, 37), 2, 2, 1), ("MAX_POOL_2D", (1, 5, 6, 300), 3, 2, 0),
    ("MAX_POOL_2D", (1, 4, 5, 130), 2, 2, 0),  # whole vectors of every width and a tail
]
SOFTMAX_CASES = [  # (shape, input scale)
    ((17, 64), 0.1), ((3, 16, 17), 0.05), ((20, 3), 0.5), ((16, 4), 0.3), ((18, 5), 1.0),
    ((32, 65), 0.02), ((16, 1), 0.1), ((33, 100), 0.04125519), ((15, 63), 0.2),
    ((1, 1000), 0.07), ((2, 37), 0.3),   # rows alone (one_row): a classifier's, a tail of 5
]


def _simd_model(path, dt, seed=5):
    """Every MEAN_CASES, POOL_CASES and SOFTMAX_CASES node on inputs of `dt` (quantizations given for
    int8, zero points shifted by 128 for uint8); returns the inputs: random, but in a MEAN
    of batch 2 the first batch all lowest values, the second all highest (the int16 chunk
    bounds)."""
    rng = np.random.default_rng(seed)
    shift = 0 if dt == np.int8 else 128
    info = np.iinfo(dt)
    m = HandModel()
    inputs = []
    for k, (shape, axes, keep, (si, zi), (so, zo)) in enumerate(MEAN_CASES):
        x = m.input(shape, dt, quant=(si, zi + shift))
        out = [1 if i in axes else d for i, d in enumerate(shape)] if keep else \
            [d for i, d in enumerate(shape) if i not in axes]
        y = m.output(m._tensor(tuple(out), dt, quant=(so, zo + shift)))
        m.op("MEAN", [x, m.const(np.array(axes, np.int32))], [y], "ReducerOptions", KeepDims=keep)
        v = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
        if shape[0] == 2:
            v[0], v[1] = info.min, info.max
        inputs.append(v)
    for op, shape, f, st, pad in POOL_CASES:
        x = m.input(shape, dt, quant=(0.1, shift))
        n, h, w, c = shape
        oh, ow = ((h + st - 1) // st, (w + st - 1) // st) if pad == 0 else ((h - f) // st + 1, (w - f) // st + 1)
        y = m.output(m._tensor((n, oh, ow, c), dt, quant=(0.1, shift)))
        m.op(op, [x], [y], "Pool2DOptions", Padding=pad, StrideW=st, StrideH=st, FilterWidth=f, FilterHeight=f,
             FusedActivationFunction=0)
        inputs.append(rng.integers(info.min, int(info.max) + 1, shape).astype(dt))
    for shape, si in SOFTMAX_CASES:
        x = m.input(shape, dt, quant=(si, int(rng.integers(-20, 20)) + shift))
        y = m.output(m._tensor(shape, dt, quant=(1 / 256, -128 + shift)))
        m.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
        inputs.append(rng.integers(info.min, int(info.max) + 1, shape).astype(dt))
    path.write_bytes(m.build())
    return inputs


def _check_simd(tmp_path, flags, cxx=None, emulator=()):
    for dt in (np.int8, np.uint8):
        work = tmp_path / np.dtype(dt).name
        work.mkdir()
        path = work / "m.tflite"
        inputs = _simd_model(path, dt)
        ours, _, _ = run_ours(path, inputs, work, flags=flags, cxx=cxx, emulator=emulator)
        refs, _ = V.reference_run(str(path), inputs)
        assert len(ours) == len(inputs)
        problems = byte_mismatches([f"{np.dtype(dt).name} output {k} {r.shape}" for k, r in enumerate(refs)],
                                   ours, refs)
        assert not problems, "\n".join(problems)


def test_mean_inputs_land_on_ties(tmp_path):
    """The first two MEAN_CASES put int8 sums on ties where half up and half away differ,
    both in the channels of TFLite's vector loop and in its scalar tail (uint8 sums, of the
    raw values, are never negative: the two roundings agree there)."""
    inputs = _simd_model(tmp_path / "m.tflite", np.int8)
    for (shape, _, _, (si, zi), (so, zo)), x in zip(MEAN_CASES[:2], inputs):
        mult, sh, _ = Q.mean_4d_params(si, zi, so, zo, shape[1] * shape[2])
        sums = x.astype(np.int64).sum(axis=(0, 1, 2))
        differ = (Q.multiply_by_quantized_multiplier(sums, mult, sh, "up") !=
                  Q.multiply_by_quantized_multiplier(sums, mult, sh, "away"))
        vec = shape[3] // 16 * 16
        assert differ[:vec].any() and differ[vec:].any(), shape


@pytest.mark.parametrize("isa", ["scalar", "sse2", "avx2", "avx512"])
def test_vector_kernels_x86(isa, tmp_path):
    _check_simd(tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


def test_vector_kernels_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    _check_simd(tmp_path, ("-O2",), cxx=cxx, emulator=emulator)
