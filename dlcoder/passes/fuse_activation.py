"""Fuse a standalone RELU / RELU6 / RELU_N1_TO_1 into the op that produces its input.

Only when that op supports a fused activation, has none yet, and its output is read by
the activation alone (and is not a graph output): then the clamp moves into the
producer's epilogue and the intermediate tensor disappears.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.passes.rewrite import drop_nodes, private_producer

ACTIVATIONS = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1"}
FUSIBLE = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "ADD", "SUB",
           "MUL", "DIV", "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION"}


def fuse_activation(g: Graph) -> Graph:
    while True:
        producers, consumers = g.producers(), g.consumers()
        for i, act in enumerate(g.nodes):
            if act.op not in ACTIVATIONS or g.tensors[act.inputs[0]].dtype != "float32":
                continue
            p = private_producer(g, act.inputs[0], producers, consumers)
            if p is None:
                continue
            prod = g.nodes[p]
            if prod.op not in FUSIBLE or len(prod.outputs) != 1:
                continue
            if prod.attrs.get("fused_activation_function", "NONE") != "NONE":
                continue
            attrs = dict(prod.attrs, fused_activation_function=ACTIVATIONS[act.op])
            nodes = list(g.nodes)
            nodes[p] = prod.replace(attrs=attrs, outputs=(act.outputs[0],))
            g = drop_nodes(g.replace(nodes=tuple(nodes)), [i])
            break
        else:
            return g
