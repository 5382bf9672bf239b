"""The vector paths of int8 / uint8 MAXIMUM and MINIMUM (simd_qminmax.h) and of int8
RESIZE_BILINEAR (simd_qresize.h) give TFLite's bytes on every instruction set: AVX-512 BW,
AVX2, SSE2 (MAXIMUM/MINIMUM: signed bytes flipped around the unsigned max/min; resize: the
plain loop), the plain loop (-DDLCODER_RT_FORCE_ISA=0) and NEON under qemu.

One model holds every case side by side: runs of 1 to 200 bytes (whole vectors of 16, 32
and 64 and the tails after them), each operand broadcast per run (stride 0) or read
(stride 1), a scalar constant, row/column broadcasts whose runs restart, and the dtype's
extremes and zero points (make_quantized_elementwise_models.values), int8 and uint8, the
inputs quantized unlike each other and the output (TFLite compares the stored integers).
The resizes: channel counts 1 to 67 (whole vectors of 8 and 16 and every tail length),
up and down scales, align_corners, half_pixel_centers (whose first rows and columns
extrapolate: weights above 1 and below 0) and neither, two batches, inputs with the
extremes -128 and 127 side by side (the widest sums).
"""
import sys

import numpy as np
import pytest

from dlcoder import verify as V
from support import TESTS, aarch64_toolchain, byte_mismatches, run_ours
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
import make_quantized_elementwise_models as MQ  # noqa: E402
from op_hand import HandModel  # noqa: E402

QA, QB, QC = (0.05, 3), (0.02, -7), (0.1, 1)
QAU, QBU, QCU = (0.05, 128), (0.03, 7), (0.1, 200)


def _minmax_cases():
    cases = []
    for op in ("MAXIMUM", "MINIMUM"):
        for dt, (qa, qb, qc), tag in ((MQ.I8, (QA, QB, QC), "i8"), (MQ.U8, (QAU, QBU, QCU), "u8")):
            def case(name, a, b, _op=op, _dt=dt, _qc=qc):
                cases.append(MQ.Case(f"{_op.lower()}_{tag}_{name}", _op, "", _dt, a, b, [("NONE", _qc)]))
            for n in (1, 15, 16, 17, 31, 33, 63, 64, 65, 129, 200):
                case(f"same_{n}", ((n,), qa), ((n,), qb))
            for n in (17, 64, 67):
                case(f"rows_b_{n}", ((3, n), qa), ((3, 1), qb))          # b broadcast per run
                case(f"rows_a_{n}", ((3, 1), qa), ((3, n), qb))          # a broadcast per run
            case("channel_67", ((1, 3, 5, 67), qa), ((67,), qb))
            case("row_col_48", ((1, 1, 5, 48), qa), ((1, 4, 1, 48), qb))
            case("outer_33", ((33, 1), qa), ((1, 33), qb))
            case("scalar_const_70", ((2, 70), qa), ((), qb, [5]))
            case("scalar_first_70", ((), qa, [-3 if dt == MQ.I8 else 130]), ((2, 70), qb))
    return cases


# RESIZE_BILINEAR int8: (channels, input h, w, output h, w, align_corners, half_pixel_centers)
RESIZES = [(c, 3, 4, 7, 9, *flags) for c, flags in
           zip(list(range(1, 18)) + [23, 31, 32, 33, 47, 48, 49, 63, 64, 65, 67],
               [(0, 0), (1, 0), (0, 1)] * 10)]
RESIZES += [(16, 9, 7, 4, 3, 0, 0), (67, 9, 7, 4, 3, 0, 1), (33, 9, 7, 5, 2, 1, 0), (8, 4, 4, 8, 8, 0, 0),
            (24, 4, 4, 8, 8, 0, 1), (5, 1, 1, 3, 2, 0, 1)]


def _resizes(m, feeds, names):
    rng = np.random.default_rng(11)
    for c, h, w, oh, ow, align, half in RESIZES:
        x = m.input((2, h, w, c), np.int8, quant=(0.1, -3))
        y = m.output(m._tensor((2, oh, ow, c), np.int8, quant=(0.37, 4)))
        m.op("RESIZE_BILINEAR", [x, m.const(np.array([oh, ow], np.int32))], [y], "ResizeBilinearOptions",
             AlignCorners=align, HalfPixelCenters=half)
        v = rng.integers(-128, 128, size=(2, h, w, c))
        v[0, :, ::2, :] = 127
        v[0, :, 1::2, :] = -128
        feeds.append(v.astype(np.int8))
        names.append(f"bilinear_c{c}_{h}x{w}_{oh}x{ow}_a{align}h{half}")


def build_model(path):
    """One model with every case; (inputs, output names)."""
    m, feeds, names = HandModel(), [], []
    real = MQ.HandModel
    MQ.HandModel = lambda: m
    try:
        for case in _minmax_cases():
            _, xs = MQ.build(case)
            feeds += xs
            names.append(case.name)
    finally:
        MQ.HandModel = real
    _resizes(m, feeds, names)
    path.write_bytes(m.build())
    return feeds, names


def check(tmp_path, flags=("-O2",), cxx=None, emulator=()):
    model = tmp_path / "qelt.tflite"
    inputs, names = build_model(model)
    ours, _, _ = run_ours(model, inputs, tmp_path / "lib", flags=flags, cxx=cxx, emulator=emulator)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(names, ours, refs)
    assert not problems, "\n".join(problems)


def test_native_path(tmp_path):
    check(tmp_path)


@pytest.mark.parametrize("isa", ["scalar", "sse2", "avx2", "avx512"])
def test_every_x86_path(isa, tmp_path):
    check(tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


def test_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    check(tmp_path, cxx=cxx, emulator=emulator)
