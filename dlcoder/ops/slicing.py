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

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, INDEX, register
from dlcoder.ops._hooks import prod
from dlcoder.ops._common import (Move, broadcast_strides, const_ints, ctype, dense_move,
                                 norm_axis, remap_hooks, shape, strides)
from dlcoder.ops import _shapes as S


def _remap(*names, const=(), dtypes=ANY, shape=None):
    """Register a data-movement op from its plan(node, g) -> [Move] and its shape rule."""
    def deco(plan):
        emit, check, evaluate = remap_hooks(plan, *const)
        for name in names:
            register(name, header="movement.h", dtypes=dtypes, check=check, evaluate=evaluate,
                     shape=shape)(emit)
        return plan
    return deco


def _count(node, attr: str) -> int:
    """A count attribute (num_splits, values_count, num): the op's number of tensors."""
    n = node.attrs.get(attr, 0)
    if not isinstance(n, int) or n < 1:
        S.fail(f"{attr} = {n} must be a positive count")
    return n


def _with(dims: tuple, axis: int, size: int) -> tuple:
    return dims[:axis] + (size,) + dims[axis + 1:]


def _split_axis(node, g, k: int, rank: int) -> int:
    """SPLIT / SPLIT_V's axis: TFLite reads the first value of input k, however many, as
    an int32, whatever its dtype: int32, or int64 (whose low word is the same value)."""
    S.index_input(g, node, k, "axis")
    values = S.const_ints(g, node, k, "axis")
    if not values:
        S.fail(f"axis (input {k}) is empty")
    return S.dim_axis(values[0], rank)


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


def _split_shape(node, g):
    """num_splits equal parts of input 1 along the axis that input 0 holds."""
    n = _count(node, "num_splits")
    S.arity(node, 2, n)
    S.same_dtype(g, node, inputs=(1,), outputs=range(n))
    dims = S.in_shape(g, node, 1)
    a = _split_axis(node, g, 0, len(dims))
    if dims[a] % n:
        S.fail(f"axis {a} of size {dims[a]} does not split into {n} equal parts")
    return [_with(dims, a, dims[a] // n)] * n


@_remap("SPLIT", const=(0,), shape=_split_shape)
def split(node, g):
    axis_t, x = node.inputs[:2]
    axis = norm_axis(const_ints(g, axis_t, "axis", node)[0], len(shape(g, x)))
    n = node.attrs.get("num_splits", len(node.outputs))
    if n != len(node.outputs) or shape(g, x)[axis] % n:
        raise UnsupportedError(f"SPLIT of {shape(g, x)[axis]} into {n} equal parts")
    return _column_moves(g, x, node.outputs, axis, input_pos=1)


def _split_v_shape(node, g):
    """Parts of the sizes in size_splits, one of which may be -1: what the others leave."""
    n = _count(node, "num_splits")
    S.arity(node, 3, n)
    S.same_dtype(g, node, outputs=range(n))
    S.index_input(g, node, 1, "size_splits")
    dims = S.in_shape(g, node, 0)
    if S.vector(g, node, 1, "size_splits") != n:
        S.fail(f"size_splits has {S.vector(g, node, 1, 'size_splits')} entries for {n} outputs")
    sizes = S.const_ints(g, node, 1, "size_splits")
    a = _split_axis(node, g, 2, len(dims))
    if sizes.count(-1) > 1 or min(sizes) < -1:
        S.fail(f"size_splits {sizes} may hold one -1, and otherwise sizes >= 0")
    given = sum(x for x in sizes if x != -1)
    if given > dims[a] or (given != dims[a] and -1 not in sizes):
        S.fail(f"size_splits {sizes} do not add up to the size {dims[a]} of axis {a}")
    return [_with(dims, a, dims[a] - given if x == -1 else x) for x in sizes]


@_remap("SPLIT_V", const=(1, 2), shape=_split_v_shape)
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


def _pack_shape(node, g):
    """values_count inputs of one shape, stacked along a new axis."""
    n = _count(node, "values_count")
    S.arity(node, n)
    S.same_dtype(g, node, inputs=range(n))
    S.same_quant(g, node, inputs=range(n))
    dims = S.in_shape(g, node, 0)
    for k in range(1, n):
        if S.in_shape(g, node, k) != dims:
            S.fail(f"input {k} of shape {list(S.in_shape(g, node, k))} differs from input 0's "
                   f"{list(dims)}")
    a = S.dim_axis(node.attrs.get("axis", 0), len(dims) + 1)
    return [dims[:a] + (n,) + dims[a:]]


@_remap("PACK", shape=_pack_shape)
def pack(node, g):
    out_shape = shape(g, node.outputs[0])
    axis = norm_axis(node.attrs.get("axis", 0), len(out_shape))
    out_st = strides(out_shape)
    row_st = tuple(out_st[:axis] + out_st[axis + 1:])   # input dims skip the packed axis
    return [Move(shape(g, t), tuple(strides(shape(g, t))), row_st, 0, k * out_st[axis], k, 0)
            for k, t in enumerate(node.inputs)]


def _unpack_shape(node, g):
    """The input's `num` slices along `axis`, which has size num (TFLite: input not empty)."""
    n = _count(node, "num")
    S.arity(node, 1, n)
    S.same_dtype(g, node, outputs=range(n))
    S.same_quant(g, node, outputs=range(n))
    dims = S.in_shape(g, node, 0)
    a = S.dim_axis(node.attrs.get("axis", 0), len(dims))
    if dims[a] != n:
        S.fail(f"num = {n}, but axis {a} of the input {list(dims)} has size {dims[a]}")
    if 0 in dims:
        S.fail(f"the input {list(dims)} is empty")
    return [dims[:a] + dims[a + 1:]] * n


@_remap("UNPACK", shape=_unpack_shape)
def unpack(node, g):
    in_shape = shape(g, node.inputs[0])
    axis = norm_axis(node.attrs.get("axis", 0), len(in_shape))
    in_st = strides(in_shape)
    row_st = in_st[:axis] + in_st[axis + 1:]
    return [dense_move(shape(g, t), row_st, k * in_st[axis], 0, k)
            for k, t in enumerate(node.outputs)]


def _slice_shape(node, g):
    """Per axis, begin in [0, dim] and size >= 0 with begin + size <= dim, or -1: the rest.
    (TFLite checks neither a negative begin nor the lists' length; its kernel would read
    out of bounds.) begin and size are int32 or int64, both one: TFLite reads size as
    begin's dtype."""
    S.arity(node, 3)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "begin")
    S.same_dtype(g, node, inputs=(1, 2), outputs=())
    dims = S.in_shape(g, node, 0)
    for k, what in ((1, "begin"), (2, "size")):
        if S.vector(g, node, k, what) != len(dims):
            S.fail(f"{what} has {S.vector(g, node, k, what)} entries for an input of rank "
                   f"{len(dims)}")
    begin, size = S.const_ints(g, node, 1, "begin"), S.const_ints(g, node, 2, "size")
    out = []
    for i, (d, b, n) in enumerate(zip(dims, begin, size)):
        n = d - b if n == -1 else n
        if not 0 <= b <= d or n < 0 or b + n > d:
            S.fail(f"axis {i}: begin {b} and size {size[i]} do not fit its size {d}")
        out.append(n)
    return [tuple(out)]


@_remap("SLICE", const=(1, 2), shape=_slice_shape)
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


def _effective_spec(node, dims, begin, end, step):
    """[(dim, begin, end, step, begin_masked, end_masked, shrink)] per effective axis, laid
    out as TFLite's BuildStridedSliceParams does. Masks that would make it read past the
    spec lists or past the input's dims (TFLite does not check) are an error."""
    a = node.attrs
    n = len(begin)
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
        if i not in new_axes and i - inserted >= len(dims):
            S.fail(f"the masks ask for more axes than the input's {len(dims)}")
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
            if k >= n:
                S.fail(f"the masks place axis {i} past the {n} begin/end/strides entries")
            spec.append((dims[i - inserted], begin[k], end[k], step[k], _bit(a.get("begin_mask", 0), k),
                         _bit(a.get("end_mask", 0), k), _bit(a.get("shrink_axis_mask", 0), k)))
    return spec


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(v, hi))


def _start(dim: int, begin: int, step: int, masked: bool) -> int:
    """TFLite's StridedSliceStartForAxis: a negative index counts from the end, then it is
    clamped to [0, dim] (step > 0) or [-1, dim - 1]; a begin mask starts at the first
    element walked."""
    if masked:
        return 0 if step > 0 else dim - 1
    lo, hi = (0, dim) if step > 0 else (-1, dim - 1)
    return _clamp(begin + dim if begin < 0 else begin, lo, hi)


def _stop(dim: int, end: int, step: int, masked: bool, start: int, offset: bool) -> int:
    """TFLite's StridedSliceEndForAxis; with `offset`, end counts from the start."""
    if masked:
        return dim if step > 0 else -1
    stop = end + start if offset else end
    lo, hi = (0, dim) if step > 0 else (-1, dim - 1)
    return _clamp(stop + dim if stop < 0 else stop, lo, hi)


def _axis_range(dim, begin, end, step, begin_masked, end_masked, shrink, offset):
    """(first index, element count) of one effective axis, as TFLite's kernel walks it."""
    if step == 0:
        raise UnsupportedError("STRIDED_SLICE with a zero stride")
    start = _start(dim, begin, step, begin_masked)
    if shrink:
        return start, int(0 <= start < dim)
    stop = _stop(dim, end, step, end_masked, start, offset)
    return start, max(0, -((start - stop) // step))


def _ss_lists(node, g, need_begin: bool):
    """begin, end and strides, of one length; begin None if not needed and not known."""
    n = S.vector(g, node, 1, "begin")
    for k, what in ((2, "end"), (3, "strides")):
        if S.vector(g, node, k, what) != n:
            S.fail(f"begin has {n} entries, {what} {S.vector(g, node, k, what)}")
    known = need_begin or g.const(node.inputs[1]) is not None
    begin = S.const_ints(g, node, 1, "begin") if known else None
    return begin, S.const_ints(g, node, 2, "end"), S.const_ints(g, node, 3, "strides")


def _strided_slice_shape(node, g):
    """TFLite's ResizeOutputTensor over the effective axes: ceil((stop - start) / step),
    computed in float32, at least 0; with `offset`, ceil(end / step), unclamped, end read at
    the effective axis (as TFLite does). A shrunk axis goes, and must index an element."""
    S.arity(node, 4)
    S.same_dtype(g, node)
    offset = bool(node.attrs.get("offset", False))
    dims = S.in_shape(g, node, 0)
    S.dtypes_in(g, node, {"int32"}, positions=(1, 2, 3))
    begin, end, step = _ss_lists(node, g, need_begin=not offset)
    spec = _effective_spec(node, dims, begin or [0] * len(end), end, step)
    out = []
    for i, (dim, b, e, st, b_masked, e_masked, shrink) in enumerate(spec):
        if st == 0:
            S.fail(f"strides {step} give axis {i} a zero step")
        start = _start(dim, b, st, b_masked)
        if shrink:
            if begin is not None and not 0 <= start < dim:
                S.fail(f"shrunk axis {i}: index {b} is out of range for its size {dim}")
            continue
        if offset and i >= len(end):
            S.fail(f"with offset, TFLite reads end[{i}], past its {len(end)} entries")
        length = end[i] if offset else _stop(dim, e, st, e_masked, start, False) - start
        out.append(max(0, int(np.ceil(np.float32(length) / np.float32(st)))))
    return [tuple(out)]


@_remap("STRIDED_SLICE", const=(1, 2, 3), shape=_strided_slice_shape)
def strided_slice(node, g):
    dims = shape(g, node.inputs[0])
    begin, end, step = (const_ints(g, node.inputs[i], what, node)
                        for i, what in ((1, "begin"), (2, "end"), (3, "strides")))
    if len(end) != len(begin) or len(step) != len(begin):
        raise UnsupportedError("STRIDED_SLICE begin, end and strides differ in length")
    spec = _effective_spec(node, dims, begin, end, step)
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
def _tile_shape(node, g):
    """Each axis repeated by its non-negative multiple (int32 or int64)."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "multiples")
    dims = S.in_shape(g, node, 0)
    if S.vector(g, node, 1, "multiples") != len(dims):
        S.fail(f"multiples has {S.vector(g, node, 1, 'multiples')} entries for an input of "
               f"rank {len(dims)}")
    reps = S.const_ints(g, node, 1, "multiples")
    if min(reps, default=0) < 0:
        S.fail(f"multiples {reps} must not be negative")
    return [tuple(d * r for d, r in zip(dims, reps))]


@_remap("TILE", const=(1,), shape=_tile_shape)
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


def _broadcast_to_shape(node, g):
    """The target shape (int32 or int64), of at least the input's rank; each input dim is 1
    or the target's."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "shape")
    dims = S.in_shape(g, node, 0)
    rank = S.vector(g, node, 1, "shape")
    target = S.const_ints(g, node, 1, "shape")
    if rank < len(dims) or min(target, default=0) < 0 or any(
            d not in (1, t) for d, t in zip(dims, target[rank - len(dims):])):
        S.fail(f"the input {list(dims)} does not broadcast to the shape {target}")
    return [tuple(target)]


@_remap("BROADCAST_TO", const=(1,), shape=_broadcast_to_shape)
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
INDICES = ("int16", "int32", "int64")      # what TFLite's GATHER and GATHER_ND take
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
    src = np.asarray(params).reshape(b, o, n, i)
    k = np.asarray(idx, dtype=np.int64).reshape(b, 1, c, 1)
    ok = (k >= 0) & (k < n)   # out-of-range rows are zero, as in the kernel
    grid = np.ix_(range(b), range(o), range(c), range(i))
    rows = src[grid[0], grid[1], np.where(ok, k, 0), grid[3]]
    out = g.tensors[node.outputs[0]]
    return [np.where(ok, rows, np.zeros((), src.dtype)).reshape(out.shape)]


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


@register("GATHER", header="movement.h", dtypes=ANY, check=_gather_check, evaluate=_gather_eval,
          shape=_gather_shape)
def gather(node, g, e):
    params, idx = node.inputs[:2]
    b, o, c, n, i = _gather_dims(node, g)
    p = e.param("dlcoder_rt::GatherParams", cgen.struct_init("GatherParams",
        {"batches": b, "outer": o, "coords": c, "axis_size": n, "inner": i}))
    return (f"dlcoder_rt::gather<{ctype(g, params)}, {ctype(g, idx)}>({p}, {e.src(params)}, "
            f"{e.src(idx)}, {e.dst(node.outputs[0])});")

