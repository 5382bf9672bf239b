"""Move a HARD_SWISH or swish that follows a convolution or FULLY_CONNECTED into that op's
epilogue (attrs["epilogue"]), so the activation is applied while the tile is still in
registers instead of in another pass over memory.

Same conditions as fuse_activation: the producer's output is read by the activation alone
and is not a graph output. Runs after fuse_swish, which makes the swish ops.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops._common import EPILOGUES
from dlcoder.passes.rewrite import drop_nodes, private_producer

PRODUCERS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def fuse_epilogue(g: Graph) -> Graph:
    while True:
        producers, consumers = g.producers(), g.consumers()
        for i, act in enumerate(g.nodes):
            if act.op not in EPILOGUES or g.tensors[act.inputs[0]].dtype != "float32":
                continue
            p = private_producer(g, act.inputs[0], producers, consumers)
            if p is None:
                continue
            prod = g.nodes[p]
            if prod.op not in PRODUCERS or "epilogue" in prod.attrs:
                continue
            nodes = list(g.nodes)
            nodes[p] = prod.replace(attrs=dict(prod.attrs, epilogue=act.op), outputs=act.outputs)
            g = drop_nodes(g.replace(nodes=tuple(nodes)), [i])
            break
        else:
            return g
