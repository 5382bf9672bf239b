"""The vector paths of int8 / uint8 MEAN (and SUM, which shares its sums) in qreduce.h, and
of byte TRANSPOSE in transpose.h, give TFLite's bytes on every instruction set: AVX-512
(column sums in 16-bit words, vpsadbw row sums, the 16-lane requantization), AVX2, SSE2,
the plain loops (-DDLCODER_RT_FORCE_ISA=0) and NEON under qemu.

MEAN over H and W with keep_dims (TFLite's optimized kernel: half up on the channels of its
16-wide vector loop, half away on the rest): channels around the 16- and 64-column blocks
and the 256-channel stack block, more pixels than a 256-row word chunk holds (all lowest
and all highest values in one batch each: the widest sums), odd extents, in/out scale
ratios that put the means on ties, that shift left (a ratio above 1) and that clamp.
The other MEANs (QuantizedMeanOrSum): over H and W without keep_dims, over W, over C with
and without keep_dims (row sums four rows at a time, rows not a multiple of 4, runs around
64 bytes), over the last axis of a rank-2 tensor; SUM over C. TRANSPOSE of bytes: perms
that move the innermost dim, with odd extents around the tiles.
"""
import sys

import numpy as np
import pytest

from support import TESTS, aarch64_toolchain, assert_bytes_match
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

# (op, input shape, axes, keep_dims, input quantization, output quantization) for int8;
# uint8 shifts both zero points by 128
MEANS = [
    ("MEAN", (1, 2, 2, 45), [1, 2], True, (0.5, 3), (1.0, -2)),        # ties, 32 vector + 13 tail channels
    ("MEAN", (1, 4, 4, 70), [1, 2], True, (0.5, -1), (0.25, 4)),       # ties
    ("MEAN", (2, 17, 17, 67), [1, 2], True, (0.05, 2), (0.1, 1)),      # 289 rows: two word chunks
    ("MEAN", (2, 3, 5, 300), [1, 2], True, (0.1, 5), (0.07, -3)),      # past the 256-channel block
    ("MEAN", (1, 7, 7, 1), [1, 2], True, (0.1, 0), (0.1, 0)),
    ("MEAN", (1, 3, 3, 64), [2, 1], True, (0.3, -4), (0.02, 6)),       # ratio 1.67 > 1: left shift, clamps
    ("MEAN", (2, 16, 17, 128), [-3, -2], True, (0.05, 0), (0.05, 0)),  # negative axes, whole blocks
    ("MEAN", (1, 5, 3, 16), [1, 2], True, (0.02, -7), (0.3, 9)),       # a small ratio
    ("MEAN", (2, 4, 5, 37), [1, 2], False, (0.1, -3), (0.3, -9)),
    ("MEAN", (2, 5, 7, 33), [2], True, (0.04, 11), (0.01, -20)),
    ("MEAN", (2, 5, 7, 33), [2], False, (0.04, 11), (0.05, -20)),
    ("MEAN", (1, 6, 5, 67), [3], True, (0.1, -1), (0.02, 3)),          # 30 rows of 67
    ("MEAN", (3, 7, 130), [2], False, (0.5, 2), (0.25, -1)),           # ties; 21 rows of 130
    ("MEAN", (1, 9, 64), [-1], True, (0.2, 0), (0.1, 0)),
    ("MEAN", (13, 200), [1], True, (0.03, -5), (0.01, 1)),
    ("MEAN", (5, 3), [1], True, (0.5, 1), (0.5, 0)),
    ("SUM", (1, 5, 3, 67), [3], True, (0.05, 4), (1.0, -3)),
    ("SUM", (2, 7, 130), [2], False, (0.02, -2), (0.5, 1)),
]

# (input shape, perm) of byte TRANSPOSEs that move the innermost dim
TRANSPOSES = [
    ((1, 9, 7, 19), (0, 3, 1, 2)), ((1, 7, 9, 64), (0, 3, 1, 2)), ((1, 64, 7, 9), (0, 2, 3, 1)),
    ((3, 37, 45), (0, 2, 1)), ((2, 128, 64), (0, 2, 1)), ((5, 33, 16), (0, 2, 1)),
    ((67, 131), (1, 0)), ((2, 3, 4, 5, 6), (0, 4, 2, 3, 1)), ((1, 3, 70, 65), (0, 2, 3, 1)),
]


def _out_shape(shape, axes, keep):
    axes = [a % len(shape) for a in axes]
    return [1 if i in axes else d for i, d in enumerate(shape)] if keep else \
        [d for i, d in enumerate(shape) if i not in axes]


def build_model(path, dt):
    """One model of every case for `dt`; (inputs, output labels)."""
    rng = np.random.default_rng(19)
    shift = 0 if dt == np.int8 else 128
    info = np.iinfo(dt)
    m, feeds, names = HandModel(), [], []
    for op, shape, axes, keep, (si, zi), (so, zo) in MEANS:
        x = m.input(shape, dt, quant=(si, zi + shift))
        y = m.output(m._tensor(tuple(_out_shape(shape, axes, keep)), dt, quant=(so, zo + shift)))
        m.op(op, [x, m.const(np.array(axes, np.int32))], [y], "ReducerOptions", KeepDims=keep)
        v = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
        if shape[0] == 2:
            v[0], v[1] = info.min, info.max
        feeds.append(v)
        names.append(f"{op} {shape} axes {axes} keep {keep}")
    for shape, perm in TRANSPOSES:
        x = m.input(shape, dt, quant=(0.1, shift))
        y = m.output(m._tensor(tuple(shape[p] for p in perm), dt, quant=(0.1, shift)))
        m.op("TRANSPOSE", [x, m.const(np.array(perm, np.int32))], [y])
        feeds.append(rng.integers(info.min, int(info.max) + 1, shape).astype(dt))
        names.append(f"TRANSPOSE {shape} perm {perm}")
    path.write_bytes(m.build())
    return feeds, names


def check(tmp_path, flags=("-O2",), cxx=None, emulator=()):
    for dt in (np.int8, np.uint8):
        work = tmp_path / np.dtype(dt).name
        work.mkdir()
        model = work / "m.tflite"
        inputs, names = build_model(model, dt)
        assert_bytes_match(model, inputs, [f"{np.dtype(dt).name} {n}" for n in names], work, flags=flags, cxx=cxx,
                           emulator=emulator)


def test_native_path(tmp_path):
    check(tmp_path)


@pytest.mark.parametrize("isa", ["scalar", "sse2", "avx2", "avx512"])
def test_every_x86_path(isa, tmp_path):
    check(tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


def test_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    check(tmp_path, cxx=cxx, emulator=emulator)
