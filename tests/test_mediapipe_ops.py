"""MediaPipe's custom ops (dlcoder/ops/mediapipe.py) against TFLite's XNNPACK delegate,
which implements Convolution2DTransposeBias, MaxPoolingWithArgmax2D and MaxUnpooling2D
(tests/models/mediapipe/, make_mediapipe_models.py). Values within the float bound.
XNNPACK keeps an argmax index as the uint32 window position, counted column by column,
where MediaPipe's kernel writes the position counted row by row plus 0.1 as a float32: an
index output is compared as such, exactly.
The face-landmark ops (Landmarks2TransformMatrix, TransformLandmarks,
TransformTensorBilinear), which no TFLite kernel here runs, against a numpy reference
written from MediaPipe's kernels and against hand-checked values: identity transforms,
rotations, and sampling at and past the image's border.
Malformed or unsupported custom options are refused by name."""
import struct
import subprocess

import numpy as np
import pytest
from flatbuffers import flexbuffers

from dlcoder import compiler, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, run_ours

MODELS = TESTS / "models" / "mediapipe"
STRICT = ("-O2", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Werror")
VALUE_MODELS = ["tconv_bias_same_k2s2", "tconv_bias_same_k4s2", "tconv_bias_same_k3s1",
                "tconv_bias_valid_k3s2", "unpool_k2", "unpool_k3"]
ARGMAX_MODELS = ["argmax_pool_k2", "argmax_pool_k2_odd", "argmax_pool_k3_valid"]


def _ours_and_xnnpack(name, work, seed=1):
    path = MODELS / f"{name}.tflite"
    inputs = V.random_inputs(compiler.load_graph(str(path)), seed=seed)
    ours, _, _ = run_ours(path, inputs, work)
    refs, _ = V.reference_run(str(path), inputs, xnnpack=True)
    assert len(ours) == len(refs)
    return ours, refs


@pytest.mark.parametrize("name", VALUE_MODELS)
def test_matches_xnnpack(name, tmp_path):
    ours, refs = _ours_and_xnnpack(name, tmp_path)
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        assert c.ok, (name, k, c)


@pytest.mark.parametrize("name", ARGMAX_MODELS)
def test_argmax_matches_xnnpack(name, tmp_path):
    (values, idx), (ref_values, ref_idx) = _ours_and_xnnpack(name, tmp_path)
    assert V.compare(values, ref_values).ok
    g = compiler.load_graph(str(MODELS / f"{name}.tflite"))
    kw, kh = np.frombuffer(g.nodes[0].attrs["custom_options"][12:20], "<i4")
    # XNNPACK numbers a window's positions column by column, MediaPipe row by row
    ky, kx = np.divmod(ref_idx.view(np.uint32), kh)[::-1]
    assert np.array_equal(idx, (ky * kw + kx).astype(np.float32) + np.float32(0.1))


@pytest.mark.parametrize("name, index, options, message", [
    ("tconv_bias_same_k2s2", 0, b"\x01\x00\x00\x00", "reads 12"),
    ("tconv_bias_same_k2s2", 0, struct.pack("<3i", 0, 2, 2), "padding code 0"),
    ("tconv_bias_same_k2s2", 0, struct.pack("<3i", 1, 0, 2), "stride_w=0"),
    ("tconv_bias_same_k3s1", 0, struct.pack("<3i", 1, 2, 2), "different output sizes"),
    ("argmax_pool_k2", 0, struct.pack("<6i", 1, 2, 2, 2, 2, 1), "fused activation"),
    ("landmarks_matrix", 0, b"garbage!", "not a FlexBuffer"),
    ("landmarks_matrix", 0, flexbuffers.Dumps([1, 2]), "not a FlexBuffer map"),
    ("landmarks_matrix", 0, flexbuffers.Dumps({"scale_x": 1.0}), "subset_idxs"),
    ("landmarks_matrix", 0, flexbuffers.Dumps(
        {"subset_idxs": [0, 9], "output_height": 2, "output_width": 2, "scale_x": 1.0,
         "scale_y": 1.0}), r"indices \[9\] .* outside the input's 4 landmarks"),
    ("landmarks_matrix", 0, flexbuffers.Dumps(
        {"subset_idxs": [0, 1], "output_height": 2, "output_width": 2, "scale_x": 1.0}),
     "scale_y is 0.0, not positive"),
    ("transform_tensor", 0, flexbuffers.Dumps({"output_width": 6}), "not positive"),
    ("transform_landmarks_v1", 0, flexbuffers.Dumps({"dimensions": 3}), "without custom options scale"),
    ("transform_landmarks_v1", 0, flexbuffers.Dumps({"dimensions": 4, "scale": 1.0}), "2 or 3"),
])
def test_refuses_bad_options(name, index, options, message):
    g = compiler.load_graph(str(MODELS / f"{name}.tflite"))
    nodes = list(g.nodes)
    nodes[index] = nodes[index].replace(attrs={**nodes[index].attrs, "custom_options": options})
    with pytest.raises(DlcoderError, match=message):
        compiler.compile_graph(g.replace(nodes=tuple(nodes)), "m")


# ---- the face-landmark ops: no TFLite kernel here, so a numpy reference written from
# MediaPipe's kernels, and hand-checked cases -------------------------------------------

def _run(name, inputs, work):
    path = MODELS / f"{name}.tflite"
    ours, _, _ = run_ours(path, [np.asarray(x, np.float32) for x in inputs], work)
    return ours[0]


def _shift(x, y):
    m = np.eye(4)
    m[0, 3], m[1, 3] = x, y
    return m


def _rotate(a):
    m = np.eye(4)
    m[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return m


def ref_landmarks_matrix(lm, subset, left, right, target, out_w, out_h, scale_x, scale_y):
    """MediaPipe's LandmarksToTransformMatrixV2, in float64."""
    lm = np.asarray(lm, np.float64).reshape(-1, 3)
    (lx, ly), (rx, ry) = lm[left, :2], lm[right, :2]
    rot = target - np.arctan2(ry - ly, rx - lx)
    pts = lm[subset, :2] @ _rotate(rot)[:2, :2].T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = _rotate(-rot)[:2, :2] @ ((lo + hi) / 2)
    scale = np.diag([scale_x * (hi - lo)[0] / out_w, scale_y * (hi - lo)[1] / out_h, 1, 1])
    return (_shift(*center) @ _rotate(-rot) @ scale @ _shift(-out_w / 2, -out_h / 2))[None]


def ref_transform_landmarks(lm, m, dims, scale=1.0):
    """MediaPipe's TransformLandmarks: x, y through the matrix's first two rows (z as 0,
    the translation times scale), z copied."""
    m = np.asarray(m, np.float64).reshape(4, 4)
    pts = np.asarray(lm, np.float64).reshape(-1, dims).copy()
    x, y = pts[:, 0].copy(), pts[:, 1].copy()
    pts[:, 0] = m[0, 0] * x + m[0, 1] * y + m[0, 3] * scale
    pts[:, 1] = m[1, 0] * x + m[1, 1] * y + m[1, 3] * scale
    return pts.reshape(np.shape(lm))


def ref_transform_tensor(img, m, out_h, out_w):
    """MediaPipe's TransformTensorBilinearV2: the sample point in float32 as the kernel
    computes it (so that the in-bounds test agrees), the blend in float64."""
    img = np.asarray(img, np.float64)[0]
    h, w, c = img.shape
    m = np.asarray(m, np.float32).reshape(4, 4)
    f = np.float32
    x3 = m[0, 3] + m[0, 0] * f(0.5) + m[0, 1] * f(0.5) - f(0.5)
    y3 = m[1, 3] + m[1, 0] * f(0.5) + m[1, 1] * f(0.5) - f(0.5)
    out = np.zeros((1, out_h, out_w, c))
    at = lambda y, x: img[y, x] if 0 <= y < h and 0 <= x < w else np.zeros(c)
    for oy in range(out_h):
        for ox in range(out_w):
            tx = m[0, 0] * f(ox) + m[0, 1] * f(oy) + x3
            ty = m[1, 0] * f(ox) + m[1, 1] * f(oy) + y3
            if not (0 <= tx <= w - 1 and 0 <= ty <= h - 1):
                continue
            x0, y0 = int(np.floor(tx)), int(np.floor(ty))
            wx, wy = float(tx) - x0, float(ty) - y0
            upper = (1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)
            lower = (1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1)
            out[0, oy, ox] = wy * lower + (1 - wy) * upper
    return out


def _close(ours, ref):
    c = V.compare(ours, np.asarray(ref, np.float32))
    assert c.ok, (c, ours, ref)


# landmarks_matrix: subset 0..3, rotation from landmark 0 to 1, target 0, output 20x40
SQUARE = dict(subset=[0, 1, 2, 3], left=0, right=1, target=0.0, out_w=20, out_h=40,
              scale_x=1.0, scale_y=1.0)
ROT = dict(subset=[6, 2, 3, 5, 4], left=1, right=4, target=0.5, out_w=24, out_h=16,
           scale_x=1.5, scale_y=1.25)


@pytest.mark.parametrize("lm, expected", [
    # level: a 20x40 box around (20, 40) onto a 20x40 output is a shift by (10, 20)
    ([[10, 20, 0], [30, 20, 0], [10, 60, 0], [30, 60, 0]],
     [[1, 0, 0, 10], [0, 1, 0, 20], [0, 0, 1, 0], [0, 0, 0, 1]]),
    # the left -> right line points down (+y): rotation -pi/2; the 10x20 box, upright after
    # it, is half the output's size and centred at (-10, 5), which output pixel (10, 20) maps to
    ([[0, 0, 5], [0, 10, 5], [-20, 0, 5], [-20, 10, 5]],
     [[0, -0.5, 0, 0], [0.5, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),
])
def test_landmarks_matrix_hand_checked(lm, expected, tmp_path):
    ours = _run("landmarks_matrix", [np.array(lm)[None]], tmp_path)
    _close(ref_landmarks_matrix(lm, **SQUARE), [expected])
    _close(ours, [expected])


def test_landmarks_matrix_matches_reference(tmp_path):
    lm = np.random.default_rng(3).uniform(0, 100, (1, 7, 3))
    _close(_run("landmarks_matrix_rot", [lm], tmp_path), ref_landmarks_matrix(lm, **ROT))


QUARTER_TURN = [[0, -1, 0, 5], [1, 0, 0, -2], [0, 0, 1, 0], [0, 0, 0, 1]]


@pytest.mark.parametrize("m, expected", [
    (np.eye(4), [[1, 2, 3], [-4, 5, 6], [0, 0, 0], [7, -8, 9], [0.5, 0.25, -1]]),
    # (x, y) -> (5 - y, x - 2); z stays
    (QUARTER_TURN, [[3, -1, 3], [0, -6, 6], [5, -2, 0], [13, 5, 9], [4.75, -1.5, -1]]),
])
def test_transform_landmarks_hand_checked(m, expected, tmp_path):
    lm = np.array([[1, 2, 3], [-4, 5, 6], [0, 0, 0], [7, -8, 9], [0.5, 0.25, -1]])[None]
    ours = _run("transform_landmarks", [lm, np.asarray(m)[None]], tmp_path)
    _close(ref_transform_landmarks(lm, m, 3), [expected])
    _close(ours, [expected])


@pytest.mark.parametrize("name, dims, scale", [
    ("transform_landmarks", 3, 1.0), ("transform_landmarks_2d", 2, 1.0),
    ("transform_landmarks_v1", 3, 2.0)])
def test_transform_landmarks_matches_reference(name, dims, scale, tmp_path):
    g = compiler.load_graph(str(MODELS / f"{name}.tflite"))
    rng = np.random.default_rng(4)
    lm = rng.uniform(-50, 50, g.tensors[g.inputs[0]].shape)
    m = (_shift(3.5, -1.25) @ _rotate(0.7) @ np.diag([1.5, 0.8, 1, 1]))[None]
    _close(_run(name, [lm, m], tmp_path), ref_transform_landmarks(lm, m, dims, scale))


def _image(h, w, c):
    return np.arange(h * w * c, dtype=np.float64).reshape(1, h, w, c) * 0.5 - 7


def test_transform_tensor_identity_is_the_image(tmp_path):
    img = _image(5, 6, 2)
    ours = _run("transform_tensor", [img, np.eye(4)[None]], tmp_path)
    assert np.array_equal(ours, img.astype(np.float32))
    _close(ref_transform_tensor(img, np.eye(4), 5, 6), img)


def test_transform_tensor_border(tmp_path):
    """Sample points past the last row or column, or before the first, give 0; a point on
    the last column reads it alone; a half-pixel shift averages neighbours."""
    img = _image(6, 5, 3)
    ours = _run("transform_tensor_crop", [img, np.eye(4)[None]], tmp_path)
    expected = np.zeros((1, 4, 7, 3))
    expected[0, :, :5] = img[0, :4]              # columns 5, 6 lie past the image
    _close(ours, expected)
    _close(ref_transform_tensor(img, np.eye(4), 4, 7), expected)
    half = _shift(0.5, 0)[None]                  # x + 0.5: column 4 + 0.5 is outside
    ours = _run("transform_tensor_crop", [img, half], tmp_path / "half")
    expected = np.zeros((1, 4, 7, 3))
    expected[0, :, :4] = (img[0, :4, :4] + img[0, :4, 1:5]) / 2
    _close(ours, expected)
    back = _shift(-0.25, 0)[None]                # column 0 - 0.25 is outside
    ours = _run("transform_tensor_crop", [img, back], tmp_path / "back")
    assert np.all(ours[0, :, 0] == 0) and np.all(ours[0, :, 5:] == 0)
    _close(ours[0, :, 1:5], 0.25 * img[0, :4, :4] + 0.75 * img[0, :4, 1:5])


def test_transform_tensor_matches_reference(tmp_path):
    img = np.random.default_rng(5).standard_normal((1, 6, 5, 3))
    m = (_shift(2.2, 0.7) @ _rotate(0.3) @ np.diag([0.8, 0.9, 1, 1]))[None]
    _close(_run("transform_tensor_crop", [img, m], tmp_path),
           ref_transform_tensor(img, m, 4, 7))


def test_kernels_compile_without_warnings(tmp_path):
    """Every model's library under the strict flags of tests/test_warnings.py."""
    for path in sorted(MODELS.glob("*.tflite")):
        lib, _ = compiler.compile_graph(compiler.load_graph(str(path)), "m")
        out = tmp_path / path.stem
        compiler.write_library(lib, str(out))
        for src in sorted(out.glob("*.cc")):
            res = subprocess.run(["g++", "-std=c++17", *STRICT, "-I", str(out), "-c", str(src),
                                  "-o", str(out / f"{src.stem}.o")], capture_output=True, text=True)
            assert res.returncode == 0, (path.stem, res.stderr[-3000:])


def test_verify_takes_xnnpack_as_the_reference_of_convolution2d_transpose_bias(capsys):
    from dlcoder.verify_cmd import verify
    assert verify(str(MODELS / "tconv_bias_same_k2s2.tflite"), {}) == 0
    out = capsys.readouterr().out
    assert "reference: TFLite with its XNNPACK delegate, which runs CUSTOM:Convolution2DTransposeBias" in out
    assert "verify: PASS" in out
