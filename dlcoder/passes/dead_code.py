"""Remove nodes none of whose outputs is read by another node or is a graph output, but
for the ops that change state (ir.EFFECT_OPS).

Reading an alias (a RESHAPE view) reads the tensor it aliases."""
from __future__ import annotations

from dlcoder.ir import EFFECT_OPS, Graph
from dlcoder.passes.rewrite import drop_nodes


def dead_code(g: Graph) -> Graph:
    while True:
        needed = set(g.outputs)
        for n in g.nodes:
            needed.update(t for t in n.inputs if t >= 0)
        for t in list(needed):
            while t in g.aliases:
                t = g.aliases[t]
                needed.add(t)
        dead = [i for i, n in enumerate(g.nodes)
                if n.op not in EFFECT_OPS and not any(t in needed for t in n.outputs)]
        if not dead:
            return g
        g = drop_nodes(g, dead)
