"""Ops along one axis: reductions (MEAN, SUM, REDUCE_*), ARG_MAX / ARG_MIN, SOFTMAX,
LOG_SOFTMAX, the scan CUMSUM and TOPK_V2 (reduce.h)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, INDEX, NUMERIC, register
from dlcoder.ops._common import (const_ints, ctype, loop6, loop6_init, norm_axis, require_const,
                                 shape, strides)
from dlcoder.ops._hooks import all_known, check_axis_int32, checked, prod
from dlcoder.ops import _shapes as S

_REDUCERS = {"SUM": "SumReducer", "REDUCE_PROD": "ProdReducer", "REDUCE_MAX": "MaxReducer",
             "REDUCE_MIN": "MinReducer", "REDUCE_ANY": "AnyReducer", "REDUCE_ALL": "AllReducer"}
_NUMPY = {"MEAN": np.mean, "SUM": np.sum, "REDUCE_PROD": np.prod, "REDUCE_MAX": np.max,
          "REDUCE_MIN": np.min, "REDUCE_ANY": np.any, "REDUCE_ALL": np.all}


def reduced_axes(node, g) -> list:
    rank = len(shape(g, node.inputs[0]))
    return sorted({norm_axis(a, rank) for a in const_ints(g, node.inputs[1], "axis", node)})


def _reduce_params(node, g, e) -> str:
    in_shape = shape(g, node.inputs[0])
    axes = reduced_axes(node, g)
    kept = [d for i, d in enumerate(in_shape) if i not in axes]
    out_st = strides(kept)
    b, j = [], 0
    for i in range(len(in_shape)):
        if i in axes:
            b.append(0)
        else:
            b.append(out_st[j])
            j += 1
    loop = loop6(in_shape or (1,), strides(in_shape) or [1], b or [0])
    count = int(np.prod([in_shape[a] for a in axes], dtype=np.int64))
    out_size = int(np.prod(kept, dtype=np.int64))
    return e.param("dlcoder_rt::ReduceParams",
                   "{" + f"{loop6_init(loop)}, {out_size}, {max(count, 1)}" + "}")


def _evaluate(node, g, values):
    x, axes = values[0], values[1]
    if x is None or axes is None:
        return None
    axes = tuple(sorted({norm_axis(int(a), x.ndim) for a in np.asarray(axes).ravel()}))
    return [_NUMPY[node.op](x, axis=axes, keepdims=bool(node.attrs.get("keep_dims"))).astype(x.dtype)]


def _reduce_shape(node, g):
    """TFLite's reduce ResizeOutputTensor: the axes (any count, negative ones from the end,
    repeats counted once) become 1 with keep_dims, else go; a scalar stays a scalar. The
    result has the data's dtype (bool for REDUCE_ANY / REDUCE_ALL); the axes are int32,
    the only dtype TFLite's reduce Prepare takes for them."""
    S.arity(node, 2)
    x = S.in_shape(g, node, 0)
    keep = node.attrs.get("keep_dims", False)
    if keep not in (True, False):
        S.fail(f"keep_dims = {keep} is not a boolean")
    axes = {S.axis(a, len(x)) for a in S.const_ints(g, node, 1, "axis")}
    S.index_input(g, node, 1, "the axis", ("int32",))
    S.same_dtype(g, node)
    if node.op in ("REDUCE_ANY", "REDUCE_ALL"):
        S.dtypes_in(g, node, {"bool"}, positions=(0,))
    if not x:
        return [()]
    if keep:
        return [tuple(1 if i in axes else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


@register("MEAN", header="reduce.h", dtypes=NUMERIC, check=require_const(1), evaluate=_evaluate,
          shape=_reduce_shape)
def mean(node, g, e):
    return (f"dlcoder_rt::mean({_reduce_params(node, g, e)}, {e.src(node.inputs[0])}, "
            f"{e.dst(node.outputs[0])});")


for _name, _reducer in _REDUCERS.items():
    # The axis input is int32/int64 too: {"bool"} alone rejected every REDUCE_ANY/ALL.
    _dt = {"bool"} | INDEX if _name in ("REDUCE_ANY", "REDUCE_ALL") else NUMERIC
    register(_name, header="reduce.h", dtypes=_dt, check=require_const(1), evaluate=_evaluate,
             shape=_reduce_shape)(
        lambda node, g, e, r=_reducer: (
            f"dlcoder_rt::reduce({_reduce_params(node, g, e)}, {e.src(node.inputs[0])}, "
            f"{e.dst(node.outputs[0])}, dlcoder_rt::{r}{{}});"))


def _arg(node, g, e, is_max: bool) -> str:
    x = node.inputs[0]
    in_shape = shape(g, x)
    axis = norm_axis(const_ints(g, node.inputs[1], "axis", node)[0], len(in_shape))
    outer = int(np.prod(in_shape[:axis], dtype=np.int64))
    inner = int(np.prod(in_shape[axis + 1:], dtype=np.int64))
    params = e.param("dlcoder_rt::ArgParams", cgen.struct_init("ArgParams",
        {"outer": outer, "axis": in_shape[axis], "inner": inner}))
    kind = "true" if is_max else "false"
    return (f"dlcoder_rt::arg_reduce<{ctype(g, x)}, {ctype(g, node.outputs[0])}, {kind}>"
            f"({params}, {e.src(x)}, {e.dst(node.outputs[0])});")


# what TFLite's arg_min_max kernel reads (not int64, nor int16)
_ARG_INPUTS = frozenset({"float32", "int32", "int8", "uint8", "bool"})


def _arg_shape(node, g):
    """The input without the axis, a one-value input (TFLite's arg_min_max ResizeOutput).
    The output has the index dtype that output_type names (TFLite gives it that one)."""
    S.arity(node, 2)
    x = S.in_shape(g, node, 0)
    S.rank_at_least(x, 1)
    axes = S.const_ints(g, node, 1, "axis")
    if len(axes) != 1:
        S.fail(f"the axis input has {len(axes)} values, the op takes one")
    a = S.axis(axes[0], len(x))
    S.index_input(g, node, 1, "the axis")
    S.dtypes_in(g, node, _ARG_INPUTS, positions=(0,))
    S.index_output(g, node, "output_type")
    return [tuple(d for i, d in enumerate(x) if i != a)]


register("ARG_MAX", header="reduce.h", dtypes=NUMERIC | {"bool"}, check=require_const(1),
         shape=_arg_shape)(lambda node, g, e: _arg(node, g, e, True))
register("ARG_MIN", header="reduce.h", dtypes=NUMERIC | {"bool"}, check=require_const(1),
         shape=_arg_shape)(lambda node, g, e: _arg(node, g, e, False))


def _softmax(node, g, e, kernel: str, beta: float) -> str:
    x = node.inputs[0]
    s = shape(g, x)
    depth = s[-1] if s else 1
    params = e.param("dlcoder_rt::SoftmaxParams", cgen.struct_init("SoftmaxParams",
        {"rows": g.tensors[x].size // max(depth, 1), "depth": depth, "beta": float(beta)}))
    return f"dlcoder_rt::{kernel}({params}, {e.src(x)}, {e.dst(node.outputs[0])});"


# SOFTMAX's input dtype -> its output's (TFLite's Softmax Eval); LOG_SOFTMAX keeps the dtype
_SOFTMAX_DTYPES = {"float32": {S.OUT: {"float32"}}, "int8": {S.OUT: {"int8", "int16"}},
                   "uint8": {S.OUT: {"uint8", "int16"}}, "int16": {S.OUT: {"int16"}}}


def _softmax_shape(node, g):
    """Same shape, over the last axis of an input of any rank but 0."""
    S.arity(node, 1)
    S.rank_at_least(S.in_shape(g, node, 0), 1)
    if node.op == "SOFTMAX":
        S.dtypes_by(g, node, _SOFTMAX_DTYPES)
    else:
        S.same_dtype(g, node)
    return [S.in_shape(g, node, 0)]


register("SOFTMAX", header="reduce.h", shape=_softmax_shape)(
    lambda node, g, e: _softmax(node, g, e, "softmax_f32", node.attrs.get("beta", 1.0)))
register("LOG_SOFTMAX", header="reduce.h", shape=_softmax_shape)(
    lambda node, g, e: _softmax(node, g, e, "log_softmax_f32", 1.0))


# ---- CUMSUM -----------------------------------------------------------------------------
def _cumsum_axis(node, g) -> int:
    return norm_axis(const_ints(g, node.inputs[1], "axis", node)[0], len(shape(g, node.inputs[0])))


def _cumsum_check(node, g):
    why = require_const(1)(node, g) or check_axis_int32(node, g)
    if why is not None:
        raise UnsupportedError(why)
    _cumsum_axis(node, g)


def _cumsum_eval(node, g, values):
    if not all_known(values, node) or checked(_cumsum_check)(node, g):
        return None
    axis, x = _cumsum_axis(node, g), np.asarray(values[0])
    if node.attrs.get("reverse", False):
        x = np.flip(x, axis)
    with np.errstate(over="ignore"):
        y = np.cumsum(x, axis=axis, dtype=x.dtype)      # sequential, in the tensor's dtype
    if node.attrs.get("exclusive", False):
        y = np.concatenate([np.zeros_like(np.take(y, [0], axis)), np.delete(y, -1, axis)], axis)
    return [np.flip(y, axis) if node.attrs.get("reverse", False) else y]


def _cumsum_shape(node, g):
    """The input's shape (rank >= 1); the axis one int32 value, in range when known."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "axis", ("int32",))
    dims = S.in_shape(g, node, 0)
    S.rank_at_least(dims, 1)
    if g.tensors[node.inputs[1]].size != 1:
        S.fail(f"axis (input 1) holds {g.tensors[node.inputs[1]].size} values, not one")
    if g.const(node.inputs[1]) is not None:
        S.dim_axis(S.const_scalar(g, node, 1, "axis"), len(dims))
    return [dims]


@register("CUMSUM", header="reduce.h", dtypes=NUMERIC, check=checked(_cumsum_check),
          evaluate=_cumsum_eval, shape=_cumsum_shape)
def cumsum(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    dims, axis = shape(g, x), _cumsum_axis(node, g)
    p = e.param("dlcoder_rt::CumsumParams", cgen.struct_init("CumsumParams", {
        "outer": prod(dims[:axis]), "depth": dims[axis], "inner": prod(dims[axis + 1:]),
        "exclusive": bool(node.attrs.get("exclusive", False)),
        "reverse": bool(node.attrs.get("reverse", False))}))
    return f"dlcoder_rt::cumsum({p}, {e.src(x)}, {e.dst(out)});"


# ---- TOPK_V2 ----------------------------------------------------------------------------
def _topk_dims(node, g):
    """(rows, row, k), checked against the output shapes."""
    x = shape(g, node.inputs[0])
    k = const_ints(g, node.inputs[1], "k", node)[0]
    if not x or not 0 <= k <= x[-1] or any(shape(g, t) != x[:-1] + (k,) for t in node.outputs):
        raise UnsupportedError(f"TOPK_V2 k={k} of input {list(x)}")
    return prod(x[:-1]), x[-1], k


def _topk_check(node, g):
    why = require_const(1)(node, g)
    if why is not None:
        raise UnsupportedError(why)
    if g.tensors[node.inputs[0]].dtype == "bool":
        raise UnsupportedError("bool TOPK_V2 input")
    if g.tensors[node.outputs[1]].dtype not in ("int16", "int32"):
        raise UnsupportedError("TOPK_V2 indices must be int32 or int16 (as TFLite's kernel)")
    _topk_dims(node, g)


def _topk_shape(node, g):
    """Values and indices: the input's shape with k (0 <= k <= last dim) for the last dim.
    The values have the input's dtype; k and the indices are int32 or int16."""
    S.arity(node, 2, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "k", ("int16", "int32"))
    S.dtypes_in(g, node, ("int16", "int32"), positions=(), outputs=(1,))
    dims = S.in_shape(g, node, 0)
    S.rank_at_least(dims, 1)
    k = S.const_scalar(g, node, 1, "k")
    if not 0 <= k <= dims[-1]:
        S.fail(f"k = {k} is out of range for the last dimension {dims[-1]}")
    return [dims[:-1] + (k,)] * 2


@register("TOPK_V2", header="reduce.h", dtypes=ANY, check=checked(_topk_check), shape=_topk_shape)
def topk(node, g, e):
    x, (values, indices) = node.inputs[0], node.outputs
    rows, row, k = _topk_dims(node, g)
    p = e.param("dlcoder_rt::TopKParams", cgen.struct_init("TopKParams", {"rows": rows, "row": row, "k": k}))
    return (f"dlcoder_rt::topk<{ctype(g, x)}, {ctype(g, indices)}>({p}, {e.src(x)}, "
            f"{e.dst(values)}, {e.dst(indices)});")
