"""Small helpers for passes."""
from __future__ import annotations

from dlcoder.ir import Graph


def drop_nodes(g: Graph, indices) -> Graph:
    drop = set(indices)
    return g.replace(nodes=tuple(n for i, n in enumerate(g.nodes) if i not in drop))


def private_producer(g: Graph, t: int, producers: dict, consumers: dict):
    """The index of the node that writes t, if t is an intermediate that exactly one node
    reads (so a fusion may make it disappear); otherwise None."""
    if t in g.outputs or len(consumers.get(t, ())) != 1:
        return None
    return producers.get(t)


def absorb_activations(g: Graph, activations: dict, producers_ok: set, attr: str, is_free) -> Graph:
    """Move every float activation node (op in `activations`) whose input is a private
    intermediate (see private_producer) of a single-output producer with an op in
    `producers_ok` and `is_free(producer.attrs)` into that producer: attrs[attr] becomes
    activations[op], and the producer writes the activation's output."""
    while True:
        producers, consumers = g.producers(), g.consumers()
        for i, act in enumerate(g.nodes):
            if act.op not in activations or g.tensors[act.inputs[0]].dtype != "float32":
                continue
            p = private_producer(g, act.inputs[0], producers, consumers)
            if p is None:
                continue
            prod = g.nodes[p]
            if prod.op not in producers_ok or len(prod.outputs) != 1 or not is_free(prod.attrs):
                continue
            nodes = list(g.nodes)
            nodes[p] = prod.replace(attrs=dict(prod.attrs, **{attr: activations[act.op]}),
                                    outputs=act.outputs)
            g = drop_nodes(g.replace(nodes=tuple(nodes)), [i])
            break
        else:
            return g

