"""Reductions (MEAN, SUM, REDUCE_*), ARG_MAX / ARG_MIN, SOFTMAX, LOG_SOFTMAX."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import INDEX, NUMERIC, register
from dlcoder.ops._common import (const_ints, ctype, loop6, loop6_init, norm_axis, require_const,
                                 shape, strides)

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


@register("MEAN", header="reduce.h", dtypes=NUMERIC, check=require_const(1), evaluate=_evaluate)
def mean(node, g, e):
    return (f"dlcoder_rt::mean({_reduce_params(node, g, e)}, {e.src(node.inputs[0])}, "
            f"{e.dst(node.outputs[0])});")


for _name, _reducer in _REDUCERS.items():
    # The axis input is int32/int64 too: {"bool"} alone rejected every REDUCE_ANY/ALL.
    _dt = {"bool"} | INDEX if _name in ("REDUCE_ANY", "REDUCE_ALL") else NUMERIC
    register(_name, header="reduce.h", dtypes=_dt, check=require_const(1), evaluate=_evaluate)(
        lambda node, g, e, r=_reducer: (
            f"dlcoder_rt::reduce({_reduce_params(node, g, e)}, {e.src(node.inputs[0])}, "
            f"{e.dst(node.outputs[0])}, dlcoder_rt::{r}{{}});"))


def _arg(node, g, e, is_max: bool) -> str:
    x = node.inputs[0]
    in_shape = shape(g, x)
    axis = norm_axis(const_ints(g, node.inputs[1], "axis", node)[0], len(in_shape))
    outer = int(np.prod(in_shape[:axis], dtype=np.int64))
    inner = int(np.prod(in_shape[axis + 1:], dtype=np.int64))
    params = e.param("dlcoder_rt::ArgParams", cgen.struct_init(
        {"outer": outer, "axis": in_shape[axis], "inner": inner}))
    kind = "true" if is_max else "false"
    return (f"dlcoder_rt::arg_reduce<{ctype(g, x)}, {ctype(g, node.outputs[0])}, {kind}>"
            f"({params}, {e.src(x)}, {e.dst(node.outputs[0])});")


register("ARG_MAX", header="reduce.h", dtypes=NUMERIC | {"bool"}, check=require_const(1))(
    lambda node, g, e: _arg(node, g, e, True))
register("ARG_MIN", header="reduce.h", dtypes=NUMERIC | {"bool"}, check=require_const(1))(
    lambda node, g, e: _arg(node, g, e, False))


def _softmax(node, g, e, kernel: str, beta: float) -> str:
    x = node.inputs[0]
    s = shape(g, x)
    depth = s[-1] if s else 1
    params = e.param("dlcoder_rt::SoftmaxParams", cgen.struct_init(
        {"rows": g.tensors[x].size // max(depth, 1), "depth": depth, "beta": float(beta)}))
    return f"dlcoder_rt::{kernel}({params}, {e.src(x)}, {e.dst(node.outputs[0])});"


register("SOFTMAX", header="reduce.h")(
    lambda node, g, e: _softmax(node, g, e, "softmax_f32", node.attrs.get("beta", 1.0)))
register("LOG_SOFTMAX", header="reduce.h")(
    lambda node, g, e: _softmax(node, g, e, "log_softmax_f32", 1.0))
