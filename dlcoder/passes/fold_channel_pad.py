"""Fold a PAD of zeros along the channels into the ADD that reads it.

A stride-2 BlazeBlock (BlazeFace, BlazePose) widens its shortcut to the block's channels as
MAX_POOL -> PAD (zeros after the last axis) -> ADD: the PAD writes a tensor twice the pool's
size only for the ADD to read it back. Folded, one kernel (DLCODER_ADD_CHANNEL_PAD, ops/
channel_pad.py) computes out[..., lo:lo+C] = act(a + x) and act(a + 0) on the other
channels, reading the unpadded x; the PAD is gone once no other node reads it.

Exact: the padded channels are +0.0, and a + 0.0 is what TFLite's ADD computes there (it
turns -0 into +0, keeps NaN); float addition commutes, so the PAD may be either operand.
Conditions: float32 (the quantized ADD rescales both operands: not folded); a PAD / PADV2
of constant paddings, zero on every axis but the last, and of the value +0.0; its result
read only by ADDs and not a graph output; no broadcast (the other operand, the PAD's result
and the ADD's result have one shape).
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph, Node
from dlcoder.ops import Op, fusion
from dlcoder.passes.rewrite import drop_nodes, float32, float_node, fused_attrs, rewrite_until_fixed


def _channel_pads(g: Graph, pad: Node):
    """(before, after) of a PAD that pads only the last axis, with +0.0; else None."""
    hook = fusion(pad.op).padding
    found = hook and hook(pad, g)
    rank = len(g.tensors[pad.inputs[0]].shape)
    if not found or rank == 0:
        return None
    pads, value = np.asarray(found[0]).reshape(rank, 2), found[1]
    if value != 0.0 or np.signbit(value) or pads[:-1].any() or (pads < 0).any() or not pads[-1].any():
        return None
    return int(pads[-1, 0]), int(pads[-1, 1])


def fold_channel_pad(g: Graph) -> Graph:
    def fold(g, i, add, producers, consumers):
        if add.op != Op.ADD or len(add.inputs) != 2 or add.inputs[0] == add.inputs[1] \
                or not float32(g, *add.inputs, *add.outputs) or not float_node(g, add):
            return None
        for side in (0, 1):
            t, other = add.inputs[side], add.inputs[1 - side]
            p = producers.get(t)
            readers = consumers.get(t, ())
            if p is None or t in g.outputs or any(g.nodes[r].op != Op.ADD for r in readers):
                continue
            pad = g.nodes[p]
            pads = _channel_pads(g, pad)
            if pads is None or not float32(g, pad.inputs[0]) or not float_node(g, pad):
                continue
            if len({tuple(g.tensors[x].shape) for x in (t, other, add.outputs[0])}) != 1:
                continue
            attrs = fused_attrs({"fused_activation_function": add.attrs.get("fused_activation_function", "NONE"),
                                 "pad_before": pads[0]}, pad, add)
            node = Node(op=Op.DLCODER_ADD_CHANNEL_PAD, inputs=(other, pad.inputs[0]), outputs=add.outputs,
                        attrs=attrs, index=add.index)
            nodes = list(g.nodes)
            nodes[i] = node
            g = g.replace(nodes=tuple(nodes))
            return drop_nodes(g, [p]) if len(readers) == 1 else g
        return None
    return rewrite_until_fixed(g, fold)
