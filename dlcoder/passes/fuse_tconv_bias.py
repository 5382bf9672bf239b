"""Fuse an ADD of a constant per-channel bias (and the ADD's activation) into the float
TRANSPOSE_CONV that computes its other operand.

Models converted from a TRANSPOSE_CONV without a bias input (version < 3, or a converter
that did not fold the bias) add the bias in a separate ADD, often with a RELU after it
(which fuse_activation, earlier in the pipeline, has already put into the ADD). Fused, the
bias goes into the kernel's accumulators and the clamp into its epilogue: the output is
written once instead of three times.

Conditions: float32 throughout; the TRANSPOSE_CONV has no activation and no epilogue yet,
its bias (if any) is a constant, its output is read by the ADD alone and is not a graph
output; the ADD's other operand is a constant of one value per output channel (shape [C]
or [1, ..., 1, C]) or a single value, and the ADD's output has the TRANSPOSE_CONV's shape.
The new bias is old bias + constant: TFLite adds the two in turn, so the sums may differ
in the last bit, as any reordering of float additions.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph, Tensor
from dlcoder.ops import Op
from dlcoder.passes.rewrite import (float32, float_node, fuse_into, fused_attrs, plain, private_producer,
                                   rewrite_until_fixed)

BIAS = 3   # TRANSPOSE_CONV's bias input


def _per_channel(g: Graph, t: int, channels: int):
    """The constant t as `channels` values, if it is one value per channel or one value."""
    value = g.const(t)
    if value is None or any(d != 1 for d in value.shape[:-1]) or value.size not in (1, channels):
        return None
    return np.broadcast_to(np.asarray(value, np.float32).ravel(), (channels,))


def _free(g: Graph, node) -> bool:
    """A float TRANSPOSE_CONV whose bias and activation the ADD may still set."""
    if node.op != Op.TRANSPOSE_CONV or not float_node(g, node) or not plain(node) or "epilogue" in node.attrs:
        return False
    return len(node.inputs) <= BIAS or node.inputs[BIAS] < 0 or g.const(node.inputs[BIAS]) is not None


def fuse_tconv_bias(g: Graph) -> Graph:
    def fuse(g, i, add, producers, consumers):
        if add.op != Op.ADD or len(add.inputs) != 2 or not float32(g, *add.inputs, *add.outputs):
            return None
        for side in (0, 1):
            p = private_producer(g, add.inputs[side], producers, consumers)
            if p is None or not _free(g, g.nodes[p]):
                continue
            tconv, out = g.nodes[p], g.tensors[add.inputs[side]]
            channels = out.shape[-1]
            extra = _per_channel(g, add.inputs[1 - side], channels)
            if extra is None or tuple(g.tensors[add.outputs[0]].shape) != tuple(out.shape):
                continue
            old = g.const(tconv.inputs[BIAS]) if len(tconv.inputs) > BIAS and tconv.inputs[BIAS] >= 0 else 0.0
            bias = (np.asarray(old, np.float32) + extra).astype(np.float32)
            g, b = g.add_tensor(Tensor(f"{out.name}/fused_bias", (channels,), "float32", data=bias))
            attrs = fused_attrs(dict(tconv.attrs, fused_activation_function=add.attrs.get(
                "fused_activation_function", "NONE")), tconv, add)
            fused = tconv.replace(inputs=tuple(tconv.inputs[:BIAS]) + (b,), outputs=add.outputs, attrs=attrs)
            return fuse_into(g, p, fused, i)
        return None
    return rewrite_until_fixed(g, fuse)
