"""The intermediate representation: one Graph of Tensors and Nodes.

A Node names its op by TFLite's builtin name ("CONV_2D"), so the op table, the passes and
the kernels all speak the same vocabulary. Tensors are referred to by their index in
`Graph.tensors`; -1 stands for an absent optional input, as in TFLite.

Graphs are treated as values: passes build new graphs with `Graph.replace` and new tensors
with `Graph.add_tensor`, they never mutate the graph they were given.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

# Node attributes that name a subgraph the node runs (control flow), as TFLite numbers
# them: 0 is the main graph, k is `Graph.subgraphs[k - 1]`.
SUBGRAPH_ATTRS = ("cond_subgraph_index", "body_subgraph_index",
                  "then_subgraph_index", "else_subgraph_index", "init_subgraph_index")

# Ops whose work is a change of state, not an output: no pass may drop them for having
# no reader (ASSIGN_VARIABLE writes a resource variable, CALL_ONCE runs an init subgraph).
EFFECT_OPS = frozenset({"ASSIGN_VARIABLE", "CALL_ONCE"})

# C type of each tensor dtype that generated code can hold.
CTYPES = {
    "float32": "float",
    "float16": "uint16_t",
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "bool": "bool",
    "complex64": "dlcoder_rt::Complex64",
}


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor (one scale) or per
    channel along `axis`. Scales are the model's float32 values (held as Python floats,
    exactly), zero points ints: a Quant is a hashable value that compares by content."""
    scale: tuple
    zero_point: tuple
    axis: int = 0

    def __post_init__(self):
        object.__setattr__(self, "scale", tuple(float(np.float32(s)) for s in np.ravel(self.scale)))
        object.__setattr__(self, "zero_point", tuple(int(z) for z in np.ravel(self.zero_point)))

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    def scales(self) -> np.ndarray:
        """The scales as a float32 array."""
        return np.asarray(self.scale, np.float32)

    def zero_points(self) -> np.ndarray:
        """The zero points as an int64 array."""
        return np.asarray(self.zero_point, np.int64)


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple
    dtype: str
    data: Optional[np.ndarray] = None      # constant value, shaped and typed; None if computed
    quant: Optional[Quant] = None
    signature: Optional[tuple] = None      # TFLite shape_signature (-1 = dynamic)
    sparsity: Optional[dict] = None        # TFLite sparsity parameters of a sparse constant

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    def replace(self, **kw) -> "Tensor":
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class Node:
    op: str
    inputs: tuple
    outputs: tuple
    attrs: dict = field(default_factory=dict)
    index: int = -1          # position in the model's operator list, for messages

    def replace(self, **kw) -> "Node":
        return dataclasses.replace(self, **kw)


# A node that a pass made from several of the model's ops (DLCODER_CONV_DW, CONV_2D with
# its RELU) keeps their builtin names, in model order, in attrs["fused_ops"]. Whatever
# the user reads (messages, bench --per-op) names ops by these two functions, so that the
# ops dlcoder made up never pass for the model's own.
def op_label(node: Node) -> str:
    """The model's op name(s) of a node: its fused_ops joined with "+", else its op."""
    fused = node.attrs.get("fused_ops")
    return "+".join(fused) if fused else node.op


def op_note(node: Node) -> str:
    """What dlcoder made of the ops op_label names, to show beside it: "" for a model op
    that stayed as it was."""
    fused = tuple(node.attrs.get("fused_ops") or ())
    return "" if fused in ((), (node.op,)) else f"fused by dlcoder into one kernel, {node.op}"


@dataclass(frozen=True)
class Signature:
    """A SignatureDef of the model: an entry point named `key` that runs model subgraph
    `subgraph` (0 is the main graph), with its inputs and outputs as (key, position in
    the subgraph's inputs or outputs), in the signature's order."""
    key: str
    subgraph: int
    inputs: tuple
    outputs: tuple


@dataclass(frozen=True)
class Graph:
    tensors: tuple
    nodes: tuple
    inputs: tuple
    outputs: tuple
    aliases: dict = field(default_factory=dict)   # tensor -> tensor whose storage it shares
    subgraphs: tuple = ()                          # the model's other subgraphs (see `subgraph`)
    # The model's resource variables, shared by all its subgraphs: a Tensor each (name,
    # shape, dtype of its value; shape and dtype known once validated). READ_VARIABLE and
    # ASSIGN_VARIABLE name theirs by its index in attrs["variable"].
    variables: tuple = ()
    signatures: tuple = ()                         # the model's Signatures (main graph only)

    def replace(self, **kw) -> "Graph":
        return dataclasses.replace(self, **kw)

    def add_tensor(self, t: Tensor) -> tuple["Graph", int]:
        return self.replace(tensors=self.tensors + (t,)), len(self.tensors)

    def set_tensor(self, i: int, t: Tensor) -> "Graph":
        ts = list(self.tensors)
        ts[i] = t
        return self.replace(tensors=tuple(ts))

    def consumers(self) -> dict:
        """tensor index -> list of node indices that read it."""
        out: dict = {}
        for n, node in enumerate(self.nodes):
            for t in node.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(n)
        return out

    def producers(self) -> dict:
        """tensor index -> node index that writes it."""
        return {t: n for n, node in enumerate(self.nodes) for t in node.outputs}

    def storage_root(self, t: int) -> int:
        while t in self.aliases:
            t = self.aliases[t]
        return t

    def const(self, t: int) -> Any:
        """The constant value of input tensor `t`, or None."""
        return None if t < 0 else self.tensors[t].data

    def subgraph(self, index: int) -> "Graph":
        """Model subgraph `index` (numbered as in SUBGRAPH_ATTRS), carrying this graph's list
        of subgraphs, so that control flow inside it finds the subgraphs it runs."""
        if not 1 <= index <= len(self.subgraphs):
            raise IndexError(f"subgraph {index} does not exist")
        return self.subgraphs[index - 1].replace(subgraphs=self.subgraphs, variables=self.variables)

    def signature_subgraphs(self) -> list:
        """The model subgraphs other than the main graph that a signature runs, each once,
        in order: the entry points besides subgraph 0."""
        return sorted({sig.subgraph for sig in self.signatures} - {0})

    def called(self) -> list:
        """Indices of the subgraphs that this graph's nodes run directly, in node order."""
        return [n.attrs[a] for n in self.nodes for a in SUBGRAPH_ATTRS if a in n.attrs]

    def reachable(self) -> list:
        """(index, graph) of this graph (index 0) and of every subgraph it runs, directly or
        through other subgraphs, each once; indices that do not exist are left out."""
        found = {0: self}
        todo = [self]
        while todo:
            for k in todo.pop().called():
                if k not in found and 1 <= k <= len(self.subgraphs):
                    found[k] = self.subgraph(k)
                    todo.append(found[k])
        return sorted(found.items(), key=lambda kv: kv[0])
