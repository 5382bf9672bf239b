"""Fuse MUL(x, LOGISTIC(x)) into one DLCODER_SWISH op.

EfficientNet-style networks spell swish as a LOGISTIC followed by a MUL with the same
input; as two ops they read and write the activation twice. The fusion needs the
LOGISTIC's output to be read by that MUL alone, not to be a graph output, and the MUL to
have no broadcast and no fused activation.
"""
from __future__ import annotations

from dlcoder.ir import Graph, Node
from dlcoder.ops import Op
from dlcoder.passes.rewrite import (float32, fuse_into, fused_attrs, plain, private_producer,
                                   rewrite_until_fixed)


def fuse_swish(g: Graph) -> Graph:
    def fuse(g, m, mul, producers, consumers):
        if mul.op != Op.MUL or not plain(mul):
            return None
        for s, x in (mul.inputs, mul.inputs[::-1]):
            p = private_producer(g, s, producers, consumers)
            if p is None or g.nodes[p].op != Op.LOGISTIC or g.nodes[p].inputs[0] != x:
                continue
            if g.tensors[x].shape != g.tensors[mul.outputs[0]].shape or not float32(g, x):
                continue
            swish = Node(op=Op.DLCODER_SWISH, inputs=(x,), outputs=mul.outputs,
                         attrs=fused_attrs({}, g.nodes[p], mul), index=mul.index)
            return fuse_into(g, m, swish, p)
        return None
    return rewrite_until_fixed(g, fuse)
