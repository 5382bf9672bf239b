"""CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (float32, NHWC)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops._common import check_activation, clamp_init, shape, spatial_padding


def _bias(node, g, e, index: int) -> str:
    if len(node.inputs) <= index or node.inputs[index] < 0:
        return "nullptr"
    return e.src(node.inputs[index])


def _check_conv(node, g):
    if g.const(node.inputs[1]) is None:
        return "the filter must be a constant"
    return check_activation(node, g)


@register("CONV_2D", header="conv.h", check=_check_conv)
def conv2d(node, g, e):
    x, w = node.inputs[0], node.inputs[1]
    n, ih, iw, ic = shape(g, x)
    oc, kh, kw, icg = shape(g, w)
    _, oh, ow, _ = shape(g, node.outputs[0])
    groups = ic // icg
    dh, dw = node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1)
    top, left = spatial_padding(node, ih, iw, oh, ow, kh, kw, dh, dw)
    # [oc][kh][kw][icg] -> [groups][kh][kw][icg][ocg]
    packed = g.const(w).reshape(groups, oc // groups, kh, kw, icg).transpose(0, 2, 3, 4, 1)
    params = e.param("dlcoder_rt::ConvParams", cgen.struct_init({
        "batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "dil_h": dh, "dil_w": dw, "pad_top": top, "pad_left": left, "groups": groups,
        "act": clamp_init(node)}))
    return (f"dlcoder_rt::conv2d_f32({params}, {e.src(x)}, "
            f"{e.weights(np.ascontiguousarray(packed, np.float32))}, {_bias(node, g, e, 2)}, "
            f"{e.dst(node.outputs[0])});")


@register("DEPTHWISE_CONV_2D", header="conv.h", check=_check_conv)
def depthwise_conv2d(node, g, e):
    x, w = node.inputs[0], node.inputs[1]
    n, ih, iw, ic = shape(g, x)
    _, kh, kw, oc = shape(g, w)
    _, oh, ow, _ = shape(g, node.outputs[0])
    dh, dw = node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1)
    top, left = spatial_padding(node, ih, iw, oh, ow, kh, kw, dh, dw)
    params = e.param("dlcoder_rt::DepthwiseParams", cgen.struct_init({
        "batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "dil_h": dh, "dil_w": dw, "pad_top": top, "pad_left": left,
        "depth_multiplier": oc // ic, "act": clamp_init(node)}))
    return (f"dlcoder_rt::depthwise_conv2d_f32({params}, {e.src(x)}, {e.src(w)}, "
            f"{_bias(node, g, e, 2)}, {e.dst(node.outputs[0])});")


def _check_transpose_conv(node, g):
    if g.const(node.inputs[1]) is None:
        return "the filter must be a constant"
    return check_activation(node, g)


@register("TRANSPOSE_CONV", header="conv.h", check=_check_transpose_conv)
def transpose_conv(node, g, e):
    # inputs: output_shape, filter [oc][kh][kw][ic], input, optional bias
    w, x = node.inputs[1], node.inputs[2]
    n, ih, iw, ic = shape(g, x)
    oc, kh, kw, _ = shape(g, w)
    _, oh, ow, _ = shape(g, node.outputs[0])
    sh, sw = node.attrs["stride_h"], node.attrs["stride_w"]
    # TFLite computes the padding as for a conv from the output back to the input.
    top, left = 0, 0
    if node.attrs["padding"] == "SAME":
        top = max(((oh + sh - 1) // sh - 1) * sh + kh - oh, 0) // 2
        left = max(((ow + sw - 1) // sw - 1) * sw + kw - ow, 0) // 2
    packed = g.const(w).transpose(1, 2, 3, 0)   # -> [kh][kw][ic][oc]
    params = e.param("dlcoder_rt::TransposeConvParams", cgen.struct_init({
        "batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "pad_top": top, "pad_left": left,
        "act": clamp_init(node)}))
    return (f"dlcoder_rt::transpose_conv2d_f32({params}, {e.src(x)}, "
            f"{e.weights(np.ascontiguousarray(packed, np.float32))}, {_bias(node, g, e, 3)}, "
            f"{e.dst(node.outputs[0])});")
