"""Fold a PAD / PADV2 that only feeds a convolution or max pool into its padding.

Exact only where the padded values are what the consumer's own padding would contribute:
zeros for CONV_2D and DEPTHWISE_CONV_2D (a padded zero adds nothing to a sum), -inf (or
the lowest float) for MAX_POOL_2D. AVERAGE_POOL_2D never qualifies: TFLite's implicit
padding is left out of the average, an explicit zero is counted. The spatial pads become
the consumer's `explicit_padding` (top, bottom, left, right), added to its own.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.passes.rewrite import fuse_into, private_producer, rewrite_until_fixed

CONSUMERS = {"CONV_2D": 0.0, "DEPTHWISE_CONV_2D": 0.0, "MAX_POOL_2D": -np.inf}


def _pad_value(g: Graph, node) -> float | None:
    if node.op == "PAD":
        return 0.0
    if len(node.inputs) < 3 or node.inputs[2] < 0:
        return 0.0
    v = g.const(node.inputs[2])
    return None if v is None else float(np.asarray(v).ravel()[0])


def fuse_pad(g: Graph) -> Graph:
    def fuse(g, c, node, producers, consumers):
        want = CONSUMERS.get(node.op)
        if want is None or g.tensors[node.inputs[0]].dtype != "float32":
            return None
        p = private_producer(g, node.inputs[0], producers, consumers)
        if p is None:
            return None
        pad = g.nodes[p]
        if pad.op not in ("PAD", "PADV2"):
            return None
        paddings = g.const(pad.inputs[1])
        value = _pad_value(g, pad)
        if paddings is None or value is None or len(g.tensors[node.inputs[0]].shape) != 4:
            return None
        pads = np.asarray(paddings).reshape(4, 2)
        exact = value == want or (want == -np.inf and value <= np.finfo(np.float32).min)
        if not exact or pads[0].any() or pads[3].any() or (pads < 0).any():
            return None
        old = node.attrs.get("explicit_padding", (0, 0, 0, 0))
        new = (old[0] + int(pads[1, 0]), old[1] + int(pads[1, 1]),
               old[2] + int(pads[2, 0]), old[3] + int(pads[2, 1]))
        return fuse_into(g, c, node.replace(inputs=(pad.inputs[0],) + node.inputs[1:],
                                            attrs=dict(node.attrs, explicit_padding=new)), p)
    return rewrite_until_fixed(g, fuse)
