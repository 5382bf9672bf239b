"""Spatial rearrangement and resizing of NHWC images: DEPTH_TO_SPACE, SPACE_TO_DEPTH,
SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, MIRROR_PAD (pure index remappings, see _common.Move)
and RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (resize.h).

DEPTH_TO_SPACE walks its output as [N, H, by, W, bx, C] and reads input channel
(by * block + bx) * C + c, TFLite's DCR order; SPACE_TO_DEPTH is the same walk reversed.
Both are a single six-dim box whose runs of block * C elements are contiguous on both sides:
one copy_runs call with the run length fixed at generation time (copy_loop's memcpy for
runs over SHORT_RUN_BYTES; movement.h).

SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND relate a "space" tensor [n, S1..SM, rest] and a
"batch" tensor [(s1..sM, n), J1..JM, rest] (the batch index is row-major over the block
shifts s_d in [0, b_d), then n):
    batch[s, n, j, rest] = space[n, j_d * b_d + s_d - p_d, rest]
where p_d is the leading padding (SPACE_TO_BATCH_ND) or crop (BATCH_TO_SPACE_ND), and a
space index outside [0, S_d) is padding (read as the pad value) or cropped (dropped). For
one shift s_d the valid j_d form one interval; neighbouring shifts whose intervals start
and end alike make one box, so each spatial dim splits into at most three runs of shifts
and the whole op into at most 3^M boxes, whatever the block size. TFLite takes rank 3 or
4 with rank - 2 block dims.

MIRROR_PAD maps each output index of an axis to an input index (TFLite's
GetInputDimension: REFLECT skips the edge element, SYMMETRIC repeats it). That map is a
few runs of step -1 / +1 / 0, so the padded tensor is the product of the axes' runs:
at most three runs per padded axis, one box (copy_loop call) per combination.

The resizes tabulate, per output row and per output column, the input row/column(s) to
read, computing coordinates in float32 exactly as TFLite's kernels do (scale =
in / out, or (in - 1) / (out - 1) with align_corners; half_pixel_centers shifts by half
a pixel; nearest rounds with floor, or round-half-away with align_corners, and clamps to
the image; bilinear keeps floor/ceil clamped to the image and the unclamped fraction).
uint8 nearest without either flag uses the 16.16 fixed-point scale of TFLite's
optimized kernel, which the interpreter runs for uint8; int8 and int16 bilinear use the
reference kernel's 1/1024-unit integer coordinates and rounding (ResizeBilinearInteger);
uint8 bilinear the float tables, summed in float32 + 0.5 and truncated (the optimized
kernel's ResizeBilinearGenericSmallChannel). Float bilinear picks its kernel path here
(_bilinear_path: TFLite's 2x special case, channel vectors, or flat rows for few channels),
so that a model compiles only the path it runs. Quantized resizes move the integers as they
are: TFLite neither requantizes nor checks that the output's quantization equals the
input's, and neither do we (tests/test_quantized_misc.py).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, FLOAT, register
from dlcoder.ops._common import (Move, collapse, const_ints, ctype, dense_move, emit_moves,
                                 eval_moves, remap_hooks, require_const, shape, strides)
from dlcoder.ops._hooks import all_known, checked, prod
from dlcoder.ops.movement import copy_call
from dlcoder.ops import _shapes as S

MOVABLE = frozenset({"float32", "int32", "int64", "bool", "int8", "uint8", "int16"})


def _remap(name, plan, const=(), shape=None):
    emit, check, evaluate = remap_hooks(plan, *const)
    register(name, header="movement.h", dtypes=MOVABLE, check=check, evaluate=evaluate,
             shape=shape)(emit)


def _image(node, g, k: int = 0) -> tuple:
    """Input k: a 4-D NHWC image."""
    dims = S.in_shape(g, node, k)
    S.rank_between(dims, 4, 4, "the image")
    return dims


def _nhwc(g, t, what):
    s = shape(g, t)
    if len(s) != 4:
        raise UnsupportedError(f"{what} needs a 4-D NHWC tensor, got {list(s)}")
    return s


# ---- DEPTH_TO_SPACE / SPACE_TO_DEPTH -------------------------------------------------------
def _depth_to_space(node, g):
    n, h, w, c_in = _nhwc(g, node.inputs[0], node.op)
    bs = node.attrs["block_size"]
    if bs < 1 or c_in % (bs * bs):
        raise UnsupportedError(f"DEPTH_TO_SPACE block {bs} with {c_in} channels")
    c = c_in // (bs * bs)
    # output axes (n, h, by, w, bx, c) -> input offsets
    return [dense_move((n, h, bs, w, bs, c), (h * w * c_in, w * c_in, bs * c, c_in, c, 1))]


def _space_to_depth(node, g):
    n, h, w, c = _nhwc(g, node.inputs[0], node.op)
    bs = node.attrs["block_size"]
    if bs < 1 or h % bs or w % bs:
        raise UnsupportedError(f"SPACE_TO_DEPTH block {bs} of a {h}x{w} image")
    # output axes (n, h, w, by, bx, c) -> input offsets
    return [dense_move((n, h // bs, w // bs, bs, bs, c),
                       (h * w * c, bs * w * c, bs * c, w * c, c, 1))]


def _depth_to_space_shape(node, g):
    """block_size x block_size groups of channels become pixels: [n, h*b, w*b, c/(b*b)]."""
    S.arity(node, 1)
    S.same_dtype(g, node)
    S.not_quantized(g, node, {"int16"})
    n, h, w, c = _image(node, g)
    S.positive(node, "block_size")
    b = node.attrs["block_size"]
    if c % (b * b):
        S.fail(f"{c} channels do not split into {b}x{b} blocks")
    return [(n, h * b, w * b, c // (b * b))]


def _space_to_depth_shape(node, g):
    """block_size x block_size pixels become channels: [n, h/b, w/b, c*b*b]."""
    S.arity(node, 1)
    S.same_dtype(g, node)
    S.not_quantized(g, node, {"int16"})
    n, h, w, c = _image(node, g)
    S.positive(node, "block_size")
    b = node.attrs["block_size"]
    if h % b or w % b:
        S.fail(f"a {h}x{w} image does not split into {b}x{b} blocks")
    return [(n, h // b, w // b, c * b * b)]


def _block_copy(plan):
    """The emit hook of DEPTH_TO_SPACE / SPACE_TO_DEPTH: their one box, whose runs of
    block * channels elements are contiguous on both sides, as one copy_runs call with the
    run length fixed (or copy_loop for runs long enough for memcpy)."""
    def emit(node, g, e):
        (m,) = plan(node, g)
        dims, (sa, sb) = collapse(list(m.dims), list(m.src_strides), list(m.dst_strides))
        itemsize = np.dtype(g.tensors[node.inputs[0]].dtype).itemsize
        return copy_call(e, dims, sa, sb, itemsize, e.src(node.inputs[0]), e.dst(node.outputs[0]))
    return emit


for _name, _plan, _rule in (("DEPTH_TO_SPACE", _depth_to_space, _depth_to_space_shape),
                            ("SPACE_TO_DEPTH", _space_to_depth, _space_to_depth_shape)):
    _, _check, _evaluate = remap_hooks(_plan)
    register(_name, header="movement.h", dtypes=MOVABLE, check=_check, evaluate=_evaluate,
             shape=_rule)(_block_copy(_plan))


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
        batch = (xs[0] * prod(block), *[p // b for p, b in zip(padded, block)], *xs[m + 1:])
    else:
        if xs[0] % prod(block):
            raise UnsupportedError(f"BATCH_TO_SPACE_ND: batch {xs[0]} is not a multiple of "
                                   f"the block size {prod(block)}")
        batch = tuple(xs)
        space = (xs[0] // prod(block),
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
    shift_st = [space[0] * bst[0] * prod(block[d + 1:]) for d in range(m)]
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
    S.same_quant(g, node)
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
    S.same_quant(g, node)
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
    return q.zero_point[0]


def _s2b_check(node, g):
    why = require_const(1, 2)(node, g)
    if why is not None:
        raise UnsupportedError(why)
    _block_spec(node, g)


def _s2b_eval(node, g, values):
    if not all_known(values, node) or checked(_s2b_check)(node, g):
        return None
    moves = _block_moves(node, g)
    moved = eval_moves(node, g, values, moves)[0]
    # what no Move writes is padding: find it by moving ones
    hit = eval_moves(node, g, [np.ones(shape(g, node.inputs[0]), bool)], moves)[0]
    return [np.where(hit != 0, moved, np.asarray(_pad_value(g, node.outputs[0]), moved.dtype))]


@register("SPACE_TO_BATCH_ND", header="movement.h", dtypes=ANY, check=checked(_s2b_check),
          evaluate=_s2b_eval, shape=_s2b_shape)
def space_to_batch(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    lines = []
    if g.tensors[out].size > g.tensors[x].size:      # padding positions
        ct = ctype(g, out)
        lines.append(f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, "
                     f"{cgen.literal(_pad_value(g, out), ct)}, {e.dst(out)});")
    return lines + emit_moves(node, g, e, _block_moves(node, g))


# ---- MIRROR_PAD ---------------------------------------------------------------------------
def _mirror_index(o: int, before: int, size: int, offset: int) -> int:
    """TFLite's input index of padded index o (offset 1 = REFLECT, 0 = SYMMETRIC)."""
    if o < before:
        first = before + offset - 1
        return first - min(o, first - offset)
    o -= before
    if o >= size:
        last = size - 1 - offset
        return last - min(o - size, last)
    return o


def _runs(indices):
    """Split an index map into (out_start, length, in_start, in_step) arithmetic runs."""
    runs, o = [], 0
    while o < len(indices):
        step = indices[o + 1] - indices[o] if o + 1 < len(indices) else 1
        n = 1
        while o + n < len(indices) and indices[o + n] - indices[o + n - 1] == step:
            n += 1
        runs.append((o, n, indices[o], step))
        o += n
    return runs


def _mirror_pad(node, g):
    x, out = node.inputs[0], node.outputs[0]
    dims, out_shape = shape(g, x), shape(g, out)
    pads = np.asarray(const_ints(g, node.inputs[1], "paddings", node)).reshape(-1, 2)
    offset = 1 if node.attrs.get("mode", "REFLECT") == "REFLECT" else 0
    if len(pads) != len(dims) or tuple(d + a + b for d, (a, b) in zip(dims, pads)) != tuple(out_shape):
        raise UnsupportedError(f"MIRROR_PAD paddings {pads.tolist()} of {list(dims)}")
    if (pads < 0).any() or any(a > d - offset or b > d - offset for d, (a, b) in zip(dims, pads)):
        raise UnsupportedError(f"MIRROR_PAD {node.attrs.get('mode')} paddings {pads.tolist()} "
                               f"are too large for {list(dims)}")
    per_axis = [_runs([_mirror_index(o, int(a), d, offset) for o in range(od)])
                for d, (a, _), od in zip(dims, pads, out_shape)]
    in_st, out_st = strides(dims), strides(out_shape)
    moves = []
    for box in itertools.product(*per_axis):
        moves.append(Move(tuple(r[1] for r in box), tuple(r[3] * s for r, s in zip(box, in_st)),
                          tuple(out_st), sum(r[2] * s for r, s in zip(box, in_st)),
                          sum(r[0] * s for r, s in zip(box, out_st))))
    return moves


def _mirror_pad_shape(node, g):
    """paddings [rank, 2]: REFLECT pads each side by less than the dim (the edge is not
    repeated), SYMMETRIC by at most the dim. TFLite checks neither; its kernel would read
    outside the input. The paddings are int32 or int64."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.same_quant(g, node)
    S.index_input(g, node, 1, "paddings")
    dims = S.in_shape(g, node, 0)
    mode = node.attrs.get("mode", "REFLECT")
    if mode not in ("REFLECT", "SYMMETRIC"):
        S.fail(f"mode {mode} is neither REFLECT nor SYMMETRIC")
    pads = S.const_pairs(g, node, 1, len(dims), "paddings")
    edge = 1 if mode == "REFLECT" else 0
    for i, (d, (a, b)) in enumerate(zip(dims, pads)):
        if max(a, b) > d - edge:
            S.fail(f"{mode} padding ({a}, {b}) of axis {i} is too large for its size {d}")
    return [tuple(d + a + b for d, (a, b) in zip(dims, pads))]


_remap("MIRROR_PAD", _mirror_pad, const=(1,), shape=_mirror_pad_shape)


# ---- resizing -----------------------------------------------------------------------------
def _scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def _nearest_table(in_size, out_size, align, half, dtype) -> list:
    if dtype == "uint8" and not align and not half:
        fixed = (in_size << 16) // out_size + 1
        return [min((i * fixed) >> 16, in_size - 1) for i in range(out_size)]
    scale = _scale(in_size, out_size, align)
    shift = np.float32(0.5 if half else 0.0)
    table = []
    for i in range(out_size):
        v = float((np.float32(i) + shift) * scale)
        k = min(math.floor(v + 0.5) if align else math.floor(v), in_size - 1)
        table.append(max(k, 0) if half else k)
    return table


def _bilinear_table(in_size, out_size, align, half):
    scale = _scale(in_size, out_size, align)
    lo, hi, frac = [], [], []
    for i in range(out_size):
        if half:
            v = (np.float32(i) + np.float32(0.5)) * scale - np.float32(0.5)
        else:
            v = np.float32(i) * scale
        lo.append(max(math.floor(v), 0))
        hi.append(min(math.ceil(v), in_size - 1))
        frac.append(v - np.float32(lo[-1]))
    return lo, hi, frac


def _resize_geometry(node, g):
    x, out = node.inputs[0], node.outputs[0]
    n, h, w, c = _nhwc(g, x, node.op)
    size = const_ints(g, node.inputs[1], "size", node)
    if len(size) != 2 or min(size) <= 0 or tuple(shape(g, out)) != (n, size[0], size[1], c):
        raise UnsupportedError(f"{node.op} to size {size} of {list(shape(g, x))}")
    align = bool(node.attrs.get("align_corners", False))
    half = bool(node.attrs.get("half_pixel_centers", False))
    return (n, h, w, size[0], size[1], c), align, half


def _resize_shape(node, g):
    """[n, height, width, c] with the size (input 1): two int32 values, positive for
    bilinear, which also cannot both align corners and shift half a pixel; nearest
    takes an empty size too (as TFLite)."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    n, _, _, c = _image(node, g)
    S.index_input(g, node, 1, "size", ("int32",))
    if S.vector(g, node, 1, "size") != 2:
        S.fail(f"size (input 1) has {S.vector(g, node, 1, 'size')} entries, not 2")
    h, w = S.const_ints(g, node, 1, "size")
    bilinear = node.op == "RESIZE_BILINEAR"
    if min(h, w) < int(bilinear):
        S.fail(f"size {h}x{w} must be {'positive' if bilinear else 'non-negative'}")
    if bilinear and node.attrs.get("align_corners") and node.attrs.get("half_pixel_centers"):
        S.fail("align_corners and half_pixel_centers are both set")
    return [(n, h, w, c)]


def _params(e, geo) -> str:
    names = ("batches", "in_h", "in_w", "out_h", "out_w", "depth")
    return e.param("dlcoder_rt::ResizeParams", cgen.struct_init("ResizeParams", dict(zip(names, geo))))


def _resize_check(node, g):
    why = require_const(1)(node, g)
    if why is None:
        try:
            _resize_geometry(node, g)
        except UnsupportedError as err:
            why = str(err)
    return why


def _nearest_tables(node, g):
    (n, h, w, oh, ow, c), align, half = _resize_geometry(node, g)
    dtype = g.tensors[node.inputs[0]].dtype
    return (_nearest_table(h, oh, align, half, dtype), _nearest_table(w, ow, align, half, dtype))


def _nearest_eval(node, g, values):
    if values[0] is None or _resize_check(node, g):
        return None
    ys, xs = _nearest_tables(node, g)
    return [np.asarray(values[0])[:, ys][:, :, xs]]


@register("RESIZE_NEAREST_NEIGHBOR", header="resize.h",
          dtypes={"float32", "uint8", "int8", "int16", "int32"},
          check=_resize_check, evaluate=_nearest_eval, shape=_resize_shape)
def resize_nearest_neighbor(node, g, e):
    geo, _, _ = _resize_geometry(node, g)
    ys, xs = _nearest_tables(node, g)
    x, out = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::resize_nearest<{ctype(g, x)}>({_params(e, geo)}, "
            f"{e.array('int32_t', ys)}, {e.array('int32_t', xs)}, {e.src(x)}, {e.dst(out)});")


def _trunc_div(a: int, b: int) -> int:
    """C++ integer division (rounds toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _bilinear_table_q(in_size, out_size, align, half):
    """int8: TFLite's 1/1024-unit coordinates -> (lo, hi, position past lo)."""
    if align and out_size > 1:
        scale = (((in_size - 1) << 10) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((in_size << 10) + out_size // 2) // out_size
    lo, hi, frac = [], [], []
    for i in range(out_size):
        v = i * scale + scale // 2 - (1 << 9) if half else i * scale
        lo.append(max(_trunc_div(v, 1 << 10), 0))
        hi.append(min(_trunc_div(v + (1 << 10) - 1, 1 << 10), in_size - 1))
        frac.append(v - (lo[-1] << 10))
    return lo, hi, frac


_BILINEAR = {"float32": ("float", _bilinear_table, "ResizeAxis", "resize_bilinear_f32"),
             "uint8": ("float", _bilinear_table, "ResizeAxis", "resize_bilinear_u8"),
             "int8": ("int32_t", _bilinear_table_q, "ResizeAxisQ", "resize_bilinear_i8"),
             "int16": ("int32_t", _bilinear_table_q, "ResizeAxisQ", "resize_bilinear_i16")}


# Float bilinear up to this many channels runs by flat rows (resize.h: BilinearPath), which
# measured faster than channel vectors there and slower from 32 channels on (AVX-512).
_FLAT_ROWS_MAX_DEPTH = 16


def _bilinear_path(geo, align, half) -> str:
    """resize.h's BilinearPath for a float image: TFLite's 2x special case exactly where
    TFLite takes it (neither flag, both sides doubled), else by the channel count. Flat
    rows interpolate along x, then y, which agrees with TFLite's four products on every
    inf and NaN (and overflow) only while each weight is in [0, 1]. A half-pixel
    upsample's first rows and columns are clamped (frac < 0: weights like 1.25 and -0.25
    on one pixel); the kernel makes those in TFLite's order (simd_resize.h:
    leading_outside), so flat rows need every weight after them in [0, 1]."""
    _, h, w, oh, ow, c = geo
    if not align and not half and (oh, ow) == (2 * h, 2 * w):
        return "kTwice"
    if c > _FLAT_ROWS_MAX_DEPTH:
        return "kGeneral"
    for n, m in ((h, oh), (w, ow)):
        inside = [0 <= f <= 1 for f in _bilinear_table(n, m, align, half)[2]]
        if not all(itertools.dropwhile(lambda ok: not ok, inside)):
            return "kGeneral"
    return "kFlatRows"


def _bilinear_check(node, g):
    if g.tensors[node.inputs[0]].dtype not in _BILINEAR:
        return "only float32, uint8, int8 and int16 images are supported"
    return _resize_check(node, g)


# int32 is the size input's dtype; the image must be float32 or int8 (_bilinear_check).
@register("RESIZE_BILINEAR", header="resize.h", dtypes=FLOAT | {"uint8", "int8", "int16", "int32"},
          check=_bilinear_check, shape=_resize_shape)
def resize_bilinear(node, g, e):
    geo, align, half = _resize_geometry(node, g)
    x, out = node.inputs[0], node.outputs[0]
    frac_type, table, axis_type, kernel = _BILINEAR[g.tensors[x].dtype]
    if g.tensors[x].dtype == "float32":
        kernel += f"<dlcoder_rt::BilinearPath::{_bilinear_path(geo, align, half)}>"
    axes = []
    for in_size, out_size in ((geo[1], geo[3]), (geo[2], geo[4])):
        lo, hi, frac = table(in_size, out_size, align, half)
        init = "{" + ", ".join((e.array("int32_t", lo), e.array("int32_t", hi),
                                e.array(frac_type, frac))) + "}"
        axes.append(e.param(f"dlcoder_rt::{axis_type}", init))
    return (f"dlcoder_rt::{kernel}({_params(e, geo)}, {axes[0]}, {axes[1]}, "
            f"{e.src(x)}, {e.dst(out)});")
