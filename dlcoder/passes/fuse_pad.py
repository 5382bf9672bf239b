"""Fold a PAD / PADV2 that only feeds a convolution or max pool into its padding.

Exact only where the padded values are what the consumer's own padding would contribute
(its Fusion.pad_value): zeros for CONV_2D and DEPTHWISE_CONV_2D (a padded zero adds nothing
to a sum), -inf (or the lowest float) for MAX_POOL_2D. AVERAGE_POOL_2D never qualifies:
TFLite's implicit padding is left out of the average, an explicit zero is counted. What a
padding op pads with is its Fusion.padding. The spatial pads become the consumer's
`explicit_padding` (top, bottom, left, right), added to its own.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.ops import fusion
from dlcoder.passes.rewrite import float32, fuse_into, private_producer, rewrite_until_fixed


def _exact(value: float, want: float) -> bool:
    return value == want or (want == -np.inf and value <= np.finfo(np.float32).min)


def fuse_pad(g: Graph) -> Graph:
    def fuse(g, c, node, producers, consumers):
        want = fusion(node.op).pad_value
        if want is None or not float32(g, node.inputs[0]):
            return None
        p = private_producer(g, node.inputs[0], producers, consumers)
        padding = p is not None and fusion(g.nodes[p].op).padding
        found = padding and padding(g.nodes[p], g)
        if not found or len(g.tensors[node.inputs[0]].shape) != 4:
            return None
        pads, value = np.asarray(found[0]).reshape(4, 2), found[1]
        if not _exact(value, want) or pads[0].any() or pads[3].any() or (pads < 0).any():
            return None
        old = node.attrs.get("explicit_padding", (0, 0, 0, 0))
        new = (old[0] + int(pads[1, 0]), old[1] + int(pads[1, 1]),
               old[2] + int(pads[2, 0]), old[3] + int(pads[2, 1]))
        pad = g.nodes[p]
        attrs = dict(node.attrs, explicit_padding=new)
        return fuse_into(g, c, node.replace(inputs=(pad.inputs[0],) + node.inputs[1:], attrs=attrs), p)
    return rewrite_until_fixed(g, fuse)
