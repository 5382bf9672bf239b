"""Small helpers for passes."""
from __future__ import annotations

from dlcoder.ir import Graph


def drop_nodes(g: Graph, indices) -> Graph:
    drop = set(indices)
    return g.replace(nodes=tuple(n for i, n in enumerate(g.nodes) if i not in drop))
