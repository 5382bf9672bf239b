"""ADD_N, CUMSUM, GATHER_ND, ONE_HOT, RANGE, TOPK_V2 (kernels in extra.h), the data
movements SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND and REVERSE_V2 (copy_loop boxes), and the
shape-only RANK and BROADCAST_ARGS, which fold at generation time (BROADCAST_ARGS needs
constant or static shapes).

SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND relate a "space" tensor [n, S1..SM, rest] and a
"batch" tensor [(s1..sM, n), J1..JM, rest] (the batch index is row-major over the block
shifts s_d in [0, b_d), then n):
    batch[s, n, j, rest] = space[n, j_d * b_d + s_d - p_d, rest]
where p_d is the leading padding (SPACE_TO_BATCH_ND) or crop (BATCH_TO_SPACE_ND), and a
space index outside [0, S_d) is padding (read as the pad value) or cropped (dropped). For
one shift s_d the valid j_d form one interval; neighbouring shifts whose intervals start
and end alike make one box, so each spatial dim splits into at most three runs of shifts
and the whole op into at most 3^M Moves (_common.py), whatever the block size.

TFLite limits: SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND take rank 3 or 4 with rank - 2 block
dims; REVERSE_V2 rejects non-contiguous axes; ADD_N has float32 and int32 kernels; ONE_HOT
has none for int16; an out-of-range GATHER_ND index fails TFLite's invoke and gives a
zero slice here.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, INDEX, NUMERIC, register
from dlcoder.ops._common import (MAX_DIMS, Move, const_ints, ctype, dense_move, emit_moves,
                                 eval_moves, norm_axis, remap_hooks, require_const, shape,
                                 strides)
from dlcoder.ops import _shapes as S


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def _checked(check_fn):
    """A check hook from a function that raises UnsupportedError."""
    def check(node, g):
        try:
            check_fn(node, g)
        except UnsupportedError as err:
            return str(err)
        return None
    return check


def _all_known(values, node) -> bool:
    return all(v is not None for t, v in zip(node.inputs, values) if t >= 0)


# ---- ADD_N ----------------------------------------------------------------------------
def _add_n_check(node, g):
    if any(shape(g, t) != shape(g, node.outputs[0]) for t in node.inputs):
        raise UnsupportedError("ADD_N inputs differ in shape (TFLite does not broadcast)")


def _add_n_eval(node, g, values):
    if not _all_known(values, node) or _checked(_add_n_check)(node, g):
        return None
    acc = np.array(values[0], copy=True)
    with np.errstate(over="ignore"):
        for v in values[1:]:
            acc = acc + v        # one input at a time, in order, in the tensors' dtype
    return [acc]


def _add_n_shape(node, g):
    """Two or more inputs of one shape and dtype: TFLite's ADD_N does not broadcast."""
    S.arity(node, (2, max(2, len(node.inputs))))
    S.same_dtype(g, node, inputs=range(len(node.inputs)))
    first = S.in_shape(g, node, 0)
    for k in range(1, len(node.inputs)):
        if S.in_shape(g, node, k) != first:
            S.fail(f"input {k} of shape {list(S.in_shape(g, node, k))} differs from input 0's "
                   f"{list(first)}")
    return [first]


@register("ADD_N", header="extra.h", dtypes={"float32", "int32"}, check=_checked(_add_n_check),
          evaluate=_add_n_eval, shape=_add_n_shape)
def add_n(node, g, e):
    out = node.outputs[0]
    n = g.tensors[out].size
    lines = [f"dlcoder_rt::copy({n}, {e.src(node.inputs[0])}, {e.dst(out)});"]
    lines += [f"dlcoder_rt::accumulate({n}, {e.src(t)}, {e.dst(out)});" for t in node.inputs[1:]]
    return lines


# ---- SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND ----------------------------------------------
def _block_spec(node, g):
    """(space shape, batch shape, block, leading pads or crops), checked against the model."""
    x, out = node.inputs[0], node.outputs[0]
    xs = shape(g, x)
    what = "paddings" if node.op == "SPACE_TO_BATCH_ND" else "crops"
    block = const_ints(g, node.inputs[1], "block_shape", node)
    pads = const_ints(g, node.inputs[2], what, node)
    m = len(block)
    if len(xs) not in (3, 4) or m != len(xs) - 2 or len(pads) != 2 * m:
        raise UnsupportedError(f"{node.op} of rank {len(xs)} with {m} block dims (TFLite "
                               "takes rank 3 or 4 with rank - 2 block dims)")
    if min(block) < 1 or min(pads) < 0:
        raise UnsupportedError(f"{node.op} block_shape {block} {what} {pads}")
    lo, hi = pads[0::2], pads[1::2]
    if node.op == "SPACE_TO_BATCH_ND":
        padded = [s + a + b for s, a, b in zip(xs[1:m + 1], lo, hi)]
        if any(p % b for p, b in zip(padded, block)):
            raise UnsupportedError(f"SPACE_TO_BATCH_ND: padded sizes {padded} are not "
                                   f"multiples of block_shape {block}")
        space = tuple(xs)
        batch = (xs[0] * _prod(block), *[p // b for p, b in zip(padded, block)], *xs[m + 1:])
    else:
        if xs[0] % _prod(block):
            raise UnsupportedError(f"BATCH_TO_SPACE_ND: batch {xs[0]} is not a multiple of "
                                   f"the block size {_prod(block)}")
        batch = tuple(xs)
        space = (xs[0] // _prod(block),
                 *[j * b - a - c for j, b, a, c in zip(xs[1:m + 1], block, lo, hi)], *xs[m + 1:])
        if min(space) < 0:
            raise UnsupportedError(f"BATCH_TO_SPACE_ND crops {pads} exceed the input")
    if tuple(shape(g, out)) != (batch if node.op == "SPACE_TO_BATCH_ND" else space):
        raise UnsupportedError(f"{node.op} output shape {list(shape(g, out))} does not match "
                               f"block_shape {block} and {what} {pads}")
    return space, batch, block, lo


def _shift_runs(b, p, space_size, batch_size):
    """[(first shift, shifts, first j, js)]: runs of shifts sharing their valid j interval."""
    runs = []
    for s in range(b):
        j0 = max(0, -((s - p) // b))                       # ceil((p - s) / b)
        j1 = min(batch_size, (space_size - 1 + p - s) // b + 1)
        key = (j0, max(0, j1 - j0))
        if runs and runs[-1][2:] == key:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1, *key)
        else:
            runs.append((s, 1, *key))
    return runs


def _block_moves(node, g):
    space, batch, block, lo = _block_spec(node, g)
    m = len(block)
    sst, bst = strides(space), strides(batch)
    shift_st = [space[0] * bst[0] * _prod(block[d + 1:]) for d in range(m)]
    rest = list(space[m + 1:])
    moves = []
    for combo in itertools.product(*[_shift_runs(block[d], lo[d], space[d + 1], batch[d + 1])
                                     for d in range(m)]):
        dims = [r[1] for r in combo] + [space[0]] + [r[3] for r in combo] + rest
        sp = ([sst[d + 1] for d in range(m)] + [sst[0]]
              + [block[d] * sst[d + 1] for d in range(m)] + sst[m + 1:])
        bt = shift_st + bst
        sp0 = sum((r[2] * block[d] + r[0] - lo[d]) * sst[d + 1] for d, r in enumerate(combo))
        bt0 = sum(r[2] * bst[d + 1] + r[0] * shift_st[d] for d, r in enumerate(combo))
        if node.op == "SPACE_TO_BATCH_ND":
            moves.append(Move(tuple(dims), tuple(sp), tuple(bt), sp0, bt0))
        else:
            moves.append(Move(tuple(dims), tuple(bt), tuple(sp), bt0, sp0))
    return moves


def _block_args(node, g):
    """(input dims, block_shape, [(before, after)] paddings or crops), as TFLite's Prepare
    checks them: a rank 3 or 4 input, one positive block size per spatial dim. The block
    and the paddings or crops are int32: the kernels read them as int32."""
    S.arity(node, 3)
    S.same_dtype(g, node)
    what = "paddings" if node.op == "SPACE_TO_BATCH_ND" else "crops"
    S.index_input(g, node, 1, "block_shape", ("int32",))
    S.index_input(g, node, 2, what, ("int32",))
    dims = S.in_shape(g, node, 0)
    S.rank_between(dims, 3, 4)
    m = len(dims) - 2
    if S.vector(g, node, 1, "block_shape") != m:
        S.fail(f"block_shape has {S.vector(g, node, 1, 'block_shape')} entries for {m} "
               f"spatial dims")
    block = S.const_ints(g, node, 1, "block_shape")
    if min(block) < 1:
        S.fail(f"block_shape {block} must be positive")
    return dims, block, S.const_pairs(g, node, 2, m, what)


def _s2b_shape(node, g):
    """Padded spatial dims divided by the block; the batch multiplied by its volume."""
    dims, block, pads = _block_args(node, g)
    out = [dims[0] * math.prod(block)]
    for i, (d, b, (lo, hi)) in enumerate(zip(dims[1:], block, pads)):
        if (d + lo + hi) % b:
            S.fail(f"spatial dim {i}: padded size {d + lo + hi} is not a multiple of the "
                   f"block {b}")
        out.append((d + lo + hi) // b)
    return [tuple(out) + dims[len(block) + 1:]]


def _b2s_shape(node, g):
    """Spatial dims multiplied by the block, then cropped; the batch divided by its volume."""
    dims, block, crops = _block_args(node, g)
    if dims[0] % math.prod(block):
        S.fail(f"batch {dims[0]} is not a multiple of the block volume {math.prod(block)}")
    out = [dims[0] // math.prod(block)]
    for i, (d, b, (lo, hi)) in enumerate(zip(dims[1:], block, crops)):
        if lo + hi > d * b:
            S.fail(f"spatial dim {i}: crops ({lo}, {hi}) exceed its size {d * b}")
        out.append(d * b - lo - hi)
    return [tuple(out) + dims[len(block) + 1:]]


_b2s_emit, _b2s_check, _b2s_eval = remap_hooks(_block_moves, 1, 2)
register("BATCH_TO_SPACE_ND", header="movement.h", dtypes=ANY, check=_b2s_check,
         evaluate=_b2s_eval, shape=_b2s_shape)(_b2s_emit)


def _pad_value(g, t) -> int:
    """TFLite pads quantized int8 / uint8 with the zero point, anything else with 0."""
    q = g.tensors[t].quant
    if q is None or g.tensors[t].dtype not in ("int8", "uint8"):
        return 0
    return int(q.zero_point.ravel()[0])


def _s2b_check(node, g):
    why = require_const(1, 2)(node, g)
    if why is not None:
        raise UnsupportedError(why)
    _block_spec(node, g)


def _s2b_eval(node, g, values):
    if not _all_known(values, node) or _checked(_s2b_check)(node, g):
        return None
    moves = _block_moves(node, g)
    moved = eval_moves(node, g, values, moves)[0]
    # what no Move writes is padding: find it by moving ones
    hit = eval_moves(node, g, [np.ones(shape(g, node.inputs[0]), bool)], moves)[0]
    return [np.where(hit != 0, moved, np.asarray(_pad_value(g, node.outputs[0]), moved.dtype))]


@register("SPACE_TO_BATCH_ND", header="movement.h", dtypes=ANY, check=_checked(_s2b_check),
          evaluate=_s2b_eval, shape=_s2b_shape)
def space_to_batch(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    lines = []
    if g.tensors[out].size > g.tensors[x].size:      # padding positions
        ct = ctype(g, out)
        lines.append(f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, "
                     f"{cgen.literal(_pad_value(g, out), ct)}, {e.dst(out)});")
    return lines + emit_moves(node, g, e, _block_moves(node, g))


# ---- REVERSE_V2 -------------------------------------------------------------------------
def _reverse_moves(node, g):
    dims = shape(g, node.inputs[0])
    axes = sorted(norm_axis(a, len(dims)) for a in const_ints(g, node.inputs[1], "axis", node))
    if any(b != a + 1 for a, b in zip(axes, axes[1:])):
        raise UnsupportedError(f"REVERSE_V2 axes {axes} are not contiguous (TFLite rejects them)")
    st = strides(dims)
    src = sum((dims[a] - 1) * st[a] for a in axes if dims[a])
    return [dense_move(dims, [-s if i in axes else s for i, s in enumerate(st)], src)]


def _check_axis_int32(node, g):
    return None if g.tensors[node.inputs[1]].dtype == "int32" else "the axis must be int32"


_rev_emit, _rev_check, _rev_eval = remap_hooks(_reverse_moves, 1)


def _reverse_check(node, g):
    return _check_axis_int32(node, g) or _rev_check(node, g)


def _reverse_shape(node, g):
    """The input's shape; the axes (int32, a list of at most rank entries) in range when
    known."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "axis", ("int32",))
    dims = S.in_shape(g, node, 0)
    if S.vector(g, node, 1, "axis") > len(dims):
        S.fail(f"axis lists {S.vector(g, node, 1, 'axis')} axes for an input of rank {len(dims)}")
    if g.const(node.inputs[1]) is not None:
        for a in S.const_ints(g, node, 1, "axis"):
            S.dim_axis(a, len(dims))
    return [dims]


register("REVERSE_V2", header="movement.h", dtypes=ANY, check=_reverse_check,
         evaluate=_rev_eval, shape=_reverse_shape)(_rev_emit)


# ---- CUMSUM -----------------------------------------------------------------------------
def _cumsum_axis(node, g) -> int:
    return norm_axis(const_ints(g, node.inputs[1], "axis", node)[0], len(shape(g, node.inputs[0])))


def _cumsum_check(node, g):
    why = require_const(1)(node, g) or _check_axis_int32(node, g)
    if why is not None:
        raise UnsupportedError(why)
    _cumsum_axis(node, g)


def _cumsum_eval(node, g, values):
    if not _all_known(values, node) or _checked(_cumsum_check)(node, g):
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


@register("CUMSUM", header="extra.h", dtypes=NUMERIC, check=_checked(_cumsum_check),
          evaluate=_cumsum_eval, shape=_cumsum_shape)
def cumsum(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    dims, axis = shape(g, x), _cumsum_axis(node, g)
    p = e.param("dlcoder_rt::CumsumParams", cgen.struct_init({
        "outer": _prod(dims[:axis]), "depth": dims[axis], "inner": _prod(dims[axis + 1:]),
        "exclusive": bool(node.attrs.get("exclusive", False)),
        "reverse": bool(node.attrs.get("reverse", False))}))
    return f"dlcoder_rt::cumsum({p}, {e.src(x)}, {e.dst(out)});"


# ---- GATHER_ND --------------------------------------------------------------------------
def _gather_nd_check(node, g):
    params, idx = (shape(g, t) for t in node.inputs[:2])
    if g.tensors[node.inputs[1]].dtype not in ("int16", "int32", "int64"):
        raise UnsupportedError("GATHER_ND indices must be int16, int32 or int64")
    if not params or not idx or not 1 <= idx[-1] <= min(len(params), MAX_DIMS):
        raise UnsupportedError(f"GATHER_ND of params {list(params)} with indices {list(idx)}")
    if tuple(shape(g, node.outputs[0])) != idx[:-1] + params[idx[-1]:]:
        raise UnsupportedError(f"GATHER_ND output shape {list(shape(g, node.outputs[0]))}")


def _gather_nd_eval(node, g, values):
    if not _all_known(values, node) or _checked(_gather_nd_check)(node, g):
        return None
    params, idx = np.asarray(values[0]), np.asarray(values[1], np.int64)
    nd = idx.shape[-1]
    tuples = idx.reshape(-1, nd)
    inside = np.all((tuples >= 0) & (tuples < np.array(params.shape[:nd])), axis=1)
    rows = params.reshape((-1,) + params.shape[nd:])[
        np.ravel_multi_index(tuple(np.where(inside[:, None], tuples, 0).T), params.shape[:nd])]
    rows[~inside] = 0
    return [rows.reshape(shape(g, node.outputs[0]))]


def _gather_nd_shape(node, g):
    """indices[:-1] + params[nd:], nd = indices' last dim, at most the params' rank. The
    output is params' dtype; the indices int16, int32 or int64 (TFLite's gather_nd.cc)."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "indices", ("int16", "int32", "int64"))
    params, idx = S.in_shape(g, node, 0), S.in_shape(g, node, 1)
    S.rank_at_least(params, 1, "params")
    S.rank_at_least(idx, 1, "indices")
    if idx[-1] > len(params):
        S.fail(f"indices {list(idx)} index {idx[-1]} dims of params {list(params)}")
    return [idx[:-1] + params[idx[-1]:]]


@register("GATHER_ND", header="extra.h", dtypes=ANY, check=_checked(_gather_nd_check),
          evaluate=_gather_nd_eval, shape=_gather_nd_shape)
def gather_nd(node, g, e):
    params, idx = node.inputs[:2]
    ps, nd = shape(g, params), shape(g, idx)[-1]
    pad = [0] * (MAX_DIMS - nd)
    p = e.param("dlcoder_rt::GatherNdParams", cgen.struct_init({
        "slices": _prod(shape(g, idx)[:-1]), "nd": nd, "slice": _prod(ps[nd:]),
        "dims": cgen.array_init(list(ps[:nd]) + pad, "int64_t"),
        "strides": cgen.array_init(strides(ps)[:nd] + pad, "int64_t")}))
    return (f"dlcoder_rt::gather_nd<{ctype(g, params)}, {ctype(g, idx)}>({p}, {e.src(params)}, "
            f"{e.src(idx)}, {e.dst(node.outputs[0])});")


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
    return _prod(idx[:axis]), depth, _prod(idx[axis:])


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
    if not _all_known(values, node) or _checked(_one_hot_check)(node, g):
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


@register("ONE_HOT", header="extra.h", dtypes=ANY, check=_checked(_one_hot_check),
          evaluate=_one_hot_eval, shape=_one_hot_shape)
def one_hot(node, g, e):
    idx, _, on, off = node.inputs
    outer, depth, inner = _one_hot_dims(node, g)
    p = e.param("dlcoder_rt::OneHotParams",
                cgen.struct_init({"outer": outer, "depth": depth, "inner": inner}))
    out = node.outputs[0]
    return (f"dlcoder_rt::one_hot<{ctype(g, out)}, {ctype(g, idx)}>({p}, {e.src(idx)}, "
            f"{e.src(on)}, {e.src(off)}, {e.dst(out)});")


# ---- RANGE ------------------------------------------------------------------------------
RANGE_DTYPES = ("int32", "int64", "float32")     # TFLite's range.cc
def _range_check(node, g):
    if len(shape(g, node.outputs[0])) != 1:
        raise UnsupportedError("RANGE output must be 1-D")
    if len({g.tensors[t].dtype for t in node.inputs + node.outputs}) != 1:
        raise UnsupportedError("RANGE start, limit, delta and output differ in dtype")


def _range_eval(node, g, values):
    start, _, delta = values
    if start is None or delta is None or _checked(_range_check)(node, g):
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
    the kernel writes that many elements (tests/models/more/range_runtime_*)."""
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


@register("RANGE", header="extra.h", dtypes=NUMERIC, check=_checked(_range_check),
          evaluate=_range_eval, shape=_range_shape)
def range_op(node, g, e):
    start, _, delta = node.inputs
    out = node.outputs[0]
    return (f"dlcoder_rt::range({g.tensors[out].size}, {e.src(start)}, {e.src(delta)}, "
            f"{e.dst(out)});")


# ---- TOPK_V2 ----------------------------------------------------------------------------
def _topk_dims(node, g):
    """(rows, row, k), checked against the output shapes."""
    x = shape(g, node.inputs[0])
    k = const_ints(g, node.inputs[1], "k", node)[0]
    if not x or not 0 <= k <= x[-1] or any(shape(g, t) != x[:-1] + (k,) for t in node.outputs):
        raise UnsupportedError(f"TOPK_V2 k={k} of input {list(x)}")
    return _prod(x[:-1]), x[-1], k


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


@register("TOPK_V2", header="extra.h", dtypes=ANY, check=_checked(_topk_check), shape=_topk_shape)
def topk(node, g, e):
    x, (values, indices) = node.inputs[0], node.outputs
    rows, row, k = _topk_dims(node, g)
    p = e.param("dlcoder_rt::TopKParams", cgen.struct_init({"rows": rows, "row": row, "k": k}))
    return (f"dlcoder_rt::topk<{ctype(g, x)}, {ctype(g, indices)}>({p}, {e.src(x)}, "
            f"{e.dst(values)}, {e.dst(indices)});")


# ---- RANK, BROADCAST_ARGS: values known from static shapes / constants --------------------
def _rank_eval(node, g, values):
    return [np.asarray(len(shape(g, node.inputs[0])), g.tensors[node.outputs[0]].dtype)]


def _broadcast_args_eval(node, g, values):
    if not _all_known(values, node):
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
