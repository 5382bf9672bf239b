"""MediaPipe's custom ops (float32): Convolution2DTransposeBias, MaxPoolingWithArgmax2D,
MaxUnpooling2D (NHWC), and the face-landmark ops Landmarks2TransformMatrix,
TransformLandmarks, TransformTensorBilinear.

Semantics and options are those of MediaPipe's kernels (mediapipe/util/tflite/operations/
*.cc). The first three, which TFLite's XNNPACK delegate also runs, take custom options that
are not FlexBuffers: MediaPipe and XNNPACK cast them to a TFLite C struct of little-endian
int32 fields (TfLiteTransposeConvParams, TfLitePoolParams), which `_options` reads field by
field. The argmax indices are MediaPipe's float32 window positions. The landmark ops take a
FlexBuffer map (`_flex_options`), read as TFLite's GPU delegate parses it for MediaPipe:
a missing key reads as 0. Kernels: runtime/dlcoder_rt/mediapipe.h.
"""
from __future__ import annotations

import numpy as np
from flatbuffers import flexbuffers

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import register
from dlcoder.ops._common import shape
from dlcoder.ops._shapes import arity, dtypes_in, fail, in_shape, rank_between

# TfLitePadding
# The ops TFLite's XNNPACK delegate computes as MediaPipe does: `dlcoder verify` takes it as
# their reference. Not the argmax pair: XNNPACK numbers a window's positions column by
# column, MediaPipe row by row, so the indices differ (their unpooled results agree).
XNNPACK_CUSTOM_OPS = frozenset({"CUSTOM:Convolution2DTransposeBias"})
_PADDINGS = {1: "SAME", 2: "VALID"}
# TfLiteTransposeConvParams and TfLitePoolParams, as far as the kernels read them
_TCONV_FIELDS = ("padding", "stride_w", "stride_h")
_POOL_FIELDS = ("padding", "stride_w", "stride_h", "filter_w", "filter_h", "activation")
_NO_CLAMP = ("{-std::numeric_limits<float>::infinity(), "
             "std::numeric_limits<float>::infinity()}")


def _options(node, fields: tuple) -> dict:
    """The leading int32 fields of the node's custom options (a C struct), by name; the
    padding must be SAME or VALID and the strides and filter sizes positive."""
    raw = node.attrs.get("custom_options", b"")
    if len(raw) < 4 * len(fields):
        fail(f"its custom options have {len(raw)} bytes, MediaPipe's {node.op[7:]} reads "
             f"{4 * len(fields)} ({', '.join(fields)} as int32)")
    opts = dict(zip(fields, (int(v) for v in np.frombuffer(raw[:4 * len(fields)], "<i4"))))
    if opts["padding"] not in _PADDINGS:
        fail(f"padding code {opts['padding']} in its custom options is neither SAME (1) "
             f"nor VALID (2)")
    bad = [f for f in fields if f.startswith(("stride", "filter")) and opts[f] < 1]
    if bad:
        fail(f"custom options {', '.join(f'{f}={opts[f]}' for f in bad)} are not positive")
    return opts


def _floats(g, node) -> None:
    dtypes_in(g, node, {"float32"}, outputs=range(len(node.outputs)))


def _check_filter(node, g):
    if g.const(node.inputs[1]) is None:
        return "the filter must be a constant"
    return None


def _tconv_padding(x: tuple, w: tuple, opts: dict) -> tuple:
    """MediaPipe's total padding (height, width): TFLite's SAME padding formula applied to
    the input's size, 0 for VALID. With SAME, MediaPipe's kernel gives stride * in only
    where the input is a multiple of the stride and the kernel no smaller; elsewhere
    XNNPACK's gives stride * in and MediaPipe's less, so the model means one of two
    things: refused."""
    if _PADDINGS[opts["padding"]] == "VALID":
        return 0, 0
    for axis, s, k in ((1, opts["stride_h"], w[1]), (2, opts["stride_w"], w[2])):
        if x[axis] % s or k < s:
            raise UnsupportedError(
                f"Convolution2DTransposeBias with SAME padding over an input of size {x[axis]}, a "
                f"kernel of {k} and a stride of {s}: MediaPipe's kernel and TFLite's XNNPACK "
                f"delegate give different output sizes unless the size is a multiple of "
                f"the stride and the kernel at least the stride")
    return (max(0, w[1] - (x[1] - 1) % opts["stride_h"] - 1),
            max(0, w[2] - (x[2] - 1) % opts["stride_w"] - 1))


def _tconv_shape(node, g):
    """Input [n, h, w, in_c], filter [out_c, kh, kw, in_c], bias [out_c]; the output is
    stride * (in - 1) + kernel - padding per axis (MediaPipe's Prepare)."""
    arity(node, 3)
    x, w, b = (in_shape(g, node, k) for k in range(3))
    rank_between(x, 4, 4)
    rank_between(w, 4, 4, "filter")
    rank_between(b, 1, 1, "bias")
    if w[3] != x[3]:
        fail(f"the filter has {w[3]} input channels, the input has {x[3]}")
    if b[0] != w[0]:
        fail(f"the bias has {b[0]} values, the filter {w[0]} output channels")
    _floats(g, node)
    opts = _options(node, _TCONV_FIELDS)
    ph, pw = _tconv_padding(x, w, opts)
    return [(x[0], opts["stride_h"] * (x[1] - 1) + w[1] - ph,
             opts["stride_w"] * (x[2] - 1) + w[2] - pw, w[0])]


@register("CUSTOM:Convolution2DTransposeBias", header="conv.h", check=_check_filter,
          shape=_tconv_shape)
def convolution2d_transpose_bias(node, g, e):
    x, w, b = node.inputs
    n, ih, iw, ic = shape(g, x)
    oc, kh, kw, _ = shape(g, w)
    _, oh, ow, _ = shape(g, node.outputs[0])
    opts = _options(node, _TCONV_FIELDS)
    ph, pw = _tconv_padding(shape(g, x), shape(g, w), opts)
    packed = g.const(w).transpose(1, 2, 3, 0)   # -> [kh][kw][ic][oc]
    params = e.param("dlcoder_rt::TransposeConvParams", cgen.struct_init("TransposeConvParams", {
        "batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "stride_h": opts["stride_h"], "stride_w": opts["stride_w"],
        "pad_top": ph // 2, "pad_left": pw // 2, "act": _NO_CLAMP}))
    return (f"dlcoder_rt::transpose_conv2d_f32({params}, {e.src(x)}, "
            f"{e.weights(np.ascontiguousarray(packed, np.float32))}, {e.src(b)}, "
            f"{e.dst(node.outputs[0])});")


def _pool_options(node) -> dict:
    """The pooling options; a fused activation is refused (XNNPACK refuses it too, and
    MediaPipe's models carry none)."""
    opts = _options(node, _POOL_FIELDS)
    if opts["activation"] != 0:
        raise UnsupportedError(f"{node.op} with a fused activation (code {opts['activation']} "
                               f"in its custom options) is not supported")
    return opts


def _same_padding(stride: int, big: int, k: int, small: int) -> int:
    """TFLite's ComputePadding (dilation 1): the leading padding of a window of k sliding
    by stride over `big` to give `small` positions."""
    return max(((small - 1) * stride + k - big) // 2, 0)


def _argmax_geometry(node, g) -> dict:
    """MaxPoolingWithArgmax2D's windows (MediaPipe's Prepare): TensorFlow's output size,
    TFLite's padding."""
    opts = _pool_options(node)
    _, h, w, _ = in_shape(g, node, 0)
    kh, kw, sh, sw = opts["filter_h"], opts["filter_w"], opts["stride_h"], opts["stride_w"]
    if _PADDINGS[opts["padding"]] == "SAME":
        oh, ow = -(-h // sh), -(-w // sw)
    else:
        oh, ow = (h - kh + sh) // sh, (w - kw + sw) // sw
    if oh < 1 or ow < 1:
        fail(f"a {kh}x{kw} window does not fit the {h}x{w} input")
    return {"k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "out_h": oh, "out_w": ow,
            "pad_top": _same_padding(sh, h, kh, oh), "pad_left": _same_padding(sw, w, kw, ow)}


def _argmax_shape(node, g):
    """Input NHWC; outputs the pooled values and their float32 window indices."""
    arity(node, 1, 2)
    x = in_shape(g, node, 0)
    rank_between(x, 4, 4)
    _floats(g, node)
    geo = _argmax_geometry(node, g)
    out = (x[0], geo["out_h"], geo["out_w"], x[3])
    return [out, out]


def _params(e, n, ih, iw, c, geo) -> str:
    return e.param("dlcoder_rt::ArgmaxPoolParams", cgen.struct_init("ArgmaxPoolParams", {
        "batch": n, "in_h": ih, "in_w": iw, "channels": c, **geo}))


@register("CUSTOM:MaxPoolingWithArgmax2D", header="mediapipe.h", shape=_argmax_shape)
def max_pooling_with_argmax(node, g, e):
    x = node.inputs[0]
    n, ih, iw, c = shape(g, x)
    params = _params(e, n, ih, iw, c, _argmax_geometry(node, g))
    return (f"dlcoder_rt::max_pool_argmax_f32({params}, {e.src(x)}, {e.dst(node.outputs[0])}, "
            f"{e.dst(node.outputs[1])});")


def _unpool_geometry(node, g) -> dict:
    """MaxUnpooling2D's windows (MediaPipe's Prepare): the output is the input times the
    filter size, whatever the stride or padding code; the padding is TFLite's."""
    opts = _options(node, _POOL_FIELDS[:5])
    _, h, w, _ = in_shape(g, node, 0)
    kh, kw, sh, sw = opts["filter_h"], opts["filter_w"], opts["stride_h"], opts["stride_w"]
    oh, ow = h * kh, w * kw
    return {"k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "out_h": oh, "out_w": ow,
            "pad_top": _same_padding(sh, oh, kh, h), "pad_left": _same_padding(sw, ow, kw, w)}


def _unpool_shape(node, g):
    """Values and indices of one NHWC shape; MediaPipe's indices are float32 window
    positions (TFLite's own MaxUnpooling2D, with int32 flat indices, is another op)."""
    arity(node, 2)
    x, idx = in_shape(g, node, 0), in_shape(g, node, 1)
    rank_between(x, 4, 4)
    if tuple(idx) != tuple(x):
        fail(f"the indices have shape {list(idx)}, the values {list(x)}")
    if g.tensors[node.inputs[1]].dtype != "float32":
        raise UnsupportedError(f"{node.op} with {g.tensors[node.inputs[1]].dtype} indices: "
                               f"MediaPipe's kernel takes float32 window positions")
    _floats(g, node)
    geo = _unpool_geometry(node, g)
    return [(x[0], geo["out_h"], geo["out_w"], x[3])]


@register("CUSTOM:MaxUnpooling2D", header="mediapipe.h", shape=_unpool_shape)
def max_unpooling(node, g, e):
    x, idx = node.inputs
    n, ih, iw, c = shape(g, x)
    params = _params(e, n, ih, iw, c, _unpool_geometry(node, g))
    return (f"dlcoder_rt::max_unpool_f32({params}, {e.src(x)}, {e.src(idx)}, "
            f"{e.dst(node.outputs[0])});")


# ---- the face-landmark ops ------------------------------------------------------------

def _flex_options(node) -> dict:
    """The node's custom options as MediaPipe reads them: a FlexBuffer map."""
    raw = node.attrs.get("custom_options", b"")
    try:
        opts = flexbuffers.Loads(raw) if raw else None
    except Exception as exc:    # the decoder raises whatever the bytes trip it on
        fail(f"its custom options are not a FlexBuffer ({type(exc).__name__}: {exc})")
    if not isinstance(opts, dict):
        fail("its custom options are not a FlexBuffer map")
    return opts


def _number(opts: dict, key: str, kind=int):
    """A scalar option; missing reads as 0, as flexbuffers' AsInt32/AsFloat read a null."""
    v = opts.get(key, 0)
    if isinstance(v, (list, dict, str, bytes)) or v is None:
        fail(f"custom option {key} is {v!r}, not a number")
    return kind(v)


def _landmarks_opts(node, g) -> dict:
    """Landmarks2TransformMatrix (version 2) options, checked as MediaPipe's Eval does, with
    every landmark index inside the input's landmarks."""
    opts = _flex_options(node)
    subset = opts.get("subset_idxs", [])
    if not isinstance(subset, list) or not subset or not all(isinstance(i, int) for i in subset):
        fail(f"custom option subset_idxs is {subset!r}, not a list of landmark indices")
    out = {"left": _number(opts, "left_rotation_idx"), "right": _number(opts, "right_rotation_idx"),
           "subset_count": len(subset),
           "target_rotation": _number(opts, "target_rotation_radians", float),
           "output_w": _number(opts, "output_width"), "output_h": _number(opts, "output_height"),
           "scale_x": _number(opts, "scale_x", float), "scale_y": _number(opts, "scale_y", float)}
    for key in ("output_w", "output_h", "scale_x", "scale_y"):
        if out[key] <= 0:
            fail(f"custom option {key} is {out[key]}, not positive")
    n = in_shape(g, node, 0)[1]
    bad = [i for i in [out["left"], out["right"]] + subset if not 0 <= i < n]
    if bad:
        fail(f"landmark indices {bad} in its custom options are outside the input's {n} landmarks")
    return {**out, "subset": subset}


def _landmarks_shape(node, g):
    """Landmarks [1, n, 3] (version 2; version 1 takes rank 4) -> the [1, 4, 4] matrix."""
    arity(node, 1)
    x = in_shape(g, node, 0)
    if len(x) == 4:
        raise UnsupportedError(f"{node.op} version 1 (a rank-4 input) is not supported; "
                               f"version 2 takes landmarks [1, n, 3]")
    rank_between(x, 3, 3)
    if x[0] != 1 or x[2] != 3:
        fail(f"the input has shape {list(x)}, not landmarks [1, n, 3]")
    _floats(g, node)
    _landmarks_opts(node, g)
    return [(1, 4, 4)]


@register("CUSTOM:Landmarks2TransformMatrix", header="mediapipe.h", shape=_landmarks_shape)
def landmarks_to_transform_matrix(node, g, e):
    opts = _landmarks_opts(node, g)
    subset = e.array("int32_t", opts.pop("subset"))
    params = e.param("dlcoder_rt::LandmarksToMatrixParams",
                     cgen.struct_init("LandmarksToMatrixParams", opts))
    return (f"dlcoder_rt::landmarks_to_transform_matrix_f32({params}, {subset}, "
            f"{e.src(node.inputs[0])}, {e.dst(node.outputs[0])});")


def _matrix(g, node, k: int) -> None:
    m = in_shape(g, node, k)
    if int(np.prod(m)) != 16 or m[-2:] != (4, 4):
        fail(f"input {k} has shape {list(m)}, not a 4x4 transform matrix")


def _transform_landmarks_params(node, g) -> dict:
    """Version 2 (landmarks [1, n, dims]): points of the last axis' size, scale 1. Version 1
    (rank 4, [1, h, w, c]): points of the options' `dimensions` across the channels, the
    translation times the options' `scale`."""
    x = in_shape(g, node, 0)
    if len(x) == 3:
        dims, scale = x[2], 1.0
    else:
        opts = _flex_options(node)
        missing = [k for k in ("dimensions", "scale") if k not in opts]
        if missing:
            raise UnsupportedError(f"{node.op} version 1 without custom options "
                                   f"{', '.join(missing)}: their default is not documented")
        dims, scale = _number(opts, "dimensions"), _number(opts, "scale", float)
        if scale == 0:
            fail("custom option scale is 0")
    if dims not in (2, 3):
        fail(f"landmarks of {dims} values: MediaPipe's kernel takes 2 or 3")
    if x[-1] % dims:
        fail(f"the input's last axis of {x[-1]} does not split into points of {dims}")
    return {"points": int(np.prod(x)) // dims, "dims": dims, "scale": scale}


def _transform_landmarks_shape(node, g):
    """Landmarks [1, n, dims] (version 2) or [1, h, w, c] (version 1) and a 4x4 matrix ->
    landmarks of the input's shape. MediaPipe's kernel only transforms batch 0."""
    arity(node, 2)
    x = in_shape(g, node, 0)
    rank_between(x, 3, 4)
    if x[0] != 1:
        fail(f"the landmarks have batch {x[0]}: MediaPipe's kernel transforms batch 0 only")
    _matrix(g, node, 1)
    _floats(g, node)
    _transform_landmarks_params(node, g)
    return [tuple(x)]


@register("CUSTOM:TransformLandmarks", header="mediapipe.h", shape=_transform_landmarks_shape)
def transform_landmarks(node, g, e):
    params = e.param("dlcoder_rt::TransformLandmarksParams", cgen.struct_init(
        "TransformLandmarksParams", _transform_landmarks_params(node, g)))
    return (f"dlcoder_rt::transform_landmarks_f32({params}, {e.src(node.inputs[0])}, "
            f"{e.src(node.inputs[1])}, {e.dst(node.outputs[0])});")


def _tensor_size(node) -> tuple:
    opts = _flex_options(node)
    size = _number(opts, "output_height"), _number(opts, "output_width")
    if min(size) < 1:
        fail(f"custom options output_height, output_width are {list(size)}, not positive")
    return size


def _transform_tensor_shape(node, g):
    """An image [1, h, w, c] and a 4x4 matrix -> [1, output_height, output_width, c]
    (version 2's options; MediaPipe's kernel only samples batch 0)."""
    arity(node, 2)
    x = in_shape(g, node, 0)
    rank_between(x, 4, 4)
    if x[0] != 1:
        fail(f"the input has batch {x[0]}: MediaPipe's kernel samples batch 0 only")
    _matrix(g, node, 1)
    _floats(g, node)
    return [(1,) + _tensor_size(node) + (x[3],)]


@register("CUSTOM:TransformTensorBilinear", header="mediapipe.h", shape=_transform_tensor_shape)
def transform_tensor_bilinear(node, g, e):
    _, h, w, c = shape(g, node.inputs[0])
    oh, ow = _tensor_size(node)
    params = e.param("dlcoder_rt::TransformTensorParams", cgen.struct_init(
        "TransformTensorParams", {"in_h": h, "in_w": w, "channels": c, "out_h": oh, "out_w": ow}))
    return (f"dlcoder_rt::transform_tensor_bilinear_f32({params}, {e.src(node.inputs[0])}, "
            f"{e.src(node.inputs[1])}, {e.dst(node.outputs[0])});")
