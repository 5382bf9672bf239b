"""Ops whose output follows from shapes and scalars, not from another tensor's elements:
SHAPE, RANK and BROADCAST_ARGS (values of static shapes), FILL, ZEROS_LIKE and RANGE.
Their kernels are copies and fills (movement.h), and RANGE's length check (range.h).

Shapes are static, so SHAPE, RANK and ZEROS_LIKE always fold to constants, BROADCAST_ARGS
too (it needs constant shapes), FILL whenever its value is known and RANGE whenever its
start, limit and delta are. Their kernels run when fold_constants declines an output too
large to store as weights, and for a FILL or RANGE of values computed at run time. Such a
RANGE has the model's stored length; the run computes TFLite's from the values and returns
a status where it differs or TFLite fails (range.h).
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, INDEX, NUMERIC, register
from dlcoder.ops._common import ctype, require_const, shape
from dlcoder.ops._hooks import all_known, checked
from dlcoder.ops._shapes import alike
from dlcoder.ops import _shapes as S


# ---- SHAPE, FILL, ZEROS_LIKE ----------------------------------------------------------
def _shape_eval(node, g, values):
    return [np.asarray(shape(g, node.inputs[0]), dtype=g.tensors[node.outputs[0]].dtype)]


def _shape_shape(node, g):
    """One value per dim of the input, of the dtype out_type names."""
    S.arity(node, 1)
    S.index_output(g, node, "out_type")
    return [(len(S.in_shape(g, node, 0)),)]


@register("SHAPE", header="movement.h", dtypes=ANY | {"float16"}, evaluate=_shape_eval,
          shape=_shape_shape)
def shape_op(node, g, e):
    out = node.outputs[0]
    ct = ctype(g, out)
    dims = e.array(ct, list(shape(g, node.inputs[0])) or [0])
    return f"dlcoder_rt::copy<{ct}>({g.tensors[out].size}, {dims}, {e.dst(out)});"


def _fill_eval(node, g, values):
    value = values[1]
    if value is None:
        return None
    out = g.tensors[node.outputs[0]]
    return [np.full(out.shape, np.asarray(value).ravel()[0], dtype=out.dtype)]


def _check_fill(node, g):
    if g.const(node.inputs[0]) is None:
        return "the dims input must be a constant"
    return None


def _fill_shape(node, g):
    """The dims input's values (a vector), filled with a scalar value of the output's dtype
    (TFLite's fill: int32 or int64 dims, and the output gets the value's dtype)."""
    S.arity(node, 2)
    S.rank_between(S.in_shape(g, node, 0), 1, 1, "dims")
    S.rank_between(S.in_shape(g, node, 1), 0, 0, "value")
    dims = S.const_ints(g, node, 0, "dims")
    if any(d < 0 for d in dims):
        S.fail(f"dims {dims} has a negative size")
    S.index_input(g, node, 0, "dims")
    S.same_dtype(g, node, inputs=(1,), outputs=(0,))
    S.same_quant(g, node, inputs=(1,))
    return [tuple(dims)]


@register("FILL", header="movement.h", dtypes=ANY, check=_check_fill, evaluate=_fill_eval,
          shape=_fill_shape)
def fill(node, g, e):
    value, out = node.inputs[1], node.outputs[0]
    ct = ctype(g, out)
    const = g.const(value)
    v = f"{e.src(value)}[0]" if const is None else cgen.literal(np.asarray(const).ravel()[0], ct)
    return f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, {v}, {e.dst(out)});"


def _zeros_eval(node, g, values):
    out = g.tensors[node.outputs[0]]
    return [np.zeros(out.shape, dtype=out.dtype)]


def _zeros_like_shape(node, g):
    """The input's shape and dtype. TFLite's kernel takes no quantized data (its zeros
    would be raw 0 bytes, not the zero point): the model is rejected."""
    out = alike()(node, g)
    S.not_quantized(g, node)
    return out


@register("ZEROS_LIKE", header="movement.h", dtypes=ANY, evaluate=_zeros_eval,
          shape=_zeros_like_shape)
def zeros_like(node, g, e):
    out = node.outputs[0]
    ct = ctype(g, out)
    return (f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, {cgen.literal(0, ct)}, "
            f"{e.dst(out)});")


# ---- RANK, BROADCAST_ARGS: values known from static shapes / constants --------------------
def _rank_eval(node, g, values):
    return [np.asarray(len(shape(g, node.inputs[0])), g.tensors[node.outputs[0]].dtype)]


def _broadcast_args_eval(node, g, values):
    if not all_known(values, node):
        return None
    try:
        dims = np.broadcast_shapes(*(tuple(int(d) for d in np.ravel(v)) for v in values))
    except ValueError:
        return None
    return [np.asarray(dims, g.tensors[node.outputs[0]].dtype)]


def _copy_value(node, g, e, value) -> str:
    """The kernel of an op whose value is known now: copy it (used only if not folded)."""
    out = node.outputs[0]
    ct = ctype(g, out)
    return (f"dlcoder_rt::copy<{ct}>({g.tensors[out].size}, "
            f"{e.array(ct, np.ravel(value).tolist() or [0])}, {e.dst(out)});")


def _rank_shape(node, g):
    """A scalar int32 (TFLite's Prepare makes the output int32 whatever the model says)."""
    S.arity(node, 1)
    S.dtypes_in(g, node, ("int32",), positions=(), outputs=(0,))
    return [()]


@register("RANK", header="movement.h", dtypes=ANY | {"float16"}, evaluate=_rank_eval,
          shape=_rank_shape)
def rank(node, g, e):
    return _copy_value(node, g, e, _rank_eval(node, g, [])[0])


def _broadcast_args_check(node, g):
    why = require_const(0, 1)(node, g)
    if why is None and _broadcast_args_eval(node, g, [g.const(t) for t in node.inputs]) is None:
        why = "the shapes do not broadcast"
    return why


def _broadcast_args_shape(node, g):
    """Two 1-D shapes of one dtype give one as long as the longer; when their values are
    known, they must broadcast. The shapes and the output share int32 or int64."""
    S.arity(node, 2)
    S.same_dtype(g, node, inputs=(0, 1))
    S.dtypes_in(g, node, ("int32", "int64"), positions=(0,))
    n = max(S.vector(g, node, 0, "shape"), S.vector(g, node, 1, "shape"))
    shapes = [g.const(t) for t in node.inputs]
    if all(v is not None for v in shapes):
        dims = [tuple(S.const_ints(g, node, k, "shape")) for k in (0, 1)]
        if min(dims[0] + dims[1], default=0) < 0:
            S.fail(f"shapes {list(dims[0])} and {list(dims[1])} have a negative dimension")
        S.broadcast(*dims)
    return [(n,)]


@register("BROADCAST_ARGS", header="movement.h", dtypes=INDEX, check=_broadcast_args_check,
          evaluate=_broadcast_args_eval, shape=_broadcast_args_shape)
def broadcast_args(node, g, e):
    value = _broadcast_args_eval(node, g, [g.const(t) for t in node.inputs])[0]
    return _copy_value(node, g, e, value)


# ---- RANGE ------------------------------------------------------------------------------
RANGE_DTYPES = ("int32", "int64", "float32")     # TFLite's range.cc
def _range_check(node, g):
    if len(shape(g, node.outputs[0])) != 1:
        raise UnsupportedError("RANGE output must be 1-D")
    if len({g.tensors[t].dtype for t in node.inputs + node.outputs}) != 1:
        raise UnsupportedError("RANGE start, limit, delta and output differ in dtype")


def _range_eval(node, g, values):
    """Only when the limit is known too: else the run must check the stored length."""
    start, limit, delta = values
    if start is None or limit is None or delta is None or checked(_range_check)(node, g):
        return None
    out = g.tensors[node.outputs[0]]
    steps = np.full(out.size, np.asarray(delta).ravel()[0], out.dtype)
    steps[:1] = np.asarray(start).ravel()[0]
    with np.errstate(over="ignore"):
        return [np.cumsum(steps, dtype=out.dtype)]  # start + delta + delta ..., as TFLite


def _range_count(start, limit, delta) -> int:
    """TFLite's GetSize: delta is not 0 and points from start to limit; integers count
    exactly, floats as ceil(|(limit - start) / delta|) in their own precision."""
    if not all(np.isfinite([start, limit, delta])):
        S.fail(f"start {start}, limit {limit} and delta {delta} must be finite")
    if delta == 0:
        S.fail("delta is 0")
    if (start < limit and delta < 0) or (start > limit and delta > 0):
        S.fail(f"delta {delta} does not lead from start {start} to limit {limit}")
    if isinstance(start, (np.floating, float)):
        return int(np.ceil(np.abs((limit - start) / delta)))
    start, limit, delta = int(start), int(limit), int(delta)
    return (abs(limit - start) + abs(delta) - 1) // abs(delta)


def _range_shape(node, g):
    """Scalars of one dtype. If one is known only at run time, the stored 1-D shape stands:
    the kernel writes that many elements, once it has found that TFLite's length is that
    (range.h; tests/models/runtime2/range_*)."""
    S.arity(node, 3)
    S.same_dtype(g, node, inputs=(0, 1, 2))
    S.dtypes_in(g, node, RANGE_DTYPES, positions=(0,))
    for k, what in enumerate(("start", "limit", "delta")):
        if S.in_shape(g, node, k) != ():
            S.fail(f"{what} (input {k}) has shape {list(S.in_shape(g, node, k))}, not a scalar")
    values = [g.const(t) for t in node.inputs]
    if all(v is not None for v in values):
        return [(_range_count(*(np.asarray(v).reshape(())[()] for v in values)),)]
    out = g.tensors[node.outputs[0]].shape
    if len(out) != 1:
        S.fail(f"the output is stored with shape {list(out)}, not as a 1-D list")
    return [out]


@register("RANGE", header="range.h", dtypes=NUMERIC, check=checked(_range_check),
          evaluate=_range_eval, shape=_range_shape)
def range_op(node, g, e):
    start, limit, delta = node.inputs
    out = node.outputs[0]
    return (f"if (const int status = dlcoder_rt::range_checked({g.tensors[out].size}, "
            f"{e.src(start)}, {e.src(limit)}, {e.src(delta)}, {e.dst(out)})) return status;")
