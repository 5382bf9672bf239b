"""RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over the paths of their kernels, against
TFLite's builtin kernels: float within dlcoder's verify bound (non-finite values placed as
TFLite places them), int8 byte for byte.

One model per dtype holds every case, so that a handful of compiles covers them all:
channel counts 1, 3, 8, 17 and 128 (the float SIMD kernel's narrow and full vectors, a
masked tail, whole vectors), each through bilinear and nearest with align_corners,
half_pixel_centers or neither, to a 2x upsample (TFLite's copy-and-average special case
without flags; nearest's repeated rows), a non-integer upsample and a downsample. The
float model runs on every x86 SIMD path and on aarch64 NEON under qemu (simd_resize.h is
instantiated per ISA).
"""
import sys

import numpy as np
import pytest

from dlcoder import verify as V
from support import TESTS, aarch64_toolchain, run_ours
from test_quantized_isa import x86_flags

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

IN_HW = (6, 7)
CHANNELS = (1, 3, 8, 17, 128)
SIZES = ((12, 14), (9, 11), (4, 3))  # 2x up, non-integer up, down
MODES = ((False, False), (True, False), (False, True))  # (align_corners, half_pixel_centers)
OPS = (("RESIZE_BILINEAR", "ResizeBilinearOptions"),
       ("RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighborOptions"))


def _model(dtype, quant=None) -> bytes:
    m = HandModel()
    for c in CHANNELS:
        x = m.input((2, *IN_HW, c), dtype, quant=quant)
        for (oh, ow), (align, half), (op, opts) in (
                (s, mode, op) for s in SIZES for mode in MODES for op in OPS):
            y = m.output(m._tensor((2, oh, ow, c), dtype, quant=quant))
            m.op(op, [x, m.const(np.array([oh, ow], np.int32))], [y], opts, version=3,
                 AlignCorners=align, HalfPixelCenters=half)
    return m.build()


def _float_inputs():
    """Normal values, and in the 3- and 17-channel images an inf, a -inf and a NaN, which
    show where the 2x special case averages and where the general case multiplies by 0."""
    rng = np.random.default_rng(19)
    xs = [rng.standard_normal((2, *IN_HW, c)).astype(np.float32) for c in CHANNELS]
    for x in (xs[1], xs[3]):
        x[0, 2, 3, 0], x[0, 5, 6, -1], x[1, 0, 0, 1] = np.inf, -np.inf, np.nan
    return xs


def _check(path, inputs, tmp_path, **kw):
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path, **kw)
    assert len(ours) == len(refs) == len(CHANNELS) * len(SIZES) * len(MODES) * len(OPS)
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        assert c.ok, (k, c)


@pytest.fixture(scope="module")
def float_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("resize") / "f32.tflite"
    path.write_bytes(_model(np.float32))
    return path


@pytest.mark.parametrize("path", ["avx512bw", "avx2", "sse2", "scalar"])
def test_float_resizes_match_tflite(path, float_model, tmp_path):
    _check(float_model, _float_inputs(), tmp_path, flags=x86_flags(path))


def test_float_resizes_match_tflite_on_neon(float_model, tmp_path):
    cxx, emulator = aarch64_toolchain()
    _check(float_model, _float_inputs(), tmp_path, cxx=cxx, emulator=emulator)


def test_int8_resizes_match_tflite_exactly(tmp_path):
    path = tmp_path / "i8.tflite"
    path.write_bytes(_model(np.int8, quant=(0.05, -3)))
    rng = np.random.default_rng(8)
    xs = [rng.integers(-128, 128, (2, *IN_HW, c)).astype(np.int8) for c in CHANNELS]
    _check(path, xs, tmp_path)
