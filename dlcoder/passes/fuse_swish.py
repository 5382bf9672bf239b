"""Fuse MUL(x, LOGISTIC(x)) into one DLCODER_SWISH op.

EfficientNet-style networks spell swish as a LOGISTIC followed by a MUL with the same
input; as two ops they read and write the activation twice. The fusion needs the
LOGISTIC's output to be read by that MUL alone, not to be a graph output, and the MUL to
have no broadcast and no fused activation.
"""
from __future__ import annotations

from dlcoder.ir import Graph, Node
from dlcoder.passes.rewrite import drop_nodes, private_producer


def fuse_swish(g: Graph) -> Graph:
    while True:
        producers, consumers = g.producers(), g.consumers()
        for m, mul in enumerate(g.nodes):
            if mul.op != "MUL" or mul.attrs.get("fused_activation_function", "NONE") != "NONE":
                continue
            for s, x in (mul.inputs, mul.inputs[::-1]):
                p = private_producer(g, s, producers, consumers)
                if p is None or g.nodes[p].op != "LOGISTIC" or g.nodes[p].inputs[0] != x:
                    continue
                if g.tensors[x].shape != g.tensors[mul.outputs[0]].shape or g.tensors[x].dtype != "float32":
                    continue
                nodes = list(g.nodes)
                nodes[m] = Node(op="DLCODER_SWISH", inputs=(x,), outputs=mul.outputs, index=mul.index)
                g = drop_nodes(g.replace(nodes=tuple(nodes)), [p])
                break
            else:
                continue
            break
        else:
            return g
