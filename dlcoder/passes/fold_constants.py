"""Evaluate, at generation time, every node whose op can be evaluated on what is known.

An op's `evaluate` hook gets the input values (None for computed inputs) and returns the
output values, or None when it cannot fold (most ops need every input constant; SHAPE
needs none, since shapes are static). Folded nodes become constants; dead_code then drops
constants nobody reads.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.ops import lookup
from dlcoder.passes.rewrite import drop_nodes

# Do not fold a node whose outputs would add more than this many bytes of weights beyond
# the constants it reads (e.g. a TILE or FILL of a scalar into a large activation).
MAX_GROWTH = 1 << 20


def fold_constants(g: Graph) -> Graph:
    folded = []
    for i, node in enumerate(g.nodes):
        opdef = lookup(node, g)
        if opdef is None or opdef.evaluate is None:
            continue
        values = [g.const(t) for t in node.inputs]
        results = opdef.evaluate(node, g, values)
        if results is None:
            continue
        in_bytes = sum(v.nbytes for v in values if v is not None)
        out_bytes = sum(np.asarray(r).nbytes for r in results)
        if out_bytes > in_bytes + MAX_GROWTH:
            continue
        for t, value in zip(node.outputs, results):
            out = g.tensors[t]
            g = g.set_tensor(t, out.replace(data=np.asarray(value, dtype=out.dtype).reshape(out.shape)))
        folded.append(i)
    return drop_nodes(g, folded)
