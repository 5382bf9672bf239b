"""Slicing and replication: SPLIT, SPLIT_V, PACK, UNPACK, SLICE, STRIDED_SLICE, TILE,
BROADCAST_TO (pure index remappings). (GATHER, whose indices are read at run time, is in
indexing.py.)

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

SLICE and STRIDED_SLICE may also take bounds computed at run time (begin, end or size an
input of the model, or computed from one). The output shape stays static: each output dim
the known bounds and masks fix is computed, and so is one whose bounds differ by a known
amount, such as x[:, b:b+k]'s (end - begin where the run-time terms cancel, _affine.py);
the others are the model's stored dims, which must then be concrete (no -1 in the shape
signature). The kernel (movement.h) computes the bounds the way TFLite does at run time
and returns kStatusShapeMismatch where they give another shape, kStatusIndexOutOfRange
where an index lies outside its axis (status.h).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcoder.codegen import cgen, runtime_facts
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, register
from dlcoder.ops._hooks import checked, prod
from dlcoder.ops._common import (MAX_DIMS, Move, broadcast_strides, const_ints, ctype,
                                 dense_move, norm_axis, remap_hooks, shape, strides)
from dlcoder.ops import _affine as A
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
    begin's dtype. A size known only at run time is the stored dim (_stored_dim); a size
    computed as a difference whose run-time terms cancel (end - begin) is known
    (_affine.py)."""
    S.arity(node, 3)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "begin")
    S.same_dtype(g, node, inputs=(1, 2), outputs=())
    dims = S.in_shape(g, node, 0)
    for k, what in ((1, "begin"), (2, "size")):
        if S.vector(g, node, k, what) != len(dims):
            S.fail(f"{what} has {S.vector(g, node, k, what)} entries for an input of rank "
                   f"{len(dims)}")
    begin, size = (A.values(g, node.inputs[k]) for k in (1, 2))
    out = []
    for i, d in enumerate(dims):
        b, n = begin[i], size[i]
        if b is not None and n is not None:
            n = d - b if n == -1 else n
            if not 0 <= b <= d or n < 0 or b + n > d:
                S.fail(f"axis {i}: begin {b} and size {size[i]} do not fit its size {d}")
        elif n is not None and n != -1:
            if not 0 <= n <= d:
                S.fail(f"axis {i}: size {n} does not fit its size {d}")
        else:
            unknown = "size (input 2)" if n is None else "begin (input 1)"
            n = _stored_dim(g, node, i, len(dims), unknown)
        out.append(n)
    return [tuple(out)]


def _slice_plan(node, g):
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


def _slice_params(node, g) -> dict:
    """SliceParams of a SLICE whose begin or size is known only at run time."""
    dims, counts = shape(g, node.inputs[0]), shape(g, node.outputs[0])
    _fits_kernel(node, dims)
    return {"rank": len(dims), "dims": _padded(dims), "counts": _padded(counts),
            "in_strides": _padded(strides(dims), "int64_t")}


def _emit_runtime_slice(node, g, e):
    x, begin, size = node.inputs
    p = e.param("dlcoder_rt::SliceParams", cgen.struct_init("SliceParams", _slice_params(node, g)))
    return (f"if (const int status = dlcoder_rt::slice<{ctype(g, x)}, {ctype(g, begin)}>({p}, "
            f"{e.src(x)}, {e.src(begin)}, {e.src(size)}, {e.dst(node.outputs[0])})) return status;")


# ---- STRIDED_SLICE ------------------------------------------------------------------------
def _bit(mask: int, i: int) -> bool:
    return i >= 0 and bool(mask >> i & 1)


class _Axis(NamedTuple):
    """One effective axis of a STRIDED_SLICE. k: its entry in begin / end / strides, or -1
    for a whole range (an ellipsis axis, a new axis, an axis past the spec)."""
    dim: int
    k: int
    begin: int
    end: int
    step: int
    begin_masked: bool
    end_masked: bool
    shrink: bool


def _effective_spec(node, dims, begin, end, step):
    """[_Axis] per effective axis, laid out as TFLite's BuildStridedSliceParams does; begin
    or end None: not known (its entries read 0). Masks that would make it read past the
    spec lists or past the input's dims (TFLite does not check) are an error."""
    a = node.attrs
    n = len(step)
    begin, end = begin or [0] * n, end or [0] * n
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
            spec.append(_Axis(dims[i - inserted], -1, 0, 0, 1, True, True, False))
        elif i in new_axes:
            spec.append(_Axis(1, -1, 0, 1, 1, False, False, False))
            inserted += 1
        elif i >= n + expanded:
            spec.append(_Axis(dims[i - inserted], -1, 0, 0, 1, True, True, False))
        else:
            k = i - shift
            if k >= n:
                S.fail(f"the masks place axis {i} past the {n} begin/end/strides entries")
            spec.append(_Axis(dims[i - inserted], k, begin[k], end[k], step[k],
                              _bit(a.get("begin_mask", 0), k), _bit(a.get("end_mask", 0), k),
                              _bit(a.get("shrink_axis_mask", 0), k)))
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


def _axis_range(ax: _Axis, offset: bool):
    """(first index, element count) of one effective axis, as TFLite's kernel walks it."""
    if ax.step == 0:
        raise UnsupportedError("STRIDED_SLICE with a zero stride")
    start = _start(ax.dim, ax.begin, ax.step, ax.begin_masked)
    if ax.shrink:
        return start, int(0 <= start < ax.dim)
    stop = _stop(ax.dim, ax.end, ax.step, ax.end_masked, start, offset)
    return start, max(0, -((start - stop) // ax.step))


def _stored_dim(g, node, pos: int, rank: int, unknown: str) -> int:
    """Output dim `pos` as the model stores it, for a dim that bounds known only at run time
    decide: the generated library is fixed to it, so it must be one (not a -1 placeholder)."""
    out = g.tensors[node.outputs[0]]
    if len(out.shape) != rank or (out.signature is not None and out.signature[pos] < 0):
        sig = "" if out.signature is None else f", signature {list(out.signature)}"
        raise UnsupportedError(f"needs a constant {unknown}: dim {pos} of the output depends on "
                               f"its values, and the model stores no fixed size there (output "
                               f"shape {list(out.shape)}{sig})")
    return out.shape[pos]


def _ss_lists(node, g, offset: bool):
    """begin and end per entry (None where known only at run time; with `offset` end must
    be known, its values give the shape), end - begin per entry where the run-time terms
    cancel (_affine.py), and strides (always needed), of one length."""
    n = S.vector(g, node, 1, "begin")
    for k, what in ((2, "end"), (3, "strides")):
        if S.vector(g, node, k, what) != n:
            S.fail(f"begin has {n} entries, {what} {S.vector(g, node, k, what)}")
    begin, end = node.inputs[1:3]
    ends = S.const_ints(g, node, 2, "end") if offset else A.values(g, end)
    return (A.values(g, begin), ends, A.differences(g, end, begin),
            S.const_ints(g, node, 3, "strides"))


def _strided_slice_shape(node, g):
    """TFLite's ResizeOutputTensor over the effective axes: ceil((stop - start) / step),
    computed in float32, at least 0; with `offset`, ceil(end / step), unclamped, end read at
    the effective axis (as TFLite does). A shrunk axis goes, and must index an element.
    An axis whose begin or end is known only at run time, and not masked, has
    ceil((end - begin) / step) elements where end - begin is known (x[:, b:b + k]: the
    bounds in range, as the kernel checks at run time), else it keeps the stored dim."""
    S.arity(node, 4)
    S.same_dtype(g, node)
    offset = bool(node.attrs.get("offset", False))
    dims = S.in_shape(g, node, 0)
    S.dtypes_in(g, node, {"int32"}, positions=(1, 2, 3))
    begin, end, diff, step = _ss_lists(node, g, offset)
    spec = _effective_spec(node, dims, [b or 0 for b in begin], [e or 0 for e in end], step)
    rank = sum(not ax.shrink for ax in spec)
    out = []
    for i, ax in enumerate(spec):
        if ax.step == 0:
            S.fail(f"strides {step} give axis {i} a zero step")
        start = _start(ax.dim, ax.begin, ax.step, ax.begin_masked)
        known_begin = ax.k < 0 or ax.begin_masked or begin[ax.k] is not None
        if ax.shrink:
            if known_begin and not 0 <= start < ax.dim:
                S.fail(f"shrunk axis {i}: index {ax.begin} is out of range for its size {ax.dim}")
            continue
        if offset and i >= len(end):
            S.fail(f"with offset, TFLite reads end[{i}], past its {len(end)} entries")
        if offset or (known_begin and (ax.k < 0 or ax.end_masked or end[ax.k] is not None)):
            stop = _stop(ax.dim, ax.end, ax.step, ax.end_masked, start, False)
            length = end[i] if offset else stop - start
        elif not (ax.begin_masked or ax.end_masked) and diff[ax.k] is not None:
            length = diff[ax.k]
        else:
            unknown = "begin (input 1)" if not known_begin else "end (input 2)"
            out.append(_stored_dim(g, node, len(out), rank, unknown))
            continue
        out.append(max(0, int(np.ceil(np.float32(length) / np.float32(ax.step)))))
    return [tuple(out)]


def _strided_slice_plan(node, g):
    dims = shape(g, node.inputs[0])
    begin, end, step = (const_ints(g, node.inputs[i], what, node)
                        for i, what in ((1, "begin"), (2, "end"), (3, "strides")))
    if len(end) != len(begin) or len(step) != len(begin):
        raise UnsupportedError("STRIDED_SLICE begin, end and strides differ in length")
    spec = _effective_spec(node, dims, begin, end, step)
    offset = bool(node.attrs.get("offset", False))
    ranges = [_axis_range(ax, offset) for ax in spec]
    counts = [c for (_, c), ax in zip(ranges, spec) if not ax.shrink]
    if tuple(counts) != tuple(shape(g, node.outputs[0])):
        raise UnsupportedError(f"STRIDED_SLICE gives shape {counts}, the model says "
                               f"{list(shape(g, node.outputs[0]))}")
    in_st = strides([ax.dim for ax in spec])
    src = sum(start * st for (start, count), st in zip(ranges, in_st) if count)
    return [dense_move([c for _, c in ranges], [ax.step * st for ax, st in zip(spec, in_st)], src)]


# _Axis field -> its bit in StridedSliceParams.masks (movement.h)
_MASKS = {name: runtime_facts.constant(c) for name, c in (
    ("begin_masked", "kSliceBeginMasked"), ("end_masked", "kSliceEndMasked"),
    ("shrink", "kSliceShrink"))}


def _strided_slice_params(node, g) -> dict:
    """StridedSliceParams of a STRIDED_SLICE whose begin or end is known only at run time:
    the effective axes, each with the count the generated output shape gives it."""
    step = const_ints(g, node.inputs[3], "strides", node)
    spec = _effective_spec(node, shape(g, node.inputs[0]), None, None, step)
    outs = iter(shape(g, node.outputs[0]))
    counts = [1 if ax.shrink else next(outs, -1) for ax in spec]
    if -1 in counts or next(outs, None) is not None or 0 in step:
        raise UnsupportedError(f"STRIDED_SLICE of the output {list(shape(g, node.outputs[0]))} "
                               f"with strides {step}")
    in_st = strides([ax.dim for ax in spec])
    _fits_kernel(node, [ax.dim for ax in spec], [ax.step * s for ax, s in zip(spec, in_st)])
    masks = [0 if ax.k < 0 else sum(bit for name, bit in _MASKS.items() if getattr(ax, name))
             for ax in spec]
    return {"rank": len(spec), "offset": int(bool(node.attrs.get("offset", False))),
            "dims": _padded([ax.dim for ax in spec]), "spec": _padded([ax.k for ax in spec]),
            "steps": _padded([ax.step for ax in spec]), "masks": _padded(masks),
            "counts": _padded(counts), "in_strides": _padded(in_st, "int64_t")}


def _emit_runtime_strided_slice(node, g, e):
    x, begin, end = node.inputs[:3]
    p = e.param("dlcoder_rt::StridedSliceParams",
                cgen.struct_init("StridedSliceParams", _strided_slice_params(node, g)))
    return (f"if (const int status = dlcoder_rt::strided_slice<{ctype(g, x)}>({p}, {e.src(x)}, "
            f"{e.src(begin)}, {e.src(end)}, {e.dst(node.outputs[0])})) return status;")


# ---- slices with bounds known only at run time ----------------------------------------------
def _padded(values, ctype_: str = "int32_t") -> str:
    return cgen.array_init(list(values) + [0] * (MAX_DIMS - len(values)), ctype_)


def _fits_kernel(node, dims, box_strides=()) -> None:
    """The runtime slice kernels take at most kMaxDims axes and 32-bit box strides."""
    if len(dims) > MAX_DIMS:
        raise UnsupportedError(f"{node.op} of {len(dims)} axes computed at run time "
                               f"(at most {MAX_DIMS})")
    if max([abs(v) for v in box_strides] + [prod(dims)], default=0) >= 2**31:
        raise UnsupportedError(f"{node.op}: tensor too large for 32-bit offsets")


def _register_slice(name, plan, bounds, const, shape_rule, params, emit_runtime):
    """An op whose `bounds` inputs may be known only at run time: then `emit_runtime`, whose
    kernel checks them; else the remapping `plan`, which needs the inputs `const`."""
    emit, check, evaluate = remap_hooks(plan, *const)

    def runtime(node, g):
        return any(g.const(node.inputs[k]) is None for k in bounds)

    def check_either(node, g):
        return checked(params)(node, g) if runtime(node, g) else check(node, g)

    def emit_either(node, g, e):
        return emit_runtime(node, g, e) if runtime(node, g) else emit(node, g, e)

    register(name, header="movement.h", dtypes=ANY, check=check_either, evaluate=evaluate,
             shape=shape_rule)(emit_either)


_register_slice("SLICE", _slice_plan, (1, 2), (1, 2), _slice_shape, _slice_params,
                _emit_runtime_slice)
_register_slice("STRIDED_SLICE", _strided_slice_plan, (1, 2), (1, 2, 3), _strided_slice_shape,
                _strided_slice_params, _emit_runtime_strided_slice)


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
