"""Float binary ops with one operand per channel (simd_binary.h: binary_periodic, the short
operand laid out repeated over kPeriodFloats and the loop run dense) give TFLite's bits on
every x86 path, with 2 threads (tasks start at any phase of the pattern), and on NEON under
qemu, whose vectors hold 4 floats instead of 16.

One hand-built model holds every case side by side: the seven binary kinds with the channel
operand second and first, channel counts below, at and past a vector and up to the path's
limit of 64, and past it (65, the run-by-run loop), on maps whose element count is no
multiple of the pattern's length. A second model does the same for row x column
broadcasts ([1,1,W,C] op [1,H,1,C], simd_binary.h: binary_row_blocks).
"""
import numpy as np
import pytest

import test_quantized_isa as TQI
from models.op_hand import HandModel
from support import aarch64_toolchain, byte_mismatches, run_ours
from dlcoder import verify as V

KINDS = ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE")
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}
CHANNELS = (1, 3, 5, 16, 17, 32, 48, 64, 65)
MAPS = ((7, 9), (33, 35))


def _build(path):
    """-> (inputs, output labels)."""
    rng = np.random.default_rng(19)
    m, inputs, labels = HandModel(), [], []
    for c in CHANNELS:
        for h, w in MAPS:
            x = m.input((1, h, w, c))
            p = m.input((c,))
            inputs.append(rng.normal(size=(1, h, w, c)).astype(np.float32))
            inputs.append((rng.normal(size=c) + np.where(rng.random(c) < 0.5, 2.0, -2.0)).astype(np.float32))
            for k, kind in enumerate(KINDS):
                first = (k + c) % 2 == 1  # the channel operand first in about half the cases
                act = 3 if kind in OPTIONS and k % 3 == 0 else 0  # RELU6 on some
                y = m.output(m.tensor((1, h, w, c)))
                kw = {"FusedActivationFunction": act} if kind in OPTIONS else {}
                m.op(kind, [p, x] if first else [x, p], [y], OPTIONS.get(kind), **kw)
                labels.append(f"{kind} {h}x{w}x{c} {'[c] first' if first else '[c] second'}")
    path.write_bytes(m.build())
    return inputs, labels


# Row x column broadcasts (simd_binary.h: binary_row_blocks, the repeated run of C held in
# registers up to 8 vectors): (dense-side shape, repeated-side shape). C below, at and past a
# vector, up to 8 vectors on AVX-512 (128) and past it (129, run by run; past 8 vectors of
# AVX2 from 65 on); outer dims over the blocks (2 of them, one with the dense side broadcast).
ROW_COL = [
    ((1, 1, 7, 16), (1, 5, 1, 16)),
    ((1, 1, 9, 3), (1, 11, 1, 3)),
    ((1, 1, 5, 17), (1, 6, 1, 17)),
    ((1, 1, 32, 64), (1, 32, 1, 64)),
    ((1, 1, 3, 100), (1, 4, 1, 100)),
    ((1, 1, 4, 128), (1, 3, 1, 128)),
    ((1, 1, 3, 129), (1, 2, 1, 129)),
    ((2, 1, 7, 24), (2, 3, 1, 24)),
    ((1, 1, 6, 40), (2, 3, 1, 40)),
]


def _build_row_col(path):
    """-> (inputs, output labels): each ROW_COL pair under every kind, in both operand orders."""
    rng = np.random.default_rng(23)
    m, inputs, labels = HandModel(), [], []
    for dense_shape, fixed_shape in ROW_COL:
        out_shape = tuple(np.broadcast_shapes(dense_shape, fixed_shape))
        for k, kind in enumerate(KINDS):
            first = k % 2 == 1  # the repeated operand first in about half the cases
            x, p = m.input(dense_shape), m.input(fixed_shape)
            inputs.append(rng.normal(size=dense_shape).astype(np.float32))
            inputs.append((rng.normal(size=fixed_shape) + 2.0).astype(np.float32))
            act = 3 if kind in OPTIONS and k % 3 == 0 else 0  # RELU6 on some
            y = m.output(m.tensor(out_shape))
            kw = {"FusedActivationFunction": act} if kind in OPTIONS else {}
            m.op(kind, [p, x] if first else [x, p], [y], OPTIONS.get(kind), **kw)
            labels.append(f"{kind} {dense_shape} {fixed_shape} {'repeated first' if first else 'dense first'}")
    path.write_bytes(m.build())
    return inputs, labels


def _check(tmp_path, threads=1, build=_build, **run_kw):
    model = tmp_path / "binary.tflite"
    inputs, labels = build(model)
    ours, _, _ = run_ours(model, inputs, tmp_path, threads=threads, **run_kw)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(labels, [o.view(np.uint32) for o in ours], [r.view(np.uint32) for r in refs])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["avx512bw", "avx2", "sse2", "scalar"])
def test_x86_path(path, tmp_path):
    _check(tmp_path, flags=TQI.x86_flags(path))


def test_two_threads(tmp_path):
    """Every op split in two (DLCODER_RT_MIN_TASK_MACS=1): tasks start mid-pattern."""
    _check(tmp_path, threads=2, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"))


def test_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    _check(tmp_path, cxx=cxx, emulator=emulator)


@pytest.mark.parametrize("path", ["avx512bw", "avx2", "sse2", "scalar"])
def test_row_col_x86_path(path, tmp_path):
    _check(tmp_path, build=_build_row_col, flags=TQI.x86_flags(path))


def test_row_col_two_threads(tmp_path):
    """Every op split in two (DLCODER_RT_MIN_TASK_MACS=1): tasks cut the blocks at a multiple
    of 16 elements, inside runs of 3, 17, 24, 40, 100 and 129."""
    _check(tmp_path, threads=2, build=_build_row_col, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"))


def test_row_col_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    _check(tmp_path, build=_build_row_col, cxx=cxx, emulator=emulator)
