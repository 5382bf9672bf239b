"""Ops that read indices at run time: GATHER, GATHER_ND and ONE_HOT (kernels in indexing.h).

GATHER copies rows of params along an axis (its loop: out[b][o][c][:] = in[b][o][idx[b][c]][:]),
GATHER_ND copies params[idx[s][0], ..., idx[s][nd - 1]][:] for each index tuple s. An index
outside its axis fails TFLite's invoke, and the run here, which returns
kStatusIndexOutOfRange (status.h) having written nothing; constant indices that fail are
left to that run, never folded. ONE_HOT compares each index with 0 .. depth - 1, so one
out of range is only "off" (TFLite does not fail there either); TFLite has no int16
kernel for it.
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, INDEX, register
from dlcoder.ops._common import (MAX_DIMS, const_ints, ctype, norm_axis, require_const, shape,
                                 strides)
from dlcoder.ops._hooks import all_known, checked, prod
from dlcoder.ops import _shapes as S


INDICES = ("int16", "int32", "int64")      # what TFLite's GATHER and GATHER_ND take


# ---- GATHER -----------------------------------------------------------------------------
def _gather_dims(node, g):
    """(batches, outer, coords, axis_size, inner) of TFLite's gather loop."""
    params, idx = (shape(g, t) for t in node.inputs[:2])
    axis = norm_axis(node.attrs.get("axis", 0), len(params))
    batch_dims = node.attrs.get("batch_dims", 0)
    if batch_dims < 0:
        batch_dims += len(idx)
    if not 0 <= batch_dims <= min(axis, len(idx)) or params[:batch_dims] != idx[:batch_dims]:
        raise UnsupportedError(f"GATHER batch_dims {batch_dims} with axis {axis}")
    if tuple(shape(g, node.outputs[0])) != params[:axis] + idx[batch_dims:] + params[axis + 1:]:
        raise UnsupportedError(f"GATHER output shape {list(shape(g, node.outputs[0]))}")
    return (prod(params[:batch_dims]), prod(params[batch_dims:axis]), prod(idx[batch_dims:]),
            params[axis], prod(params[axis + 1:]))


def _gather_check(node, g):
    if g.tensors[node.inputs[1]].dtype not in INDEX:
        return "indices must be int32 or int64"
    try:
        _gather_dims(node, g)
    except UnsupportedError as err:
        return str(err)
    return None


def _gather_eval(node, g, values):
    params, idx = values[:2]
    if params is None or idx is None or _gather_check(node, g):
        return None
    b, o, c, n, i = _gather_dims(node, g)
    k = np.asarray(idx, dtype=np.int64).reshape(b, 1, c, 1)
    if np.any(k < 0) or (b * o and np.any(k >= n)):
        return None     # the run fails, as TFLite's does (indexing.h: gather_indices_ok)
    src = np.asarray(params).reshape(b, o, n, i)
    grid = np.ix_(range(b), range(o), range(c), range(i))
    return [src[grid[0], grid[1], k, grid[3]].reshape(g.tensors[node.outputs[0]].shape)]


def _gather_shape(node, g):
    """params[:axis] + indices[batch_dims:] + params[axis + 1:]; the first batch_dims dims
    (negative: counted from the indices' rank) are shared and come before the axis. The
    output is params' dtype; the indices int16, int32 or int64 (TFLite's gather.cc)."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "indices", INDICES)
    params, idx = S.in_shape(g, node, 0), S.in_shape(g, node, 1)
    a = S.dim_axis(node.attrs.get("axis", 0), len(params))
    asked = node.attrs.get("batch_dims", 0)
    b = asked + len(idx) if asked < 0 else asked
    if not 0 <= b <= min(a, len(idx)) or params[:b] != idx[:b]:
        S.fail(f"batch_dims {asked} does not fit axis {a}, params {list(params)} and indices "
               f"{list(idx)}")
    return [params[:a] + idx[b:] + params[a + 1:]]


@register("GATHER", header="indexing.h", dtypes=ANY, check=_gather_check, evaluate=_gather_eval,
          shape=_gather_shape)
def gather(node, g, e):
    params, idx = node.inputs[:2]
    b, o, c, n, i = _gather_dims(node, g)
    p = e.param("dlcoder_rt::GatherParams", cgen.struct_init("GatherParams",
        {"batches": b, "outer": o, "coords": c, "axis_size": n, "inner": i}))
    return (f"if (const int status = dlcoder_rt::gather<{ctype(g, params)}, {ctype(g, idx)}>("
            f"{p}, {e.src(params)}, {e.src(idx)}, {e.dst(node.outputs[0])})) return status;")


# ---- GATHER_ND --------------------------------------------------------------------------
def _gather_nd_check(node, g):
    params, idx = (shape(g, t) for t in node.inputs[:2])
    if g.tensors[node.inputs[1]].dtype not in INDICES:
        raise UnsupportedError("GATHER_ND indices must be int16, int32 or int64")
    if not params or not idx or not 1 <= idx[-1] <= min(len(params), MAX_DIMS):
        raise UnsupportedError(f"GATHER_ND of params {list(params)} with indices {list(idx)}")
    if tuple(shape(g, node.outputs[0])) != idx[:-1] + params[idx[-1]:]:
        raise UnsupportedError(f"GATHER_ND output shape {list(shape(g, node.outputs[0]))}")


def _gather_nd_eval(node, g, values):
    if not all_known(values, node) or checked(_gather_nd_check)(node, g):
        return None
    params, idx = np.asarray(values[0]), np.asarray(values[1], np.int64)
    nd = idx.shape[-1]
    tuples = idx.reshape(-1, nd)
    if not np.all((tuples >= 0) & (tuples < np.array(params.shape[:nd]))):
        return None     # the run fails, as TFLite's does
    rows = params.reshape((-1,) + params.shape[nd:])[
        np.ravel_multi_index(tuple(tuples.T), params.shape[:nd])]
    return [rows.reshape(shape(g, node.outputs[0]))]


def _gather_nd_shape(node, g):
    """indices[:-1] + params[nd:], nd = indices' last dim, at most the params' rank. The
    output is params' dtype; the indices int16, int32 or int64 (TFLite's gather_nd.cc)."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "indices", INDICES)
    params, idx = S.in_shape(g, node, 0), S.in_shape(g, node, 1)
    S.rank_at_least(params, 1, "params")
    S.rank_at_least(idx, 1, "indices")
    if idx[-1] > len(params):
        S.fail(f"indices {list(idx)} index {idx[-1]} dims of params {list(params)}")
    return [idx[:-1] + params[idx[-1]:]]


@register("GATHER_ND", header="indexing.h", dtypes=ANY, check=checked(_gather_nd_check),
          evaluate=_gather_nd_eval, shape=_gather_nd_shape)
def gather_nd(node, g, e):
    params, idx = node.inputs[:2]
    ps, nd = shape(g, params), shape(g, idx)[-1]
    pad = [0] * (MAX_DIMS - nd)
    p = e.param("dlcoder_rt::GatherNdParams", cgen.struct_init("GatherNdParams", {
        "slices": prod(shape(g, idx)[:-1]), "nd": nd, "slice": prod(ps[nd:]),
        "dims": cgen.array_init(list(ps[:nd]) + pad, "int64_t"),
        "strides": cgen.array_init(strides(ps)[:nd] + pad, "int64_t")}))
    return (f"if (const int status = dlcoder_rt::gather_nd<{ctype(g, params)}, {ctype(g, idx)}>("
            f"{p}, {e.src(params)}, {e.src(idx)}, {e.dst(node.outputs[0])})) return status;")


# ---- ONE_HOT ----------------------------------------------------------------------------
def _one_hot_dims(node, g):
    """(outer, depth, inner) of out[outer][depth][inner]; TFLite's only negative axis is -1."""
    idx, out = shape(g, node.inputs[0]), shape(g, node.outputs[0])
    axis = node.attrs.get("axis", -1)
    axis = len(idx) if axis == -1 else axis
    depth = const_ints(g, node.inputs[1], "depth", node)[0]
    if not 0 <= axis <= len(idx) or tuple(out) != idx[:axis] + (depth,) + idx[axis:]:
        raise UnsupportedError(f"ONE_HOT axis {node.attrs.get('axis', -1)} depth {depth} of "
                               f"indices {list(idx)} -> {list(out)}")
    return prod(idx[:axis]), depth, prod(idx[axis:])


def _one_hot_check(node, g):
    why = require_const(1)(node, g)
    if why is not None:
        raise UnsupportedError(why)
    if g.tensors[node.inputs[0]].dtype not in INDEX:
        raise UnsupportedError("ONE_HOT indices must be int32 or int64")
    if g.tensors[node.outputs[0]].dtype == "int16":
        raise UnsupportedError("int16 ONE_HOT (TFLite has no kernel for it)")
    _one_hot_dims(node, g)


def _one_hot_eval(node, g, values):
    if not all_known(values, node) or checked(_one_hot_check)(node, g):
        return None
    outer, depth, inner = _one_hot_dims(node, g)
    idx = np.asarray(values[0]).astype(np.int64).astype(np.int32).reshape(outer, 1, inner)
    hot = idx == np.arange(depth).reshape(1, depth, 1)
    on, off = (np.asarray(v).ravel()[0] for v in values[2:4])
    out = g.tensors[node.outputs[0]]
    return [np.where(hot, on, off).astype(out.dtype).reshape(out.shape)]


def _one_hot_shape(node, g):
    """depth (>= 0) inserted into the indices' shape at `axis`, in [-1, rank] (-1: last).
    The indices are int32 or int64, the depth int32 (or int64, whose low word TFLite reads
    as the same value); on_value and off_value have the output's dtype."""
    S.arity(node, 4)
    S.same_dtype(g, node, inputs=(2, 3))
    S.index_input(g, node, 0, "indices")
    S.index_input(g, node, 1, "depth")
    idx = S.in_shape(g, node, 0)
    for k, what in ((2, "on_value"), (3, "off_value")):
        if g.tensors[node.inputs[k]].size != 1:
            S.fail(f"{what} (input {k}) holds {g.tensors[node.inputs[k]].size} values, not one")
    a = node.attrs.get("axis", -1)
    if not -1 <= a <= len(idx):
        S.fail(f"axis {a} is out of range [-1, {len(idx)}]")
    a = len(idx) if a == -1 else a
    depth = S.const_scalar(g, node, 1, "depth")
    if depth < 0:
        S.fail(f"depth {depth} is negative")
    return [idx[:a] + (depth,) + idx[a:]]


@register("ONE_HOT", header="indexing.h", dtypes=ANY, check=checked(_one_hot_check),
          evaluate=_one_hot_eval, shape=_one_hot_shape)
def one_hot(node, g, e):
    idx, _, on, off = node.inputs
    outer, depth, inner = _one_hot_dims(node, g)
    p = e.param("dlcoder_rt::OneHotParams",
                cgen.struct_init("OneHotParams", {"outer": outer, "depth": depth, "inner": inner}))
    out = node.outputs[0]
    return (f"dlcoder_rt::one_hot<{ctype(g, out)}, {ctype(g, idx)}>({p}, {e.src(idx)}, "
            f"{e.src(on)}, {e.src(off)}, {e.dst(out)});")
