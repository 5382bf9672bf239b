"""The op table: one entry per TFLite builtin op.

An entry knows the op's kernel header, how to emit the kernel call, which dtypes it
takes, its shape rule, and optionally how to evaluate it in numpy (constant folding), how
much scratch memory its kernel needs, and what the fusion passes may do with it (`Fusion`:
which activations, epilogues, residuals or paddings its kernel absorbs, what it becomes
inside another kernel). Each family module registers its ops with `@register`; every
module in this package is imported here, so adding an op is one edit in one file, and a
new op that can fuse says so in its entry: no pass changes.

An op has one entry per arithmetic it can do: the float one (the op's entry), and variants
for quantized tensors, registered with `variant=` (see `kind`): "int8", "uint8", "int16"
(int16 activations, int8 weights: TFLite's int16x8) and "hybrid" (float activations, int8
weights computed in integers: dynamic-range). `lookup` picks the entry of a node's kind;
a node of a kind its op has no variant for gets the op's entry, whose dtypes then reject it
by name. Ops that only move bytes take quantized dtypes in their one entry.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, replace
from typing import Callable, Optional

from dlcoder.ir import Graph, Node, op_label


@dataclass(frozen=True)
class Fusion:
    """What an op offers the fusion passes. Producer side: what its kernel can absorb.
    Absorbed side: what the op becomes inside another op's kernel."""
    # producer: its kernel clamps by attrs["fused_activation_function"] (fuse_activation)
    takes_clamp: bool = False
    # producer: its kernel applies attrs["epilogue"] (a name in _common.EPILOGUES, or a
    # PRELU / LEAKY_RELU slope: _common.slope_of) after the clamp, while the tile is in
    # registers (fuse_epilogue)
    takes_epilogue: bool = False
    # producer: (node, g, other, act) -> the node with a residual ADD of tensor `other`
    # (then the clamp `act`) in its epilogue, or None if this node's kernel cannot
    # (fuse_residual)
    residual: Optional[Callable] = None
    # producer: (node, g, s) -> the node with its input scaled per channel by tensor `s`
    # inside its weights, or None if this node cannot (fuse_input_scale)
    input_scale: Optional[Callable] = None
    # consumer: the value its own padding contributes (0.0 to a sum, -inf to a max), so a
    # PAD of exactly that value can become its explicit_padding (fuse_pad)
    pad_value: Optional[float] = None
    # absorbed: the fused_activation_function value that does what this op does (RELU6)
    as_clamp: Optional[str] = None
    # absorbed: the epilogue (name, or (node, g) -> name or None: not this node) that does
    # what this op does; a tuple (_common.slope_of) for PRELU and LEAKY_RELU
    as_epilogue: object = None
    # absorbed: (node, g) -> (paddings [rank][2], value) of a constant padding, or None
    # (fuse_pad)
    padding: Optional[Callable] = None
    # the output is its first input relabelled (row-major), so it may share its storage
    # (alias_reshape)
    view: bool = False
    # (node, g) -> the output's value when the op only decodes a constant input (float16,
    # quantized or sparse weights), folded whatever the growth (fold_dequantize); or None
    decode: Optional[Callable] = None


NO_FUSION = Fusion()


@dataclass(frozen=True)
class OpDef:
    name: str
    emit: Callable            # (node, graph, ctx) -> C++ statement(s)
    header: str               # runtime header holding the kernel
    dtypes: frozenset         # dtypes its tensors may have
    check: Optional[Callable] = None      # (node, graph) -> error text or None
    evaluate: Optional[Callable] = None   # (node, graph, [np.ndarray]) -> [np.ndarray]
    scratch: Optional[Callable] = None    # (node, graph) -> bytes; see `subgraphs`
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
    # What the fusion passes may do with the op (passes/). A pass asks the op; it never
    # names one. An op that declares nothing here is left alone by every fusion.
    fusion: Fusion = NO_FUSION
    # The op runs subgraphs (control flow) and must plan their memory to know its scratch.
    # Then its scratch and task_scratch hooks are called (node, graph, plan), where
    # plan(subgraph, fixed) -> Plan is the memory planner of the layer above (codegen),
    # passed down by scratch_bytes' caller: the ops never import the planner. At emit time
    # the Context offers the same: e.plan_subgraph(subgraph, fixed), e.subcontext(...).
    subgraphs: bool = False


class _Names:
    """`Op.CONV_2D` is "CONV_2D", the name of an op in the table. A pass that matches a
    pattern of ops names them this way: a misspelt or unregistered name fails loudly where
    a string literal would silently never match."""

    def __getattr__(self, name: str) -> str:
        if name in TABLE:
            return name
        raise AttributeError(f"no op named {name} in the op table")


Op = _Names()


TABLE: dict = {}
VARIANTS: dict = {}      # (op name, kind) -> OpDef of the op's quantized arithmetic
KINDS = ("int8", "uint8", "int16", "hybrid")

FLOAT = frozenset({"float32"})
INDEX = frozenset({"int32", "int64"})
NUMERIC = frozenset({"float32", "int32", "int64"})
ANY = frozenset({"float32", "int32", "int64", "bool", "int8", "uint8", "int16"})


def register(*names, header: str, dtypes=FLOAT, check=None, evaluate=None, scratch=None,
             task_scratch=None, in_place=False, shape=None, fusion=NO_FUSION, subgraphs=False,
             variant: Optional[str] = None):
    """Register the op(s) `names`; with `variant` (one of KINDS), the arithmetic of that
    kind of node. A variant without a shape rule uses its op's."""
    if variant is not None and variant not in KINDS:
        raise ValueError(f"variant {variant!r} is not one of {KINDS}")

    def deco(emit):
        for name in names:
            table, key = (TABLE, name) if variant is None else (VARIANTS, (name, variant))
            if key in table:
                raise RuntimeError(f"op {name} registered twice" + (f" for {variant}" if variant else ""))
            table[key] = OpDef(name, emit, header, frozenset(dtypes), check, evaluate, scratch,
                               task_scratch, in_place, shape, fusion, subgraphs)
        return emit
    return deco


_QUANTIZED = ("int8", "uint8", "int16")


def kind(node: Node, g: Graph) -> str:
    """The arithmetic a node needs: that of its first quantized computed tensor ("int8",
    "uint8", "int16"); "hybrid" for float computed tensors with a quantized constant
    input (dynamic-range weights); that of its first quantized constant input when no
    computed tensor is float or quantized (a comparison of two quantized constants, whose
    output is bool); else "float"."""
    computed = [g.tensors[t] for t in node.inputs + node.outputs
                if t >= 0 and not g.tensors[t].is_const]
    for t in computed:
        if t.dtype in _QUANTIZED and t.quant is not None:
            return t.dtype
    consts = [g.tensors[t] for t in node.inputs if t >= 0 and g.tensors[t].is_const
              and g.tensors[t].dtype in _QUANTIZED and g.tensors[t].quant is not None]
    if any(t.dtype == "float32" for t in computed):
        return "hybrid" if any(t.dtype in ("int8", "uint8") for t in consts) else "float"
    return consts[0].dtype if consts else "float"


def lookup(node: Node, g: Graph) -> Optional[OpDef]:
    """The entry that compiles this node: its op's variant for the node's kind, else the
    op's entry (None for an op not in the table)."""
    d = VARIANTS.get((node.op, kind(node, g)))
    if d is not None:
        return d if d.shape is not None else replace(d, shape=TABLE[node.op].shape)
    return TABLE.get(node.op)


def fusion(op: str) -> Fusion:
    """The op's Fusion entry (nothing fusible for an op not in the table). The fusion
    passes only fuse float32 nodes (passes/rewrite.float32): variants fuse nothing."""
    d = TABLE.get(op)
    return d.fusion if d is not None else NO_FUSION


def problem(node: Node, g: Graph) -> Optional[str]:
    """Why this node cannot be compiled, or None if it can."""
    d = lookup(node, g)
    if d is None:
        return "unsupported op"
    for t in node.inputs + node.outputs:
        if t >= 0 and g.tensors[t].dtype not in d.dtypes:
            k = kind(node, g)
            if k == "float":
                return f"{g.tensors[t].dtype} tensors are not supported by {op_label(node)}"
            scheme = ("dynamic-range quantization (float activations, quantized weights)"
                      if k == "hybrid" else f"{k} quantized tensors")
            return (f"{op_label(node)} has no kernel for {scheme}: tensor '{g.tensors[t].name}' "
                    f"is {g.tensors[t].dtype}")
    if d.check is not None:
        return d.check(node, g)
    return None


def _hook(d: OpDef, hook: Callable, plan: Optional[Callable]) -> Callable:
    """A scratch hook as (node, graph) -> bytes: an op that runs subgraphs gets `plan`."""
    if not d.subgraphs:
        return hook
    if plan is None:
        raise TypeError(f"{d.name} runs subgraphs: its scratch needs the memory planner (plan=)")
    return lambda node, g: hook(node, g, plan)


def scratch_bytes(g: Graph, plan: Optional[Callable] = None) -> dict:
    """Node index -> scratch bytes that the node's op asks for (ops with a scratch hook).
    plan(subgraph, fixed) -> Plan: the memory planner, for ops that run subgraphs (OpDef
    `subgraphs`); the caller (codegen) gives it, a graph without such ops needs none."""
    defs = [(i, n, lookup(n, g)) for i, n in enumerate(g.nodes)]
    return {i: int(_hook(d, d.scratch, plan)(n, g)) for i, n, d in defs if d.scratch is not None}


def task_scratch_bytes(g: Graph, plan: Optional[Callable] = None) -> dict:
    """Node index -> scratch bytes that each further task of the node needs, with threads
    (nodes whose kernel splits into tasks that each need scratch of their own). plan: as
    for scratch_bytes."""
    defs = [(i, n, lookup(n, g)) for i, n in enumerate(g.nodes)]
    sizes = {i: int(_hook(d, d.task_scratch, plan)(n, g)) for i, n, d in defs
             if d.task_scratch is not None}
    return {i: b for i, b in sizes.items() if b > 0}


def _load_families():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_families()
