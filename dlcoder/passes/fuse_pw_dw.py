"""Fuse a DEPTHWISE_CONV_2D with the CONV_2D that feeds it and/or the 1x1 CONV_2D it
feeds, into one DLCODER_CONV_DW.

In inverted-residual networks (1x1 expand -> depthwise -> 1x1 project) the tensors around
the depthwise conv are the largest of the block, each written once and read once. Fused,
the kernel computes the expanded rows into a ring of k_h rows as the depthwise rows need
them, and projects each depthwise row from a one-row buffer, so neither tensor reaches
memory or the arena (MobileNetV1's depthwise-separable pairs get the projection half).
The conv before may also be a KxK one (a stem: MobileNetV2's 3x3 stride-2 conv feeds its
first depthwise conv, 112x112x32 floats otherwise whole in the arena), whose rows the chain
computes with the conv's own implicit GEMM kernel (ops/fused.py: implicit_head).

Conditions: each 1x1 conv has stride 1, no padding (none folded in), one group, a constant
filter and bias; a KxK conv before has one group, a constant filter and bias, and runs alone
on the implicit GEMM kernel (not Winograd, not the narrow one); the depthwise conv has depth multiplier 1, dilation 1 when there is an
expand conv, a constant filter and at most 7 rows; each fused intermediate is read by the
next stage alone and is not a graph output; all float32. A fused PRELU slope that varies
by pixel stays out of the expand and depthwise stages (ops/_common.pixel_slope): their rows
do not know their pixel.
"""
from __future__ import annotations

from dlcoder.ir import Graph, Node
from dlcoder.ops import Op
from dlcoder.ops._common import pixel_slope
from dlcoder.ops.fused import implicit_head
from dlcoder.passes.rewrite import drop_nodes, float_node, fused_attrs, private_producer


def _pointwise(node, g) -> bool:
    if node.op != Op.CONV_2D or len(node.inputs) < 3 or node.inputs[2] < 0:
        return False
    w = g.tensors[node.inputs[1]]
    x = g.tensors[node.inputs[0]]
    return (w.is_const and g.tensors[node.inputs[2]].is_const and w.shape[1:3] == (1, 1)
            and w.shape[3] == x.shape[3] and node.attrs.get("stride_h") == 1
            and node.attrs.get("stride_w") == 1 and "explicit_padding" not in node.attrs
            and float_node(g, node) and x.shape[1:3] == g.tensors[node.outputs[0]].shape[1:3])


def _head(node, g) -> bool:
    """A KxK CONV_2D the chain can start from (ops/fused.py: implicit_head)."""
    if node.op != Op.CONV_2D or len(node.inputs) != 3 or node.inputs[2] < 0:
        return False
    return (g.tensors[node.inputs[1]].is_const and g.tensors[node.inputs[2]].is_const and float_node(g, node)
            and implicit_head(node, g))


def _depthwise(node, g) -> bool:
    if node.op != Op.DEPTHWISE_CONV_2D or len(node.inputs) < 3:
        return False
    x, w = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]]
    return (w.is_const and w.shape[3] == x.shape[3] and w.shape[1] <= 7 and float_node(g, node)
            and not pixel_slope(node, g))


def fuse_pw_dw(g: Graph) -> Graph:
    producers, consumers = g.producers(), g.consumers()
    nodes = list(g.nodes)
    dropped = set()

    for d, dw in enumerate(g.nodes):
        if not _depthwise(dw, g):
            continue
        mid, out = dw.inputs[0], dw.outputs[0]
        p = private_producer(g, mid, producers, consumers)
        expand = (p is not None and p not in dropped and (_pointwise(g.nodes[p], g) or _head(g.nodes[p], g))
                  and dw.attrs.get("dilation_h_factor", 1) == 1 and not pixel_slope(g.nodes[p], g))
        readers = consumers.get(out, ())
        q = readers[0] if out not in g.outputs and len(readers) == 1 else None
        project = q is not None and _pointwise(g.nodes[q], g) and g.nodes[q].inputs[0] == out
        if not (expand or project):
            continue
        attrs = {"dw": dw.attrs}
        inputs = [mid, -1, -1, dw.inputs[1], dw.inputs[2], -1, -1]
        if expand:
            pw = g.nodes[p]
            attrs.update(pw=pw.attrs, mid=mid)
            inputs[0:3] = pw.inputs[:3]
            dropped.add(p)
        outputs = dw.outputs
        if project:
            pj = g.nodes[q]
            attrs.update(pj=pj.attrs, mid2=out)
            inputs[5:7] = pj.inputs[1:3]
            outputs = pj.outputs
            dropped.add(q)
        stages = [g.nodes[s] for s in (p if expand else None, d, q if project else None) if s is not None]
        nodes[d] = Node(op=Op.DLCODER_CONV_DW, inputs=tuple(inputs), outputs=outputs,
                        attrs=fused_attrs(attrs, *stages), index=dw.index)
    return drop_nodes(g.replace(nodes=tuple(nodes)), sorted(dropped))
