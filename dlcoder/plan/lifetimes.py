"""Lifetimes of the buffers that live in the arena.

One pass over the execution order. A buffer is either the storage of an intermediate
tensor (an alias group: a tensor plus the RESHAPE-style views that share its bytes) or one
op's scratch space. Graph inputs, graph outputs and constants live elsewhere (the caller's
buffers and the read-only weight blob), so they are not planned.

A buffer is live from the step that first writes it to the last step that reads any tensor
of its group; both ends are inclusive, so an op's inputs and outputs never share bytes.
A graph output that is planned anyway (a loop body's result that is copied back after the
body, see ops/control_flow.py) lives to the last step.
"""
from __future__ import annotations

from dataclasses import dataclass

from dlcoder.ir import Graph


@dataclass(frozen=True)
class Buffer:
    key: tuple          # ("tensor", root index) or ("scratch", node index)
    size: int           # bytes
    first: int          # first step (node index) that uses it
    last: int           # last step that uses it


def external_roots(g: Graph) -> set:
    """Storage roots that are not in the arena: graph inputs and outputs, constants."""
    roots = {g.storage_root(t) for t in g.inputs + g.outputs}
    roots |= {i for i, t in enumerate(g.tensors) if t.is_const}
    return roots


def arena_buffers(g: Graph, scratch: dict, keep_all: bool = False, fixed=None) -> list:
    """The buffers to place. `scratch` maps node index -> scratch bytes.

    keep_all (debug builds) extends every buffer to the end of the run, so no tensor's
    bytes are reused and all of them can be read back after Run().
    fixed: the storage roots that live elsewhere, instead of the graph's inputs and
    outputs (constants never are in the arena).
    """
    if fixed is None:
        external = external_roots(g)
    else:
        external = set(fixed) | {i for i, t in enumerate(g.tensors) if t.is_const}
    first, last, size = {}, {}, {}
    for step, node in enumerate(g.nodes):
        for t in node.outputs:
            root = g.storage_root(t)
            if root in external:
                continue
            first.setdefault(root, step)
            last[root] = max(last.get(root, step), step)
            size[root] = max(size.get(root, 0), g.tensors[root].nbytes)
        for t in node.inputs:
            if t < 0:
                continue
            root = g.storage_root(t)
            if root in external:
                continue
            if root not in first:
                raise ValueError(f"tensor {root} is read at step {step} before it is written")
            last[root] = max(last[root], step)
    end = len(g.nodes) - 1
    for t in g.outputs:
        root = g.storage_root(t)
        if root not in external:
            if root not in first:
                raise ValueError(f"output tensor {root} is never written")
            last[root] = end
    buffers = [Buffer(("tensor", r), size[r], first[r], end if keep_all else last[r])
               for r in sorted(first)]
    buffers += [Buffer(("scratch", n), b, n, n) for n, b in sorted(scratch.items()) if b > 0]
    return buffers
