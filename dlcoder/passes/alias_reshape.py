"""Turn RESHAPE / SQUEEZE / EXPAND_DIMS into aliases: the output shares its input's bytes.

Row-major layout makes these ops pure relabelings (their Fusion.view). The node disappears
and `Graph.aliases` records output -> input. An alias group has one storage, so a node
stays (as a copy) when its output is a graph output and its input already lives outside
the arena: a graph input, a constant, or another graph output.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops import fusion
from dlcoder.passes.rewrite import drop_nodes


def alias_reshape(g: Graph) -> Graph:
    aliases = dict(g.aliases)
    outputs = set(g.outputs)
    dropped = []
    for i, node in enumerate(g.nodes):
        if not fusion(node.op).view:
            continue
        src, dst = node.inputs[0], node.outputs[0]
        view = g.replace(aliases=aliases)
        root = view.storage_root(src)
        root_external = (g.tensors[root].is_const or root in g.inputs or
                         any(view.storage_root(o) == root for o in outputs))
        if dst in outputs and root_external:
            continue
        aliases[dst] = src
        dropped.append(i)
    return drop_nodes(g.replace(aliases=aliases), dropped)
