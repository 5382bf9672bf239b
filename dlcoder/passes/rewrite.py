"""Small helpers for passes: replace uses of a tensor, drop nodes."""
from __future__ import annotations

from dlcoder.ir import Graph


def rename_uses(g: Graph, old: int, new: int) -> Graph:
    """Make every reader of `old` (nodes and graph outputs) read `new` instead."""
    nodes = tuple(n.replace(inputs=tuple(new if t == old else t for t in n.inputs))
                  if old in n.inputs else n for n in g.nodes)
    outputs = tuple(new if t == old else t for t in g.outputs)
    return g.replace(nodes=nodes, outputs=outputs)


def drop_nodes(g: Graph, indices) -> Graph:
    drop = set(indices)
    return g.replace(nodes=tuple(n for i, n in enumerate(g.nodes) if i not in drop))
