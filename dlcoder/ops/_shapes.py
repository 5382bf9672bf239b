"""Shape rules shared by the op families.

Every op in the table has a `shape` hook: (node, graph) -> one shape tuple per output,
computed the way TFLite's Prepare computes it, from the inputs' shapes, the values of
constant inputs (graph.const) and the node's attributes. The validation pass
(dlcoder/validate.py) runs the hooks over the model in execution order, so a hook may
trust that its inputs' shapes are already checked, but nothing else: it must check the
node's arity, its attributes and how its inputs fit together, and raise InvalidModelError
(the model contradicts itself) or UnsupportedError (valid, but we cannot compile it) with
a message that says what is wrong. The pass prefixes the node's index and op.

Hooks read inputs through `arity` first, so that an absent input (-1) is never indexed:
in Python, tensors[-1] would silently be the last tensor.
"""
from __future__ import annotations

import numpy as np

from dlcoder.errors import InvalidModelError, UnsupportedError
from dlcoder.ir import Graph, Node


def fail(message: str):
    raise InvalidModelError(message)


def arity(node: Node, n_in, n_out=1, optional=()) -> None:
    """The node has n_in inputs (an int, or (least, most)) and n_out outputs (likewise);
    inputs below `least` are present (>= 0) unless their position is in `optional`, and
    every output is present.

    >>> arity(Node("ADD", (0, 1), (2,)), 2)
    >>> arity(Node("ADD", (0, -1), (2,)), 2)
    Traceback (most recent call last):
    dlcoder.errors.InvalidModelError: required input 1 is missing
    """
    lo, hi = (n_in, n_in) if isinstance(n_in, int) else n_in
    olo, ohi = (n_out, n_out) if isinstance(n_out, int) else n_out
    if not lo <= len(node.inputs) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        fail(f"has {len(node.inputs)} inputs, the op takes {want}")
    if not olo <= len(node.outputs) <= ohi:
        want = str(olo) if olo == ohi else f"{olo} to {ohi}"
        fail(f"has {len(node.outputs)} outputs, the op gives {want}")
    for k in range(lo):
        if node.inputs[k] < 0 and k not in optional:
            fail(f"required input {k} is missing")
    if any(t < 0 for t in node.outputs):
        fail("an output is missing")


def present(node: Node, k: int) -> bool:
    """Input k exists and is not the absent marker -1."""
    return k < len(node.inputs) and node.inputs[k] >= 0


def in_shape(g: Graph, node: Node, k: int) -> tuple:
    """The shape of input k (call `arity` first)."""
    return g.tensors[node.inputs[k]].shape


def const_input(g: Graph, node: Node, k: int, what: str) -> np.ndarray:
    """The value of input k, which the output shape depends on, so it must be known at
    generation time (a constant, or computable from shapes and constants)."""
    v = g.const(node.inputs[k]) if present(node, k) else None
    if v is None:
        raise UnsupportedError(f"needs a constant {what} (input {k})")
    return np.asarray(v)


def const_ints(g: Graph, node: Node, k: int, what: str) -> list:
    v = const_input(g, node, k, what)
    if v.dtype.kind not in "iu":
        fail(f"{what} (input {k}) has dtype {v.dtype}, not an integer type")
    return [int(x) for x in v.ravel()]


def axis(a: int, rank: int, what: str = "axis") -> int:
    """An axis in [-rank, rank) made non-negative.

    >>> axis(-1, 4)
    3
    """
    if not -rank <= a < max(rank, 1):
        fail(f"{what} {a} is out of range for rank {rank}")
    return a % max(rank, 1)


def broadcast(*shapes) -> tuple:
    """numpy's broadcast of shapes.

    >>> broadcast((2, 1, 3), (4, 1))
    (2, 4, 3)
    """
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            fail(f"shapes {' and '.join(str(list(s)) for s in shapes)} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def positive(node: Node, *attrs) -> None:
    """Each named integer attribute is at least 1 (strides, dilations, filter sizes)."""
    for a in attrs:
        v = node.attrs.get(a)
        if not isinstance(v, (int, np.integer)) or v < 1:
            fail(f"attribute {a} = {v} must be a positive integer")


def padding(node: Node) -> str:
    p = node.attrs.get("padding")
    if p not in ("SAME", "VALID"):
        fail(f"padding {p} is neither SAME nor VALID")
    return p


def conv_out(pad: str, size: int, k: int, stride: int, dilation: int = 1) -> int:
    """TFLite's ComputeOutSize: the output extent of a window of k taps, dilated, strided.

    >>> conv_out("SAME", 7, 3, 2), conv_out("VALID", 7, 3, 2), conv_out("VALID", 2, 3, 1)
    (4, 3, 0)
    """
    eff = (k - 1) * dilation + 1
    if pad == "SAME":
        return (size + stride - 1) // stride
    return max((size - eff + stride) // stride, 0)


def same_as(k: int = 0, n_in=1):
    """A shape hook: one output, shaped like input k (unary elementwise ops)."""
    def rule(node: Node, g: Graph):
        arity(node, n_in)
        return [in_shape(g, node, k)]
    return rule


def rank_between(shape_: tuple, lo: int, hi: int, what: str = "input") -> None:
    if not lo <= len(shape_) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        fail(f"{what} has rank {len(shape_)}, the op takes rank {want}")


def dtype(g: Graph, t: int) -> str:
    return g.tensors[t].dtype


def dtypes_in(g: Graph, node: Node, allowed, positions=None, outputs=()) -> None:
    """The inputs at `positions` (default: all present) and the outputs at `outputs` have
    a dtype in `allowed` (index tensors: axes, shapes, paddings, indices)."""
    ts = [(f"input {k}", node.inputs[k]) for k in (range(len(node.inputs)) if positions is None
                                                    else positions) if present(node, k)]
    ts += [(f"output {k}", node.outputs[k]) for k in outputs]
    for what, t in ts:
        if dtype(g, t) not in allowed:
            fail(f"{what} has dtype {dtype(g, t)}, the op takes {' or '.join(sorted(allowed))}")


def same_dtype(g: Graph, node: Node, inputs=(0,), outputs=(0,)) -> str:
    """The inputs and outputs at these positions share one dtype (what the kernel reads
    and writes as one C type); returns it."""
    ts = [(f"input {k}", node.inputs[k]) for k in inputs if present(node, k)]
    ts += [(f"output {k}", node.outputs[k]) for k in outputs]
    kinds = {dtype(g, t) for _, t in ts}
    if len(kinds) > 1:
        fail("dtypes differ: " + ", ".join(f"{what} {dtype(g, t)}" for what, t in ts))
    return kinds.pop()


# the dtypes TFLite reads as affine-quantized integers
QUANTIZED = frozenset({"int8", "uint8", "int16"})


def tflite_params(g: Graph, t: int) -> tuple:
    """(scale, zero point) as TFLite's kernels read them (TfLiteTensor.params): those of a
    per-tensor quantization, (0.0, 0) for a tensor without one or with one per channel."""
    q = g.tensors[t].quant
    if q is None or q.per_channel:
        return (0.0, 0)
    return (q.scale[0], q.zero_point[0])


def same_quant(g: Graph, node: Node, inputs=(0,), outputs=(0,)) -> None:
    """Quantized (int8, uint8, int16) inputs at these positions have the scale and zero
    point of every output at these positions: the TFLite kernels that copy bytes (EXPAND_DIMS,
    PACK, UNPACK, MIRROR_PAD, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, int8 CONCATENATION, FILL
    and PADV2's value) require it in Prepare, and reject the model otherwise."""
    ts = [(f"input {k}", node.inputs[k]) for k in inputs if present(node, k)]
    outs = [(f"output {k}", node.outputs[k]) for k in outputs]
    for what, t in ts:
        if dtype(g, t) not in QUANTIZED:
            continue
        for owhat, o in outs:
            a, b = tflite_params(g, t), tflite_params(g, o)
            if a != b:
                fail(f"{what} '{g.tensors[t].name}' is quantized with scale {a[0]:g}, zero point "
                     f"{a[1]} and {owhat} '{g.tensors[o].name}' with scale {b[0]:g}, zero point "
                     f"{b[1]}: TFLite's {node.op} kernel copies the {dtype(g, t)} values "
                     f"unchanged and rejects different quantizations")


def not_quantized(g: Graph, node: Node, dtypes=QUANTIZED, why: str = "") -> None:
    """Input 0 has none of these dtypes, which TFLite's kernel for the op does not take."""
    k = dtype(g, node.inputs[0]) if present(node, 0) else None
    if k in dtypes:
        fail(f"TFLite's {node.op} kernel does not take {k} data{why}")


# TFLite's ActivationFunctionType, by the names the frontend gives its values
ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")


def activation(node: Node, attr: str = "fused_activation_function") -> str:
    """The node's fused activation, which must be one TFLite defines (absent: NONE)."""
    act = node.attrs.get(attr, "NONE")
    if act not in ACTIVATIONS:
        fail(f"fused activation {act} is not one TFLite defines")
    return act


def window(node: Node, size: tuple, k: tuple, dilated: bool = False) -> tuple:
    """(out_h, out_w) of a conv or pool window of k = (h, w) taps over size = (h, w), after
    checking the padding, the strides and, if dilated, the dilation factors (absent: 1).

    >>> pool = Node("MAX_POOL_2D", (0,), (1,), {"padding": "SAME", "stride_h": 2, "stride_w": 1})
    >>> window(pool, (7, 5), (3, 3))
    (4, 5)
    """
    pad = padding(node)
    positive(node, "stride_h", "stride_w")
    dil = (1, 1)
    if dilated:
        dil = (node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1))
        if not all(isinstance(d, (int, np.integer)) and d >= 1 for d in dil):
            fail(f"dilation factors {dil[0]}x{dil[1]} must be positive integers")
    if min(k) < 1:
        fail(f"the window is {k[0]}x{k[1]}, it needs at least one tap each way")
    return (conv_out(pad, size[0], k[0], node.attrs["stride_h"], dil[0]),
            conv_out(pad, size[1], k[1], node.attrs["stride_w"], dil[1]))


def bias_size(g: Graph, node: Node, k: int, n: int) -> None:
    """Optional input k (a bias), if present, holds one value per output channel."""
    if present(node, k) and g.tensors[node.inputs[k]].size != n:
        fail(f"the bias has {g.tensors[node.inputs[k]].size} values for {n} output channels")


def rank_at_least(shape_: tuple, lo: int, what: str = "input") -> None:
    if len(shape_) < lo:
        fail(f"{what} has rank {len(shape_)}, the op takes rank {lo} or more")


def dim_axis(a: int, rank: int, what: str = "axis") -> int:
    """An axis naming one of the rank >= 1 dimensions, in [-rank, rank), made non-negative
    (unlike `axis`, a scalar has none).

    >>> dim_axis(-1, 2)
    1
    >>> dim_axis(0, 0)
    Traceback (most recent call last):
    dlcoder.errors.InvalidModelError: axis 0 is out of range for rank 0
    """
    if not isinstance(a, (int, np.integer)) or not -rank <= a < rank:
        fail(f"{what} {a} is out of range for rank {rank}")
    return int(a) % rank


def vector(g: Graph, node: Node, k: int, what: str) -> int:
    """Input k is a 1-D list (axes, sizes, a shape); returns its length, which the static
    shape gives even when the values are not known."""
    s = in_shape(g, node, k)
    if len(s) != 1:
        fail(f"{what} (input {k}) has shape {list(s)}, not a 1-D list")
    return s[0]


def const_scalar(g: Graph, node: Node, k: int, what: str) -> int:
    """The one integer that input k holds (an axis, a count), known at generation time."""
    v = const_ints(g, node, k, what)
    if len(v) != 1:
        fail(f"{what} (input {k}) holds {len(v)} values, not one")
    return v[0]


def const_pairs(g: Graph, node: Node, k: int, rows: int, what: str) -> list:
    """Input k: a [rows, 2] tensor of non-negative (before, after) amounts (paddings,
    crops), known at generation time."""
    s = in_shape(g, node, k)
    if tuple(s) != (rows, 2):
        fail(f"{what} (input {k}) has shape {list(s)}, not [{rows}, 2]")
    v = const_ints(g, node, k, what)
    if min(v, default=0) < 0:
        fail(f"{what} {np.reshape(v, (rows, 2)).tolist()} must not be negative")
    return [(v[2 * i], v[2 * i + 1]) for i in range(rows)]


def index_type(node: Node, attr: str) -> None:
    """The attribute names the dtype of an index output: TensorType INT32 (2) or INT64 (4).
    Absent (no options table) counts as int32."""
    v = node.attrs.get(attr, 2)
    if v not in (2, 4):
        fail(f"{attr} {v} is neither int32 nor int64")


def index_input(g: Graph, node: Node, k: int, what: str,
                allowed=("int32", "int64")) -> None:
    """Input k, if present (an axis, a shape, paddings, indices), has one of the integer
    dtypes that TFLite's kernel reads it as. Several kernels read such an input as int32
    whatever its dtype, so a wider list there would be misread, not converted."""
    if present(node, k) and dtype(g, node.inputs[k]) not in allowed:
        fail(f"{what} (input {k}) has dtype {dtype(g, node.inputs[k])}, the op takes "
             f"{' or '.join(sorted(allowed))}")


def alike(k: int = 0, n_in=1):
    """A shape hook: one output with input k's shape and dtype (unary elementwise ops,
    activations: TFLite's Prepare checks the dtypes equal or gives the output input k's)."""
    def rule(node: Node, g: Graph):
        arity(node, n_in)
        same_dtype(g, node, inputs=(k,), outputs=(0,))
        return [in_shape(g, node, k)]
    return rule


OUT = "output 0"   # in a dtypes_by table: the node's first output


def dtypes_by(g: Graph, node: Node, table: dict, k: int = 0) -> str:
    """Input k's dtype selects the dtypes the node's other tensors may have, for ops whose
    operands differ in kind (TFLite's Prepare: a float32 conv takes a float32 bias, an
    int8 conv an int32 one). `table` maps each dtype input k may have to {position:
    allowed dtypes}, a position being an input's index (an absent input is skipped) or
    OUT. Returns input k's dtype.

    >>> from dlcoder.ir import Tensor
    >>> g = Graph(tensors=(Tensor("x", (2,), "int8"), Tensor("b", (2,), "float32"),
    ...                    Tensor("y", (2,), "int8")), nodes=(), inputs=(), outputs=())
    >>> table = {"float32": {1: {"float32"}}, "int8": {1: {"int32"}, OUT: {"int8"}}}
    >>> dtypes_by(g, Node("OP", (0, 1), (2,)), table)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    dlcoder.errors.InvalidModelError: input 1 has dtype float32: for input 0 of dtype int8 ...
    """
    d = dtype(g, node.inputs[k])
    if d not in table:
        fail(f"input {k} has dtype {d}, the op takes {' or '.join(sorted(table))}")
    for pos, allowed in table[d].items():
        if pos == OUT:
            t = node.outputs[0]
        elif present(node, pos):
            pos, t = f"input {pos}", node.inputs[pos]
        else:
            continue
        if dtype(g, t) not in allowed:
            fail(f"{pos} has dtype {dtype(g, t)}: for input {k} of dtype {d} the op takes "
                 f"{' or '.join(sorted(allowed))}")
    return d


def index_output(g: Graph, node: Node, attr: str) -> None:
    """Output 0 has the dtype that the attribute names (`index_type`): TFLite gives the
    output that dtype whatever the model stores, and the kernel writes it."""
    index_type(node, attr)
    want = {2: "int32", 4: "int64"}[node.attrs.get(attr, 2)]
    if dtype(g, node.outputs[0]) != want:
        fail(f"output 0 has dtype {dtype(g, node.outputs[0])}, but {attr} says {want}")
