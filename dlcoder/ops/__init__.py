"""The op table: one entry per TFLite builtin op.

An entry knows the op's kernel header, how to emit the kernel call, which dtypes it
takes, and optionally how to evaluate it in numpy (constant folding) and how much scratch
memory its kernel needs. Each family module registers its ops with `@register`; every
module in this package is imported here, so adding an op is one edit in one file.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Optional

from dlcoder.ir import Graph, Node


@dataclass(frozen=True)
class OpDef:
    name: str
    emit: Callable            # (node, graph, ctx) -> C++ statement(s)
    header: str               # runtime header holding the kernel
    dtypes: frozenset         # dtypes its tensors may have
    check: Optional[Callable] = None      # (node, graph) -> error text or None
    evaluate: Optional[Callable] = None   # (node, graph, [np.ndarray]) -> [np.ndarray]
    scratch: Optional[Callable] = None    # (node, graph) -> bytes
    # with threads, every task needs scratch of its own: (node, graph) -> bytes per task
    task_scratch: Optional[Callable] = None
    # an output may share storage with an input of its shape: every output element is
    # written after the input elements at its position are read
    in_place: bool = False
    # (node, graph) -> one shape tuple per output: what TFLite's Prepare computes from the
    # inputs' shapes, constant inputs and attributes. Raises InvalidModelError (or
    # UnsupportedError) for a node whose inputs or attributes are inconsistent. Run by the
    # validation pass on every node of the model, before anything else (_shapes.py).
    shape: Optional[Callable] = None


TABLE: dict = {}

FLOAT = frozenset({"float32"})
INDEX = frozenset({"int32", "int64"})
NUMERIC = frozenset({"float32", "int32", "int64"})
ANY = frozenset({"float32", "int32", "int64", "bool", "int8", "uint8", "int16"})


def register(*names, header: str, dtypes=FLOAT, check=None, evaluate=None, scratch=None,
             task_scratch=None, in_place=False, shape=None):
    def deco(emit):
        for name in names:
            if name in TABLE:
                raise RuntimeError(f"op {name} registered twice")
            TABLE[name] = OpDef(name, emit, header, frozenset(dtypes), check, evaluate, scratch,
                               task_scratch, in_place, shape)
        return emit
    return deco


def problem(node: Node, g: Graph) -> Optional[str]:
    """Why this node cannot be compiled, or None if it can."""
    d = TABLE.get(node.op)
    if d is None:
        return "unsupported op"
    for t in node.inputs + node.outputs:
        if t >= 0 and g.tensors[t].dtype not in d.dtypes:
            return f"{g.tensors[t].dtype} tensors are not supported by {node.op}"
    if d.check is not None:
        return d.check(node, g)
    return None


def scratch_bytes(g: Graph) -> dict:
    """Node index -> scratch bytes that the node's op asks for (ops with a scratch hook)."""
    return {i: int(TABLE[n.op].scratch(n, g)) for i, n in enumerate(g.nodes)
            if TABLE[n.op].scratch is not None}


def task_scratch_bytes(g: Graph) -> dict:
    """Node index -> scratch bytes that each further task of the node needs, with threads
    (nodes whose kernel splits into tasks that each need scratch of their own)."""
    sizes = {i: int(TABLE[n.op].task_scratch(n, g)) for i, n in enumerate(g.nodes)
             if TABLE[n.op].task_scratch is not None}
    return {i: b for i, b in sizes.items() if b > 0}


def _load_families():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_families()
