"""Slicing and replication: SPLIT, SPLIT_V, PACK, UNPACK, SLICE, STRIDED_SLICE, TILE,
BROADCAST_TO (pure index remappings) and GATHER (indices read at run time).

Every remapping op is planned here, at generation time, as a list of Moves (_common.py):
boxes whose source and destination offsets are affine in the box index. A strided slice
is one box whose source strides are the slice steps (negative for reversed axes); a split
output, a packed input or an unpacked output is one box at a column offset; TILE is one
box over the interleaved (repeat, dim) space whose repeat strides are zero; BROADCAST_TO
reads with zero strides on broadcast dims. The Moves become copy_loop calls (memcpy on
contiguous runs) and also evaluate the op in numpy for constant folding.

STRIDED_SLICE follows TFLite's kernel: the begin/end/strides spec is first expanded to one
entry per "effective" axis (the input with new_axis dims inserted; the ellipsis expanded
to full ranges, as are axes past the spec), then each axis gets its first index and its
end the way strided_slice_logic.h's StridedSliceStartForAxis / StridedSliceEndForAxis do
(negative indices wrap, clamping depends on the step's sign, masks override, `offset`
makes end relative to the start, a shrunk axis takes one element).
"""
from __future__ import annotations

import math

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, INDEX, register
from dlcoder.ops._common import (Move, broadcast_strides, const_ints, ctype, dense_move,
                                 norm_axis, remap_hooks, shape, strides)


def _remap(*names, const=(), dtypes=ANY):
    """Register a data-movement op from its plan(node, g) -> [Move]."""
    def deco(plan):
        emit, check, evaluate = remap_hooks(plan, *const)
        for name in names:
            register(name, header="movement.h", dtypes=dtypes, check=check, evaluate=evaluate)(emit)
        return plan
    return deco


def _column_moves(g, x, outs, axis, input_pos=0):
    """Each output takes the next columns of x along `axis` (SPLIT / SPLIT_V)."""
    in_st = strides(shape(g, x))
    moves, col = [], 0
    for k, t in enumerate(outs):
        moves.append(dense_move(shape(g, t), in_st, col * in_st[axis], input_pos, k))
        col += shape(g, t)[axis]
    if col != shape(g, x)[axis]:
        raise UnsupportedError(f"split sizes add up to {col}, not {shape(g, x)[axis]}")
    return moves


@_remap("SPLIT", const=(0,))
def split(node, g):
    axis_t, x = node.inputs[:2]
    axis = norm_axis(const_ints(g, axis_t, "axis", node)[0], len(shape(g, x)))
    n = node.attrs.get("num_splits", len(node.outputs))
    if n != len(node.outputs) or shape(g, x)[axis] % n:
        raise UnsupportedError(f"SPLIT of {shape(g, x)[axis]} into {n} equal parts")
    return _column_moves(g, x, node.outputs, axis, input_pos=1)


@_remap("SPLIT_V", const=(1, 2))
def split_v(node, g):
    x = node.inputs[0]
    dims = shape(g, x)
    axis = norm_axis(const_ints(g, node.inputs[2], "axis", node)[0], len(dims))
    sizes = const_ints(g, node.inputs[1], "size_splits", node)
    if sizes.count(-1) > 1 or len(sizes) != len(node.outputs):
        raise UnsupportedError(f"SPLIT_V size_splits {sizes}")
    if -1 in sizes:   # the one -1 takes what the others leave
        sizes[sizes.index(-1)] = dims[axis] - (sum(sizes) + 1)
    if any(shape(g, t)[axis] != s for t, s in zip(node.outputs, sizes)):
        raise UnsupportedError(f"SPLIT_V size_splits {sizes} do not match the output shapes")
    return _column_moves(g, x, node.outputs, axis)


@_remap("PACK")
def pack(node, g):
    out_shape = shape(g, node.outputs[0])
    axis = norm_axis(node.attrs.get("axis", 0), len(out_shape))
    out_st = strides(out_shape)
    row_st = tuple(out_st[:axis] + out_st[axis + 1:])   # input dims skip the packed axis
    return [Move(shape(g, t), tuple(strides(shape(g, t))), row_st, 0, k * out_st[axis], k, 0)
            for k, t in enumerate(node.inputs)]


@_remap("UNPACK")
def unpack(node, g):
    in_shape = shape(g, node.inputs[0])
    axis = norm_axis(node.attrs.get("axis", 0), len(in_shape))
    in_st = strides(in_shape)
    row_st = in_st[:axis] + in_st[axis + 1:]
    return [dense_move(shape(g, t), row_st, k * in_st[axis], 0, k)
            for k, t in enumerate(node.outputs)]


@_remap("SLICE", const=(1, 2))
def slice_(node, g):
    x, out = node.inputs[0], node.outputs[0]
    dims = shape(g, x)
    begin = const_ints(g, node.inputs[1], "begin", node)
    size = const_ints(g, node.inputs[2], "size", node)
    if len(begin) != len(dims) or len(size) != len(dims):
        raise UnsupportedError(f"SLICE begin {begin} / size {size} for rank {len(dims)}")
    size = [d - b if s == -1 else s for d, b, s in zip(dims, begin, size)]
    if any(b < 0 or s < 0 or b + s > d for d, b, s in zip(dims, begin, size)):
        raise UnsupportedError(f"SLICE begin {begin} size {size} out of range of {list(dims)}")
    if tuple(size) != tuple(shape(g, out)):
        raise UnsupportedError(f"SLICE size {size} does not match the output {shape(g, out)}")
    st = strides(dims)
    return [dense_move(size, st, sum(b * s for b, s in zip(begin, st)))]


# ---- STRIDED_SLICE ------------------------------------------------------------------------
def _bit(mask: int, i: int) -> bool:
    return i >= 0 and bool(mask >> i & 1)


def _effective_spec(node, g):
    """[(dim, begin, end, step, begin_masked, end_masked, shrink)] per effective axis."""
    a = node.attrs
    dims = shape(g, node.inputs[0])
    begin, end, step = (const_ints(g, node.inputs[i], what, node)
                        for i, what in ((1, "begin"), (2, "end"), (3, "strides")))
    n = len(begin)
    if len(end) != n or len(step) != n:
        raise UnsupportedError("STRIDED_SLICE begin, end and strides differ in length")
    ell, new = a.get("ellipsis_mask", 0), a.get("new_axis_mask", 0)
    added = sum(1 for i in range(n) if _bit(new, i) and not _bit(ell, i))
    rank = len(dims) + added
    # Which effective axes the ellipsis covers and which are new; a new-axis bit on the
    # ellipsis entry itself has no effect.
    ell_axes, new_axes, ell_start, expanded, i = set(), set(), rank, 0, 0
    while i < rank:
        if _bit(ell, i):
            ell_start = i
            stop = max(i + 1, min(i + 1 + added + len(dims) - n, rank))
            expanded = stop - i - 1
            ell_axes.update(range(i, stop))
            i = stop
            continue
        if _bit(new, i - expanded):
            new_axes.add(i)
        i += 1
    spec, shift, inserted = [], 0, 0
    for i in range(rank):
        if i in ell_axes:
            shift = max(0, i - ell_start)
            spec.append((dims[i - inserted], 0, 0, 1, True, True, False))
        elif i in new_axes:
            spec.append((1, 0, 1, 1, False, False, False))
            inserted += 1
        elif i >= n + expanded:
            spec.append((dims[i - inserted], 0, 0, 1, True, True, False))
        else:
            k = i - shift
            spec.append((dims[i - inserted], begin[k], end[k], step[k], _bit(a.get("begin_mask", 0), k),
                         _bit(a.get("end_mask", 0), k), _bit(a.get("shrink_axis_mask", 0), k)))
    return spec


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(v, hi))


def _axis_range(dim, begin, end, step, begin_masked, end_masked, shrink, offset):
    """(first index, element count) of one effective axis, as TFLite's kernel walks it."""
    if step == 0:
        raise UnsupportedError("STRIDED_SLICE with a zero stride")
    lo, hi = (0, dim) if step > 0 else (-1, dim - 1)
    start = _clamp(begin + dim if begin < 0 else begin, lo, hi)
    if begin_masked:
        start = 0 if step > 0 else dim - 1
    if shrink:
        return start, (0 if start >= dim else 1)
    stop = end + start if offset else end
    stop = _clamp(stop + dim if stop < 0 else stop, lo, hi)
    if end_masked:
        stop = dim if step > 0 else -1
    return start, max(0, math.ceil((stop - start) / step))


@_remap("STRIDED_SLICE", const=(1, 2, 3))
def strided_slice(node, g):
    spec = _effective_spec(node, g)
    offset = bool(node.attrs.get("offset", False))
    ranges = [_axis_range(*s, offset) for s in spec]
    counts = [c for c, s in zip((c for _, c in ranges), spec) if not s[6]]
    if tuple(counts) != tuple(shape(g, node.outputs[0])):
        raise UnsupportedError(f"STRIDED_SLICE gives shape {counts}, the model says "
                               f"{list(shape(g, node.outputs[0]))}")
    in_st = strides([s[0] for s in spec])
    src = sum(start * st for (start, count), st in zip(ranges, in_st) if count)
    return [dense_move([c for _, c in ranges], [s[3] * st for s, st in zip(spec, in_st)], src)]


# ---- replication --------------------------------------------------------------------------
@_remap("TILE", const=(1,))
def tile(node, g):
    x, out = node.inputs[0], node.outputs[0]
    dims = shape(g, x)
    reps = const_ints(g, node.inputs[1], "multiples", node)
    if len(reps) != len(dims) or tuple(r * d for r, d in zip(reps, dims)) != tuple(shape(g, out)):
        raise UnsupportedError(f"TILE multiples {reps} of {list(dims)}")
    # The output, read as interleaved (repeat_i, dim_i) axes, is dense; repeats read again.
    box, src_st = [], []
    for r, d, s in zip(reps, dims, strides(dims)):
        box += [r, d]
        src_st += [0, s]
    return [dense_move(box, src_st)]


@_remap("BROADCAST_TO", const=(1,))
def broadcast_to(node, g):
    x, out = node.inputs[0], node.outputs[0]
    out_shape = shape(g, out)
    target = const_ints(g, node.inputs[1], "shape", node)
    in_shape = (1,) * (len(out_shape) - len(shape(g, x))) + tuple(shape(g, x))
    if tuple(target) != tuple(out_shape) or len(in_shape) != len(out_shape) or any(
            i not in (1, o) for i, o in zip(in_shape, out_shape)):
        raise UnsupportedError(f"BROADCAST_TO {list(shape(g, x))} -> {target}")
    return [dense_move(out_shape, broadcast_strides(shape(g, x), out_shape))]


# ---- GATHER -------------------------------------------------------------------------------
def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


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
    return (_prod(params[:batch_dims]), _prod(params[batch_dims:axis]), _prod(idx[batch_dims:]),
            params[axis], _prod(params[axis + 1:]))


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
    src = np.asarray(params).reshape(b, o, n, i)
    k = np.asarray(idx, dtype=np.int64).reshape(b, 1, c, 1)
    ok = (k >= 0) & (k < n)   # out-of-range rows are zero, as in the kernel
    grid = np.ix_(range(b), range(o), range(c), range(i))
    rows = src[grid[0], grid[1], np.where(ok, k, 0), grid[3]]
    out = g.tensors[node.outputs[0]]
    return [np.where(ok, rows, np.zeros((), src.dtype)).reshape(out.shape)]


@register("GATHER", header="movement.h", dtypes=ANY, check=_gather_check, evaluate=_gather_eval)
def gather(node, g, e):
    params, idx = node.inputs[:2]
    b, o, c, n, i = _gather_dims(node, g)
    p = e.param("dlcoder_rt::GatherParams", cgen.struct_init(
        {"batches": b, "outer": o, "coords": c, "axis_size": n, "inner": i}))
    return (f"dlcoder_rt::gather<{ctype(g, params)}, {ctype(g, idx)}>({p}, {e.src(params)}, "
            f"{e.src(idx)}, {e.dst(node.outputs[0])});")

