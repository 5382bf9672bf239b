"""DLCODER_ADD_CHANNEL_PAD: an ADD whose operand was a PAD of zeros along the channels
(passes/fold_channel_pad.py). Inputs (a, x): a has the output's shape, x its channels
[pad_before, pad_before + C); the result is the ADD's, clamped by its activation."""
from __future__ import annotations

from dlcoder.ops import register
from dlcoder.ops._common import clamp_init, shape


@register("DLCODER_ADD_CHANNEL_PAD", header="channel_pad.h", in_place=True)
def add_channel_pad(node, g, e):
    a, x = node.inputs
    out = node.outputs[0]
    c, cx = shape(g, out)[-1], shape(g, x)[-1]
    if not g.tensors[out].size:
        return []
    return (f"dlcoder_rt::add_channel_pad_f32(par, {g.tensors[out].size // c}, {c}, {cx}, "
            f"{node.attrs['pad_before']}, {e.src(a)}, {e.src(x)}, {e.dst(out)}, {clamp_init(node)});")
