"""CONV_2D, DEPTHWISE_CONV_2D (float32, NHWC); TRANSPOSE_CONV is in transpose_conv.py."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen, runtime_facts
from dlcoder.ops import Fusion, register
from dlcoder.ops._common import (bind_slope, check_activation, clamp_init, conv_geometry, pixel_slope, post_init,
                                 post_statement, residual, slope_init, with_residual,
                                 shape, spatial_padding)
from dlcoder.ops._gemm import KMAX_MR, PANEL, depth_arg, packed_weights, padded_bias, panels
from dlcoder.ops._shapes import (OUT, activation, arity, bias_size, dtypes_by, fail, in_shape,
                                 rank_between, window)


def _bias(node, g, e, index: int) -> str:
    if len(node.inputs) <= index or node.inputs[index] < 0:
        return "nullptr"
    return e.src(node.inputs[index])


def _check_conv(node, g):
    if g.const(node.inputs[1]) is None:
        return "the filter must be a constant"
    return check_activation(node, g)


def _conv_is_gemm(node, g) -> bool:
    """An ungrouped conv with a constant bias (or none) runs on the GEMM kernels."""
    x, w = node.inputs[0], node.inputs[1]
    bias_ok = len(node.inputs) < 3 or node.inputs[2] < 0 or g.const(node.inputs[2]) is not None
    return shape(g, x)[3] == shape(g, w)[3] and bias_ok


def _is_pointwise(node, g, top: int, left: int) -> bool:
    kh, kw = shape(g, node.inputs[1])[1:3]
    return ((kh, kw, top, left) == (1, 1, 0, 0) and node.attrs["stride_h"] == 1 and
            node.attrs["stride_w"] == 1 and shape(g, node.inputs[0])[1:3] == shape(g, node.outputs[0])[1:3])


def is_pointwise_gemm(node, g) -> bool:
    """A CONV_2D that is one plain GEMM over its input's pixels: ungrouped (a constant
    bias or none), 1x1, stride 1, no padding."""
    return _conv_is_gemm(node, g) and _is_pointwise(node, g, *_conv_padding(node, g))


def _is_narrow(node, g) -> bool:
    """Fewer output channels than one panel: conv2d_narrow, with tiles only that wide."""
    return shape(g, node.inputs[1])[0] < PANEL


# The implicit GEMM's pixel stride (stride_w * in_c) becomes a template constant up to this
# value (simd_kernels.h: WindowAK), so that a tile's rows need no pointer registers each:
# an RGB stem 15-17% faster, a 3x3 stride-2 conv from 16 channels 5%. Each value is its own
# set of kernel instances, hence the bound.
IMPLICIT_MAX_CONST_STRIDE = 64

# Output rows this short or shorter go through a padded band (conv2d_implicit's band_koff)
# when the conv has padding: their border pixels would otherwise be one-pixel GEMM tiles,
# a large share of a short row (2 of 7 pixels of a 3x3 conv on a 7x7 map).
BAND_MAX_WIDTH = 32


def _uses_band(node, g) -> bool:
    _, ih, iw, _ = shape(g, node.inputs[0])
    _, kh, kw, _ = shape(g, node.inputs[1])
    _, oh, ow, _ = shape(g, node.outputs[0])
    top, left = _conv_padding(node, g)
    dh, dw = node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1)
    padded = (top > 0 or left > 0 or (oh - 1) * node.attrs["stride_h"] + (kh - 1) * dh + 1 - top > ih
              or (ow - 1) * node.attrs["stride_w"] + (kw - 1) * dw + 1 - left > iw)
    return padded and ow <= BAND_MAX_WIDTH


def _narrow_width(node, g) -> int:
    """Pixels in a padded row of a band (`band_width` in simd_kernels.h)."""
    _, kh, kw, _ = shape(g, node.inputs[1])
    ow = shape(g, node.outputs[0])[2]
    return (ow - 1) * node.attrs["stride_w"] + (kw - 1) * node.attrs.get("dilation_w_factor", 1) + 1


# Input 4 of a 1x1 CONV_2D: a per-input-channel scale folded in by passes/fuse_input_scale.py.
INPUT_SCALE = 4


def _input_scale(node) -> int:
    return node.inputs[INPUT_SCALE] if len(node.inputs) > INPUT_SCALE else -1


# Winograd F(4x4, 3x3) (simd_winograd.h): the widest group of output channels and the chunk
# of input channels whose transformed filter is held at once, read out of params.h.
WINO_MAX_GROUP = runtime_facts.constant("kWinoMaxGroup")
WINO_CHUNK = runtime_facts.constant("kWinoChunk")


# Each block of tiles transforms its filter again (so that no 4x larger transformed copy
# is stored), which few tiles do not repay, nor tiles mostly past the map's edge. Measured
# on one core, in ns per pair of input and output channels: a block's filter transform
# 2.5, a tile's 36 products 0.39, against 0.09 for an output's 9 products in the implicit
# GEMM. So 3x3 with the same channels in and out: 56x56x64 0.43 ms against 1.04, 7x7x512
# (4 tiles of 16 outputs, 49 used) 0.84 against 0.99; but 5x5x128 to 32 (4 tiles, 25
# outputs used) 16.7 us against 11.2, 4x4x256 (1 tile) 0.17 ms against 0.10.
WINO_NS_FILTER, WINO_NS_TILE, IMPLICIT_NS_OUTPUT = 2.5, 0.39, 0.09
WINO_MIN_CHANNELS = 16


def winograd_filter(filt: np.ndarray) -> np.ndarray:
    """[oc][3][3][ic] -> [ceil(oc / 32)][ic][3][3][32], zero padded: the untransformed
    filter in the order the Winograd kernel reads it (one group's taps in sequence)."""
    oc, kh, kw, ic = filt.shape
    groups = -(-oc // WINO_MAX_GROUP)
    padded = np.zeros((groups * WINO_MAX_GROUP, kh, kw, ic), np.float32)
    padded[:oc] = filt
    return np.ascontiguousarray(padded.reshape(groups, WINO_MAX_GROUP, kh, kw, ic).transpose(0, 4, 2, 3, 1))


def _wino_block(node, g) -> int:
    """Tiles per block: 64, or 32 with more than 64 input channels, which keeps a block's
    transformed input (36 * block * in_c floats, the bulk of _wino_scratch) near 1.2 MB
    and the arena near what the direct conv needs. 64 tiles halve the filter transforms
    of 32: 28x28x128 took 0.49 ms against 0.65. No more than the conv has: a 7x7 map has
    4 tiles, and a block sized for 32 would reserve 8x the scratch it uses."""
    n, oh, ow, _ = shape(g, node.outputs[0])
    return min(64 if shape(g, node.inputs[1])[3] <= 64 else 32, n * -(-oh // 4) * -(-ow // 4))


def _wino_scratch(node, g) -> int:
    """Bytes of the kernel's V, U and M (params.h: wino_scratch, whose floats the generated
    code static_asserts to be these): each of their 36 positions a [rows][width] matrix
    and a cache line (16 floats) more (wino_rows_stride, wino_u_stride)."""
    ic, block = shape(g, node.inputs[1])[3], _wino_block(node, g)
    v, u, m = (block, ic), (min(ic, WINO_CHUNK), WINO_MAX_GROUP), (block, WINO_MAX_GROUP)
    return sum(36 * (rows * width + 16) for rows, width in (v, u, m)) * 4


def _is_winograd(node, g) -> bool:
    """A dense 3x3 stride-1 conv on a large enough map, with enough channels on both
    sides, runs as Winograd F(4x4, 3x3): 36 multiply-adds per 16 outputs and input
    channel instead of 144."""
    if not _conv_is_gemm(node, g) or _is_narrow(node, g) or node.attrs.get("layout") == "size":
        return False
    _, kh, kw, ic = shape(g, node.inputs[1])
    n, oh, ow, _ = shape(g, node.outputs[0])
    strides = (node.attrs["stride_h"], node.attrs["stride_w"])
    dilations = (node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1))
    if not ((kh, kw) == (3, 3) and strides == (1, 1) and dilations == (1, 1) and ic >= WINO_MIN_CHANNELS):
        return False
    tiles = n * -(-oh // 4) * -(-ow // 4)
    blocks = -(-tiles // _wino_block(node, g))
    return blocks * WINO_NS_FILTER + tiles * WINO_NS_TILE < n * oh * ow * IMPLICIT_NS_OUTPUT


def takes_residual(node, g) -> bool:
    """The CONV_2D's kernel can add a residual in its epilogue (passes/fuse_residual.py):
    the GEMM paths do, the narrow one does not."""
    if g.const(node.inputs[1]) is None or not _conv_is_gemm(node, g):
        return False
    return is_pointwise_gemm(node, g) or not _is_narrow(node, g)


def _conv_scratch(node, g) -> int:
    _, kh, kw, icg = shape(g, node.inputs[1])
    if _input_scale(node) >= 0:   # the scaled weights
        return panels(shape(g, node.inputs[1])[0]) * PANEL * icg * 4
    if not _conv_is_gemm(node, g) or _is_pointwise(node, g, *_conv_padding(node, g)):
        return 0
    if _is_winograd(node, g):
        return _wino_scratch(node, g)
    band = kh * _narrow_width(node, g) * icg * 4
    if _is_narrow(node, g):
        return band
    return max(KMAX_MR * kh * kw * icg * 4, band if _uses_band(node, g) else 0)


def _conv_task_scratch(node, g) -> int:
    # the scaled weights are written once, before the tasks split the GEMM
    return 0 if _input_scale(node) >= 0 else _conv_scratch(node, g)


def _conv_padding(node, g):
    _, ih, iw, _ = shape(g, node.inputs[0])
    _, kh, kw, _ = shape(g, node.inputs[1])
    _, oh, ow, _ = shape(g, node.outputs[0])
    return spatial_padding(node, ih, iw, oh, ow, kh, kw, node.attrs.get("dilation_h_factor", 1),
                           node.attrs.get("dilation_w_factor", 1))


def conv_params(node, g, e) -> str:
    """The ConvParams constant of a CONV_2D node (a fused slope's alpha not set: see
    _common.bind_slope)."""
    ic, icg = shape(g, node.inputs[0])[3], shape(g, node.inputs[1])[3]
    return e.param("dlcoder_rt::ConvParams", cgen.struct_init("ConvParams", {
        **conv_geometry(node, g), "groups": ic // icg,
        "act": clamp_init(node), "post": post_init(node),
        "res_act": clamp_init(node, attr="residual_act"), "slope": slope_init(node, g)}))


def gemm_filter(node, g, e, half: bool = False) -> str:
    """An ungrouped conv filter as GEMM panels: B[k = (ky, kx, ci)][n = oc]; float16 with
    `half` (_gemm.packed_weights)."""
    oc, kh, kw, ic = shape(g, node.inputs[1])
    return packed_weights(e, g.const(node.inputs[1]).reshape(oc, kh * kw * ic).T, half)


def pair_filter(filt: np.ndarray) -> np.ndarray:
    """A filter of out_c <= 8 for conv2d_pairs (simd_kernels.h): [k_h][chunk][16], lane
    2o + t of chunk j holding output channel o's weight for tap 2j + t of the window row's
    k_w * in_c taps, zeros past the row and past out_c."""
    oc, kh, kw, ic = filt.shape
    run = kw * ic
    rows = np.zeros((kh, 2 * (-(-run // 2)), PANEL // 2), np.float32)   # [ky][tap][o]
    rows[:, :run, :oc] = filt.reshape(oc, kh, run).transpose(1, 2, 0)
    # [ky][chunk][t][o] -> [ky][chunk][o][t]
    chunks = rows.reshape(kh, -1, 2, PANEL // 2).transpose(0, 1, 3, 2)
    return np.ascontiguousarray(chunks).reshape(-1)


def _nhwc_and_filter(node, g) -> tuple:
    """The input's and the filter's shapes, both of rank 4, after the arity check: the
    input, the filter and an optional bias (positions 0, 1, 2)."""
    arity(node, (2, 3))
    activation(node)
    x, w = in_shape(g, node, 0), in_shape(g, node, 1)
    rank_between(x, 4, 4)
    rank_between(w, 4, 4, "filter")
    return x, w


# The input's dtype -> the filter's, the bias's and the output's (TFLite's conv Prepare and
# the kernel its Eval picks). A float32 conv with an int8 or uint8 filter is TFLite's hybrid
# (dynamic-range) conv; TFLite does not check the filter of a float32 conv further, but its
# float kernel reads it as float32. TFLite also takes uint8 filters on int8 data and the
# reverse, which its kernels then read as the data's type.
_CONV_DTYPES = {
    "float32": {1: {"float32", "int8", "uint8"}, 2: {"float32"}, OUT: {"float32"}},
    "int8": {1: {"int8"}, 2: {"int32"}, OUT: {"int8"}},
    "uint8": {1: {"uint8"}, 2: {"int32"}, OUT: {"uint8"}},
    "int16": {1: {"int8"}, 2: {"int32", "int64"}, OUT: {"int16"}},
}
# DEPTHWISE_CONV_2D: the hybrid filter is int8 only, an int16 conv's bias int64 only
_DEPTHWISE_DTYPES = {
    "float32": {1: {"float32", "int8"}, 2: {"float32"}, OUT: {"float32"}},
    "int8": {1: {"int8"}, 2: {"int32"}, OUT: {"int8"}},
    "uint8": {1: {"uint8"}, 2: {"int32"}, OUT: {"uint8"}},
    "int16": {1: {"int8"}, 2: {"int64"}, OUT: {"int16"}},
}


def _conv_shape(node, g):
    """TFLite's conv Prepare: filter [out_c, h, w, in_c / groups], the input's channels a
    multiple of the filter's (grouped conv), a bias per output channel; the dtypes of
    _CONV_DTYPES."""
    x, w = _nhwc_and_filter(node, g)
    if x[3] < 1 or w[3] < 1 or x[3] % w[3]:
        fail(f"the filter has {w[3]} input channels, the input has {x[3]}")
    groups = x[3] // w[3]
    if w[0] % groups:
        fail(f"the filter's {w[0]} output channels do not split into {groups} groups "
             f"(the input's {x[3]} channels over the filter's {w[3]})")
    bias_size(g, node, 2, w[0])
    dtypes_by(g, node, _CONV_DTYPES)
    return [(x[0],) + window(node, x[1:3], w[1:3], dilated=True) + (w[0],)]


RESIDUAL = 3   # the input slot of a fused residual operand (passes/fuse_residual.py)


def _fuse_residual(node, g, other: int, act: str):
    """The CONV_2D adding a residual in its GEMM epilogue (Fusion.residual), if its kernel
    can: the GEMM paths without an epilogue or a residual yet; the narrow path cannot."""
    if len(node.inputs) > RESIDUAL or "epilogue" in node.attrs or len(node.outputs) != 1:
        return None
    return with_residual(node, other, act, RESIDUAL) if takes_residual(node, g) else None


def _fuse_input_scale(node, g, s: int):
    """The CONV_2D scaling its weights by s at run time (Fusion.input_scale, input 4): a 1x1
    stride-1 GEMM conv without a scale yet, where scaling the weights costs less than the
    MUL over the map (N * H * W >= out_c)."""
    if len(node.inputs) > INPUT_SCALE or not is_pointwise_gemm(node, g):
        return None
    n, h, w, _ = shape(g, node.inputs[0])
    if n * h * w < shape(g, node.outputs[0])[-1]:
        return None
    return node.replace(inputs=tuple(node.inputs) + (-1,) * (INPUT_SCALE - len(node.inputs)) + (s,))


@register("CONV_2D", header="conv.h", check=_check_conv, scratch=_conv_scratch,
          task_scratch=_conv_task_scratch, shape=_conv_shape,
          fusion=Fusion(takes_clamp=True, takes_epilogue=True, pad_value=0.0,
                        residual=_fuse_residual, input_scale=_fuse_input_scale))
def conv2d(node, g, e):
    x, w = node.inputs[0], node.inputs[1]
    n, ih, iw, ic = shape(g, x)
    oc, kh, kw, icg = shape(g, w)
    groups = ic // icg
    dh, dw = node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1)
    top, left = _conv_padding(node, g)
    params = conv_params(node, g, e)
    filt = g.const(w)
    if _conv_is_gemm(node, g):
        params = bind_slope(node, g, e, params)
        bias = padded_bias(node, g, e, 2, oc)
        res = residual(node, e, 3)
        if _is_winograd(node, g):
            block, wfilt = _wino_block(node, g), e.weights(winograd_filter(filt))
            e.static_assert(f"dlcoder_rt::wino_scratch({block}, {ic}).floats * 4 == {_wino_scratch(node, g)}",
                            "ops/conv.py: _wino_scratch differs from params.h: wino_scratch")
            return (f"dlcoder_rt::conv2d_f32_winograd({e.par()}, {params}, {block}, {e.src(x)}, "
                    f"{wfilt}, {bias}, {res}, "
                    f"{e.dst(node.outputs[0])}, {e.scratch('float')});")
        # the narrow kernels read float panels, the GEMM ones (scaled too) float16 too
        half = (node.attrs.get("weights_f16", False)
                and (_is_pointwise(node, g, top, left) or not _is_narrow(node, g)))
        packed = gemm_filter(node, g, e, half)
        if _input_scale(node) >= 0:
            return (f"dlcoder_rt::conv2d_1x1_scaled_f32(par, {params}, {e.src(x)}, {packed}, "
                    f"{e.src(_input_scale(node))}, {bias}, {res}, {e.dst(node.outputs[0])}, "
                    f"{e.scratch('float')});")
        if _is_pointwise(node, g, top, left):
            depth = depth_arg(int(np.prod(shape(g, node.outputs[0])[:3])), ic, half)  # pixels x in_c
            return (f"dlcoder_rt::conv2d_1x1_f32{depth}(par, {params}, {e.src(x)}, {packed}, {bias}, {res}, "
                    f"{e.dst(node.outputs[0])});")
        # offset of tap (ky, kx, ci) from a window's origin, in the NHWC input or in a band
        # of k_h padded rows (narrow convs, short padded rows)
        ky, kx, ci = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(ic), indexing="ij")
        in_band = ((ky * _narrow_width(node, g) + kx * dw) * ic + ci).astype(np.int32).ravel()
        if _is_narrow(node, g):
            if 2 * oc <= PANEL and dw == 1 and node.attrs.get("layout") != "size":
                pairs, shape_args = e.weights(pair_filter(filt)), f"{oc}, {kw * icg}"
            else:
                pairs, shape_args = "nullptr", f"{oc}"
            return (f"dlcoder_rt::conv2d_narrow_f32<{shape_args}>({e.par()}, {params}, {e.src(x)}, {packed}, {pairs}, "
                    f"{bias}, {e.weights(in_band)}, {e.dst(node.outputs[0])}, {e.scratch('float')});")
        if _uses_band(node, g):
            koff, band_koff = "nullptr", e.weights(in_band)
        else:
            koff, band_koff = e.weights(((ky * dh * iw + kx * dw) * ic + ci).astype(np.int32).ravel()), "nullptr"
        rs = node.attrs["stride_w"] * ic   # floats between a tile's pixels
        spec = f"<{rs}>" if rs <= IMPLICIT_MAX_CONST_STRIDE else ""
        return (f"dlcoder_rt::conv2d_implicit_f32{spec}({e.par()}, {params}, {e.src(x)}, {packed}, {bias}, {koff}, "
                f"{band_koff}, {res}, {e.dst(node.outputs[0])}, {e.scratch('float')});")
    # grouped: [oc][kh][kw][icg] -> [groups][kh][kw][icg][ocg]
    packed = filt.reshape(groups, oc // groups, kh, kw, icg).transpose(0, 2, 3, 4, 1)
    return [f"dlcoder_rt::conv2d_f32({params}, {e.src(x)}, "
            f"{e.weights(np.ascontiguousarray(packed, np.float32))}, {_bias(node, g, e, 2)}, "
            f"{e.dst(node.outputs[0])});"] + post_statement(node, g, e)


def depthwise_params(node, g, e, in_kernel: bool = True) -> str:
    """The DepthwiseParams constant of a DEPTHWISE_CONV_2D node; its slope (alpha not set:
    _common.bind_slope) only if in_kernel."""
    return e.param("dlcoder_rt::DepthwiseParams", cgen.struct_init("DepthwiseParams", {
        **conv_geometry(node, g, depthwise=True), "act": clamp_init(node), "post": post_init(node),
        "slope": slope_init(node, g, in_kernel)}))


# The kernels simd_depthwise.h unrolls: kxk, k in DW_UNROLLED (conv.h: DwSpec); rows of
# DW_WIDE_CHANNELS channels or more may take its pixel-major interior
DW_UNROLLED = (3, 5)
DW_WIDE_CHANNELS = runtime_facts.constant("kWideChannels")


def depthwise_spec(node, g) -> str:
    """The DwSpec template argument (conv.h) of a SIMD DEPTHWISE_CONV_2D: its kernel size,
    stride, the counts of window rows inside the input its output rows have, and whether
    its channels are whole 16-float blocks and enough for wide rows. The model then
    instantiates only the depthwise variants its layers can reach (every variant costs once
    per ISA); a count missing from `rows` would skip rows, so it walks every output row as
    dwconv_row_at does."""
    geo = conv_geometry(node, g, depthwise=True)
    k = geo["k_w"] if geo["k_h"] == geo["k_w"] and geo["k_w"] in DW_UNROLLED else -1
    s = geo["stride_w"] if geo["dil_w"] == 1 and geo["stride_w"] in (1, 2) else -1
    rows = 0
    for oy in range(geo["out_h"]):
        top = oy * geo["stride_h"] - geo["pad_top"]
        rows |= 1 << sum(0 <= top + ky * geo["dil_h"] < geo["in_h"] for ky in range(geo["k_h"]))
    flags = (geo["out_c"] % 16 == 0, geo["out_c"] >= DW_WIDE_CHANNELS)
    return f"dlcoder_rt::DwSpec<{k}, {s}, {rows:#x}u, {', '.join(str(f).lower() for f in flags)}>"


def _depthwise_shape(node, g):
    """TFLite's depthwise Prepare: filter [1, h, w, in_c * multiplier]. Like TFLite's
    kernels, ours take the multiplier from the shapes; the depth_multiplier attribute,
    redundant, is not read (TFLite stopped checking it). The dtypes of _DEPTHWISE_DTYPES."""
    x, w = _nhwc_and_filter(node, g)
    if w[0] != 1:
        fail(f"the filter has shape {list(w)}, a depthwise filter is [1, h, w, channels]")
    if x[3] < 1 or w[3] % x[3]:
        fail(f"the filter has {w[3]} channels, not a multiple of the input's {x[3]}")
    bias_size(g, node, 2, w[3])
    dtypes_by(g, node, _DEPTHWISE_DTYPES)
    return [(x[0],) + window(node, x[1:3], w[1:3], dilated=True) + (w[3],)]


@register("DEPTHWISE_CONV_2D", header="conv.h", check=_check_conv, shape=_depthwise_shape,
          fusion=Fusion(takes_clamp=True, takes_epilogue=True, pad_value=0.0))
def depthwise_conv2d(node, g, e):
    x, w = node.inputs[0], node.inputs[1]
    ic, kh, oc = shape(g, x)[3], shape(g, w)[1], shape(g, w)[3]
    simd = oc == ic and kh <= 64
    # the SIMD rows apply a slope per channel (or one slope); one per pixel goes afterwards
    in_kernel = simd and not pixel_slope(node, g)
    params = bind_slope(node, g, e, depthwise_params(node, g, e, in_kernel), in_kernel)
    call = (f"{params}, {e.src(x)}, {e.src(w)}, {_bias(node, g, e, 2)}, {e.dst(node.outputs[0])});")
    if simd:
        after = [] if in_kernel else post_statement(node, g, e)
        return [f"dlcoder_rt::depthwise_conv2d_f32_simd<{depthwise_spec(node, g)}>(par, " + call] + after
    return ["dlcoder_rt::depthwise_conv2d_f32(" + call] + post_statement(node, g, e)

