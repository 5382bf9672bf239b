"""The vector paths of int8 / uint8 MAXIMUM and MINIMUM (simd_qminmax.h), of int8 / uint8
ADD and SUB (simd_qelementwise.h) and of int8 RESIZE_BILINEAR (simd_qresize.h) give
TFLite's bytes on every instruction set: AVX-512 BW, AVX2, SSE2 (MAXIMUM/MINIMUM: signed
bytes flipped around the unsigned max/min; ADD/SUB, resize: the plain loop), the plain loop
(-DDLCODER_RT_FORCE_ISA=0) and NEON under qemu.

One model holds every case side by side: runs of 1 to 200 bytes (whole vectors of 16, 32
and 64 and the tails after them), each operand broadcast per run (stride 0) or read
(stride 1), a scalar constant, row/column broadcasts whose runs restart, and the dtype's
extremes and zero points (make_quantized_elementwise_models.values), int8 and uint8, the
inputs quantized unlike each other and the output (TFLite compares the stored integers).
The resizes: channel counts 1 to 67 (whole vectors of 8 and 16 and every tail length),
up and down scales, align_corners, half_pixel_centers (whose first rows and columns
extrapolate: weights above 1 and below 0) and neither, two batches, inputs with the
extremes -128 and 127 side by side (the widest sums).
ADD and SUB: the same broadcasts, segments long enough (1024 on) that a broadcast operand
makes the op a table of the other's byte, each fused activation, inputs on which TFLite's
vector and scalar arithmetic round otherwise (ties), equal scales (exact halves), and the
edges of the exact int32 kernel (AddFast): input scales 2^11.5 apart (its last shift) and
2^12.5 (the 64-bit kernel), output shifts 20 and 21 (zero point in the 64-bit sum or not),
30 and 31, outputs near and beyond int16 on the vector lanes (the narrowing's wrap).
ADD and MUL, int8 and uint8: a row times a column ([1,1,W,C] and [1,H,1,C], odd H and W,
C 1, 3, 17, 64, 200: both operands' terms buffered) and a scale per pixel ([1,H,W,C] and
[1,H,W,1]); test_two_threads runs everything split over two threads.
"""
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import TESTS, aarch64_toolchain, assert_bytes_match, byte_mismatches
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
import make_quantized_elementwise_models as MQ  # noqa: E402
from op_hand import HandModel  # noqa: E402

QA, QB, QC = (0.05, 3), (0.02, -7), (0.1, 1)
QAU, QBU, QCU = (0.05, 128), (0.03, 7), (0.1, 200)
# inputs on which TFLite's vector and scalar ADD arithmetic differ (make_quantized_elementwise_models)
TIE_ADD = ((0.07077659, 3), (0.09732373, -7), (0.02895191, 5))
TIE_ROWS = ((0.08963, 28), (0.005582, -41), (0.027944, 4))
TIE_U8 = ((0.062086, 173), (0.06419, 124), (0.018456, 115))


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


def _addsub_cases():
    cases = []
    for op in ("ADD", "SUB"):
        for dt, (qa, qb, qc), tag in ((MQ.I8, (QA, QB, QC), "i8"), (MQ.U8, (QAU, QBU, QCU), "u8")):
            za, zc = qa[1], qc[1]

            def case(name, a, b, out=qc, act="NONE", feeds=None, _op=op, _dt=dt, _tag=tag):
                cases.append(MQ.Case(f"{_op.lower()}_{_tag}_{name}", _op, "", _dt, a, b, [(act, out)], feeds=feeds))
            for n in (1, 15, 16, 17, 64, 65, 200, 1100):
                case(f"same_{n}", ((n,), qa), ((n,), qb))
            for n in (17, 67, 1030):
                case(f"rows_b_{n}", ((3, n), qa), ((3, 1), qb))
                case(f"rows_a_{n}", ((3, 1), qa), ((3, n), qb))
            case("channel_67", ((1, 3, 5, 67), qa), ((67,), qb))
            case("channel_32", ((1, 6, 5, 32), qa), ((32,), qb))
            case("row_col_48", ((1, 1, 5, 48), qa), ((1, 4, 1, 48), qb))
            case("outer_33", ((33, 1), qa), ((1, 33), qb))
            case("scalar_const_70", ((2, 70), qa), ((), qb, [5]))
            case("scalar_const_1500", ((2, 1500), qa), ((), qb, [-100 if dt == MQ.I8 else 250]))
            case("scalar_first_1100", ((), qa, [-3 if dt == MQ.I8 else 130]), ((1100,), qb))
            case("relu", ((2, 67), qa), ((2, 67), qb), act="RELU")
            case("relu6", ((2, 67), qa), ((1, 67), qb), (0.05, -59 if dt == MQ.I8 else 20), act="RELU6")
            case("relu_n1_to_1", ((2, 67), qa), ((2, 1), qb), (0.01, zc if dt == MQ.I8 else 128), act="RELU_N1_TO_1")
            case("equal_scales_half", ((2, 70), (0.04, za)), ((2, 70), (0.04, za)), (0.08, zc))
            case("equal_scales_same", ((2, 70), (0.04, za)), ((2, 1), (0.04, za)), (0.04, zc))
            case("ratio_k23", ((2, 70), (0.05, za)), ((2, 70), (0.05 / 2896, qb[1])), (0.06, zc))
            case("ratio_k24", ((2, 70), (0.05 / 5793, za)), ((2, 70), (0.05, qb[1])), (0.06, zc))
            case("out_shift20", ((2, 70), qa), ((2, 70), qb), (0.15, zc))
            case("out_shift21", ((2, 70), qa), ((2, 1), qb), (0.3, zc))
            case("out_shift30", ((2, 70), qa), ((2, 70), qb), (150.0, zc))
            case("out_shift31", ((2, 70), qa), ((2, 70), qb), (300.0, zc))
            case("out_near_int16", ((2, 70), qa), ((2, 70), qb), (0.0006, zc))
            case("out_beyond_int16", ((2, 70), qa), ((2, 70), qb), (0.0002, zc))
            case("out_beyond_int16_rows", ((2, 70), qa), ((2, 1), qb), (0.0002, zc))
    cases.append(MQ.Case("add_i8_ties_79", "ADD", "", MQ.I8, ((79,), TIE_ADD[0]), ((79,), TIE_ADD[1]),
                         [("NONE", TIE_ADD[2])], feeds=MQ.tie_feeds("fold")))
    cases.append(MQ.Case("add_i8_rows_ties_1100", "ADD", "", MQ.I8, ((3, 1), TIE_ROWS[0]), ((3, 1100), TIE_ROWS[1]),
                         [("NONE", TIE_ROWS[2])], feeds=MQ.tie_feeds("floor", rows=True)))
    cases.append(MQ.Case("add_u8_ties_77", "ADD", "", MQ.U8, ((77,), TIE_U8[0]), ((77,), TIE_U8[1]),
                         [("NONE", TIE_U8[2])], feeds=MQ.tie_feeds("floor")))
    return cases


# row x column and per-pixel broadcasts of ADD and MUL: (channels, H, W); H x W large next
# to H + W, so that both operands' terms are buffered (range_terms) even in half the output
ROW_COL = (1, 3, 17, 64, 200)


def _broadcast_cases():
    cases = []
    for op in ("ADD", "MUL"):
        for dt, (qa, qb, qc), tag in ((MQ.I8, (QA, QB, QC), "i8"), (MQ.U8, (QAU, QBU, QCU), "u8")):
            def case(name, a, b, _op=op, _dt=dt, _qc=qc, _tag=tag):
                cases.append(MQ.Case(f"{_op.lower()}_{_tag}_{name}", _op, "", _dt, a, b, [("NONE", _qc)]))
            for c in ROW_COL:
                case(f"row_col_19x17x{c}", ((1, 1, 17, c), qa), ((1, 19, 1, c), qb))
                case(f"spatial_5x7x{c}", ((1, 5, 7, c), qa), ((1, 5, 7, 1), qb))
            for w in (5, 32):  # one channel: an operand broadcast along the inner run, one lane kind
                case(f"row_col_19x{w}x1", ((1, 1, w, 1), qa), ((1, 19, 1, 1), qb))
            case("col_row_9x11x64", ((1, 9, 1, 64), qa), ((1, 1, 11, 64), qb))
            case("spatial_first_5x7x64", ((1, 5, 7, 1), qa), ((1, 5, 7, 64), qb))
    return cases


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
        for case in _minmax_cases() + _addsub_cases() + _broadcast_cases():
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
    assert_bytes_match(model, inputs, names, tmp_path / "lib", flags=flags, cxx=cxx, emulator=emulator)


def test_two_threads(tmp_path):
    """Two threads, every op split in two (DLCODER_RT_MIN_TASK_MACS=1): each range starts and
    ends inside a run, and the row x column kernel buffers both operands for half the output."""
    model = tmp_path / "qelt.tflite"
    inputs, names = build_model(model)
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"))
    ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=2)
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
