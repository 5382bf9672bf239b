"""Fuse MUL(x, LOGISTIC(x)) into one DLCODER_SWISH op.

EfficientNet-style networks spell swish as a LOGISTIC followed by a MUL with the same
input; as two ops they read and write the activation twice. The fusion needs the
LOGISTIC's output to be read by that MUL alone, not to be a graph output, and the MUL to
have no broadcast and no fused activation.
"""
from __future__ import annotations

from dlcoder.ir import Graph, Node
from dlcoder.passes.rewrite import fuse_into, private_producer, rewrite_until_fixed


def fuse_swish(g: Graph) -> Graph:
    def fuse(g, m, mul, producers, consumers):
        if mul.op != "MUL" or mul.attrs.get("fused_activation_function", "NONE") != "NONE":
            return None
        for s, x in (mul.inputs, mul.inputs[::-1]):
            p = private_producer(g, s, producers, consumers)
            if p is None or g.nodes[p].op != "LOGISTIC" or g.nodes[p].inputs[0] != x:
                continue
            if g.tensors[x].shape != g.tensors[mul.outputs[0]].shape or g.tensors[x].dtype != "float32":
                continue
            return fuse_into(g, m, Node(op="DLCODER_SWISH", inputs=(x,), outputs=mul.outputs, index=mul.index), p)
        return None
    return rewrite_until_fixed(g, fuse)
