"""Ops that exist only inside dlcoder: patterns that passes fuse into one kernel.
Their names are not TFLite builtin names, so no model can contain them directly."""
from __future__ import annotations

from dlcoder.ir import Node
from dlcoder.ops import register
from dlcoder.ops._common import shape
from dlcoder.ops.conv import conv_params, depthwise_params, gemm_filter, padded_bias


@register("DLCODER_SWISH", header="elementwise.h")
def swish(node, g, e):
    """x * logistic(x) (from passes/fuse_swish.py), one pass over memory instead of two."""
    x, out = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::unary_f32(dlcoder_rt::UnaryKind::kSwish, {g.tensors[out].size}, "
            f"{e.src(x)}, {e.dst(out)});")


def split_pw_dw(node):
    """The CONV_2D and DEPTHWISE_CONV_2D a DLCODER_CONV_DW node was made of."""
    x, pw_w, pw_b, dw_w, dw_b = node.inputs
    mid = node.attrs["mid"]
    pw = Node(op="CONV_2D", inputs=(x, pw_w, pw_b), outputs=(mid,), attrs=node.attrs["pw"])
    dw = Node(op="DEPTHWISE_CONV_2D", inputs=(mid, dw_w, dw_b), outputs=node.outputs, attrs=node.attrs["dw"])
    return pw, dw


def _pw_dw_scratch(node, g) -> int:
    """The ring of k_h rows of the intermediate tensor."""
    _, _, w, c = shape(g, node.attrs["mid"])
    return shape(g, node.inputs[3])[1] * w * c * 4


@register("DLCODER_CONV_DW", header="conv.h", scratch=_pw_dw_scratch)
def conv_pw_dw(node, g, e):
    """A 1x1 CONV_2D feeding a DEPTHWISE_CONV_2D (from passes/fuse_pw_dw.py)."""
    pw, dw = split_pw_dw(node)
    bias = padded_bias(pw, g, e, 2, shape(g, pw.inputs[1])[0])
    dw_bias = e.src(dw.inputs[2]) if dw.inputs[2] >= 0 else "nullptr"
    return (f"dlcoder_rt::conv_pw_dw_f32({conv_params(pw, g, e)}, {depthwise_params(dw, g, e)}, "
            f"{e.src(pw.inputs[0])}, {gemm_filter(pw, g, e)}, {bias}, {e.src(dw.inputs[1])}, "
            f"{dw_bias}, {e.dst(node.outputs[0])}, {e.scratch('float')});")
