"""RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over the paths of their kernels, against
TFLite's builtin kernels: float within dlcoder's verify bound (non-finite values placed as
TFLite places them), int8 byte for byte.

One model per dtype holds every case, so that a handful of compiles covers them all:
channel counts 1, 3, 4, 6, 8, 17 and 128 (the float SIMD kernel's scalars, 4-float vectors
below 8 on AVX, with 3 channels read as 4 where the fourth stays inside the row, narrow and
full vectors, a masked tail, whole vectors), each through bilinear and nearest with
align_corners, half_pixel_centers or neither, to a 2x upsample (TFLite's copy-and-average
special case without flags; nearest's repeated rows), a non-integer upsample, a downsample
(flat rows straight from the corners: lerp_pixels) and a downsample in y only. The float
model runs on every x86 SIMD path and on aarch64 NEON under qemu (simd_resize.h is
instantiated per ISA), and with ASan and buffers of the exact sizes (the 3-channel loads
of 4 must stop short of the end of the input and of the output).

A third model holds the flat-rows path's split of a few-channel half-pixel upsample: its
clamped first rows and columns (weights outside [0, 1]) in TFLite's order, the rest by flat
rows. Each image is resized twice, once alone (flat rows) and once inside a batch of
TWIN_BATCHES images that the test sends down kGeneral (TFLite's order everywhere), so that
the border pixels are held to that order bit for bit on every ISA (the same bilinear_row
makes them), which a border one row or column short breaks; all of it against TFLite too,
with inf, -inf and NaN in the border pixels.
"""
import sys

import numpy as np
import pytest

from dlcoder import verify as V
from dlcoder.ops import spatial
from support import TESTS, aarch64_toolchain, byte_mismatches, check_sanitized, run_ours, sanitizer_env
from test_quantized_isa import x86_flags

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

IN_HW = (6, 7)
CHANNELS = (1, 3, 4, 6, 8, 17, 128)
SIZES = ((12, 14), (9, 11), (4, 3), (4, 10))  # 2x up, non-integer up, down, down in y and up in x
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
    for x in (x for x, c in zip(xs, CHANNELS) if c in (3, 17)):
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


def test_float_resizes_stay_inside_their_buffers(float_model, tmp_path, monkeypatch):
    sanitizer_env(monkeypatch)
    check_sanitized(float_model, tmp_path, _float_inputs(), threads=(1,))


def test_int8_resizes_match_tflite_exactly(tmp_path):
    path = tmp_path / "i8.tflite"
    path.write_bytes(_model(np.int8, quant=(0.05, -3)))
    rng = np.random.default_rng(8)
    xs = [rng.integers(-128, 128, (2, *IN_HW, c)).astype(np.int8) for c in CHANNELS]
    _check(path, xs, tmp_path)


# ---- flat rows' border (simd_resize.h: resize_bilinear_flat) -----------------------------
BORDER_IN = (5, 6)
BORDER_CHANNELS = (1, 3, 4, 8, 12, 16)  # scalars, narrow and full vectors, a scalar tail
# 2x (one border row and column), about 4x (two), and a wide one (six border columns, and
# chunks of flat rows after the first)
BORDER_SIZES = ((10, 12), (20, 25), (7, 70))
TWIN_BATCHES = 3


def _border(in_size, out_size) -> int:
    """How many leading outputs have a weight outside [0, 1] (leading_outside)."""
    fracs = spatial._bilinear_table(in_size, out_size, False, True)[2]
    return next(i for i, f in enumerate(fracs) if 0 <= f <= 1)


def _border_model() -> bytes:
    m = HandModel()
    for c in BORDER_CHANNELS:
        xs = [m.input((b, *BORDER_IN, c), np.float32) for b in (2, TWIN_BATCHES)]
        for size in BORDER_SIZES:
            for x, b in zip(xs, (2, TWIN_BATCHES)):
                y = m.output(m.tensor((b, *size, c)))
                m.op("RESIZE_BILINEAR", [x, m.const(np.array(size, np.int32))], [y],
                     "ResizeBilinearOptions", version=3, AlignCorners=False, HalfPixelCenters=True)
    return m.build()


def _border_inputs():
    """Per channel count the image pair and its twin batch (the pair and one more image);
    the first image has an inf, a -inf and a NaN in the input's first row and column,
    which the border pixels read, the second only normal values."""
    rng = np.random.default_rng(5)
    feeds = []
    for c in BORDER_CHANNELS:
        x = rng.standard_normal((TWIN_BATCHES, *BORDER_IN, c)).astype(np.float32)
        x[0, 0, 2, 0], x[0, 3, 0, -1], x[0, 0, 0, c // 2] = np.inf, -np.inf, np.nan
        feeds += [x[:2], x]
    return feeds


@pytest.fixture(scope="module")
def border_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("resize") / "border.tflite"
    path.write_bytes(_border_model())
    return path


def _check_border(path, tmp_path, monkeypatch, **kw):
    chosen = spatial._bilinear_path
    for c in BORDER_CHANNELS:
        for size in BORDER_SIZES:
            assert chosen((2, *BORDER_IN, *size, c), False, True) == "kFlatRows", (c, size)
    monkeypatch.setattr(spatial, "_bilinear_path", lambda geo, align, half: (
        "kGeneral" if geo[0] == TWIN_BATCHES else chosen(geo, align, half)))
    inputs = _border_inputs()
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path, **kw)
    assert len(ours) == len(refs) == 2 * len(BORDER_CHANNELS) * len(BORDER_SIZES)
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        assert c.ok, (k, c)
    for k in range(0, len(ours), 2):
        flat, general = ours[k], ours[k + 1][:2]
        oh, ow = flat.shape[1:3]
        rows, cols = _border(BORDER_IN[0], oh), _border(BORDER_IN[1], ow)
        assert rows and cols, (oh, ow)
        edge = np.zeros((oh, ow), bool)
        edge[:rows], edge[:, :cols] = True, True
        same = flat.view(np.uint32) == general.view(np.uint32)
        bad = np.argwhere(~same & edge[None, :, :, None])
        assert not bad.size, (f"{flat.shape}: {rows} border rows, {cols} columns; not bit for bit "
                              f"TFLite's order at {bad[:4].tolist()}")
        assert not same[:, rows:, cols:].all(), f"{flat.shape}: the interior is not by flat rows"


@pytest.mark.parametrize("path", ["avx512bw", "avx2", "sse2", "scalar"])
def test_flat_rows_border_is_tflite_order(path, border_model, tmp_path, monkeypatch):
    _check_border(border_model, tmp_path, monkeypatch, flags=x86_flags(path))


def test_flat_rows_border_is_tflite_order_on_neon(border_model, tmp_path, monkeypatch):
    cxx, emulator = aarch64_toolchain()
    _check_border(border_model, tmp_path, monkeypatch, cxx=cxx, emulator=emulator)


# ---- RESIZE_NEAREST_NEIGHBOR as byte copies (simd_qnearest.h) ----------------------------
# Pixels of 1 to 400 bytes (whole 64-byte pieces and masked tails), rows and columns
# repeated 2x (the unrolled four stores), 3x, unevenly (non-integer up) or not at all
# (down), through AVX-512 BW and the portable copy.
NEAREST_CHANNELS = (1, 3, 17, 64, 200)
NEAREST_IN = (5, 4)
NEAREST_SIZES = ((10, 8), (15, 12), (7, 9), (3, 2))
NEAREST_DTYPES = ((np.int8, (0.05, -3), 3), (np.uint8, (0.05, 120), 3), (np.int16, (0.05, 0), 4))


def _nearest_model(dtype, quant, version) -> bytes:
    m = HandModel()
    for c in NEAREST_CHANNELS:
        x = m.input((2, *NEAREST_IN, c), dtype, quant=quant)
        for (oh, ow), (align, half) in ((s, mode) for s in NEAREST_SIZES for mode in MODES):
            y = m.output(m._tensor((2, oh, ow, c), dtype, quant=quant))
            m.op("RESIZE_NEAREST_NEIGHBOR", [x, m.const(np.array([oh, ow], np.int32))], [y],
                 "ResizeNearestNeighborOptions", version=version, AlignCorners=align, HalfPixelCenters=half)
    return m.build()


@pytest.mark.parametrize("path", ["avx512bw", "scalar"])
@pytest.mark.parametrize("dtype", [d[0] for d in NEAREST_DTYPES], ids=lambda d: np.dtype(d).name)
def test_byte_nearest_matches_tflite_exactly(path, dtype, tmp_path):
    _, quant, version = next(d for d in NEAREST_DTYPES if d[0] is dtype)
    model = tmp_path / "nearest.tflite"
    model.write_bytes(_nearest_model(dtype, quant, version))
    info = np.iinfo(dtype)
    rng = np.random.default_rng(23)
    xs = [rng.integers(info.min, int(info.max) + 1, (2, *NEAREST_IN, c)).astype(dtype) for c in NEAREST_CHANNELS]
    refs, _ = V.reference_run(str(model), xs)
    ours, _, _ = run_ours(model, xs, tmp_path, flags=x86_flags(path))
    labels = [f"c{c}_{oh}x{ow}_a{int(a)}h{int(h)}" for c in NEAREST_CHANNELS for (oh, ow) in NEAREST_SIZES
              for (a, h) in MODES]
    problems = byte_mismatches(labels, ours, refs)
    assert not problems, "\n".join(problems)
