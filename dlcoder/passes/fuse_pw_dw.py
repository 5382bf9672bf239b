"""Fuse a 1x1 CONV_2D into the DEPTHWISE_CONV_2D that reads its output (DLCODER_CONV_DW).

In inverted-residual networks the 1x1 "expand" convolution writes the largest tensor of
the block, and the depthwise convolution reads it once. Fused, the kernel computes the
expanded rows into a ring of k_h rows as the depthwise rows need them, so the tensor
never reaches memory or the arena.

Conditions: the 1x1 conv has stride 1, no padding (none folded in), one group, a constant
filter and bias; the depthwise conv has depth multiplier 1, dilation 1, a constant filter
and a kernel of at most 7 rows; the intermediate is read by the depthwise conv alone and
is not a graph output; both are float32.
"""
from __future__ import annotations

from dlcoder.ir import Graph, Node
from dlcoder.passes.rewrite import drop_nodes


def _pointwise(node, g) -> bool:
    if node.op != "CONV_2D" or len(node.inputs) < 3 or node.inputs[2] < 0:
        return False
    w = g.tensors[node.inputs[1]]
    x = g.tensors[node.inputs[0]]
    return (w.is_const and g.tensors[node.inputs[2]].is_const and w.shape[1:3] == (1, 1)
            and w.shape[3] == x.shape[3] and node.attrs.get("stride_h") == 1
            and node.attrs.get("stride_w") == 1 and "explicit_padding" not in node.attrs
            and x.dtype == "float32" and x.shape[1:3] == g.tensors[node.outputs[0]].shape[1:3])


def _depthwise(node, g) -> bool:
    if node.op != "DEPTHWISE_CONV_2D" or len(node.inputs) < 3:
        return False
    x, w = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]]
    return (w.is_const and w.shape[3] == x.shape[3] and w.shape[1] <= 7
            and node.attrs.get("dilation_h_factor", 1) == 1 and x.dtype == "float32")


def fuse_pw_dw(g: Graph) -> Graph:
    producers, consumers = g.producers(), g.consumers()
    nodes = list(g.nodes)
    dropped = []
    for d, dw in enumerate(g.nodes):
        if not _depthwise(dw, g):
            continue
        mid = dw.inputs[0]
        p = producers.get(mid)
        if p is None or mid in g.outputs or len(consumers.get(mid, ())) != 1 or not _pointwise(g.nodes[p], g):
            continue
        pw = g.nodes[p]
        nodes[d] = Node(op="DLCODER_CONV_DW", inputs=pw.inputs[:3] + dw.inputs[1:3], outputs=dw.outputs,
                        attrs={"pw": pw.attrs, "dw": dw.attrs, "mid": mid}, index=dw.index)
        dropped.append(p)
    return drop_nodes(g.replace(nodes=tuple(nodes)), dropped)
