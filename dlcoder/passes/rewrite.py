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

