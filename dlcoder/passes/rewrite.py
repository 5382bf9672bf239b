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


def rewrite_until_fixed(g: Graph, rewrite) -> Graph:
    """Apply `rewrite(g, i, node, producers, consumers)` (a new Graph, or None to leave
    node i alone) to the first node it changes, then start over on the new graph, until
    no node changes."""
    while True:
        producers, consumers = g.producers(), g.consumers()
        for i, node in enumerate(g.nodes):
            new = rewrite(g, i, node, producers, consumers)
            if new is not None:
                g = new
                break
        else:
            return g


def fuse_into(g: Graph, keep: int, node, drop: int) -> Graph:
    """Node `keep` replaced by `node`, and node `drop` removed."""
    nodes = list(g.nodes)
    nodes[keep] = node
    return drop_nodes(g.replace(nodes=tuple(nodes)), [drop])


def absorb_activations(g: Graph, activations: dict, producers_ok: set, attr: str, is_free) -> Graph:
    """Move every float activation node (op in `activations`) whose input is a private
    intermediate (see private_producer) of a single-output producer with an op in
    `producers_ok` and `is_free(producer.attrs)` into that producer: attrs[attr] becomes
    activations[op] (or, if that is a function, its value for the activation node), and the
    producer writes the activation's output."""
    def absorb(g, i, act, producers, consumers):
        if act.op not in activations or g.tensors[act.inputs[0]].dtype != "float32":
            return None
        p = private_producer(g, act.inputs[0], producers, consumers)
        if p is None:
            return None
        prod = g.nodes[p]
        if prod.op not in producers_ok or len(prod.outputs) != 1 or not is_free(prod.attrs):
            return None
        value = activations[act.op]
        value = value(act) if callable(value) else value
        fused = prod.replace(attrs=dict(prod.attrs, **{attr: value}), outputs=act.outputs)
        return fuse_into(g, p, fused, i)
    return rewrite_until_fixed(g, absorb)

