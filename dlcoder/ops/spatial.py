"""Spatial rearrangement and resizing of NHWC images: DEPTH_TO_SPACE, SPACE_TO_DEPTH,
MIRROR_PAD (pure index remappings, see _common.Move) and RESIZE_NEAREST_NEIGHBOR /
RESIZE_BILINEAR (resize.h).

DEPTH_TO_SPACE walks its output as [N, H, by, W, bx, C] and reads input channel
(by * block + bx) * C + c, TFLite's DCR order; SPACE_TO_DEPTH is the same walk reversed.
Both are a single six-dim box.

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
optimized kernel, which the interpreter runs for uint8; int8 bilinear uses the reference
kernel's 1/1024-unit integer coordinates and rounding.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import FLOAT, register
from dlcoder.ops._common import (Move, const_ints, ctype, dense_move, remap_hooks,
                                 require_const, shape, strides)
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
    n, h, w, c = _image(node, g)
    S.positive(node, "block_size")
    b = node.attrs["block_size"]
    if h % b or w % b:
        S.fail(f"a {h}x{w} image does not split into {b}x{b} blocks")
    return [(n, h // b, w // b, c * b * b)]


_remap("DEPTH_TO_SPACE", _depth_to_space, shape=_depth_to_space_shape)
_remap("SPACE_TO_DEPTH", _space_to_depth, shape=_space_to_depth_shape)


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
    return e.param("dlcoder_rt::ResizeParams", cgen.struct_init(dict(zip(names, geo))))


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
             "int8": ("int32_t", _bilinear_table_q, "ResizeAxisQ", "resize_bilinear_i8")}


def _bilinear_check(node, g):
    if g.tensors[node.inputs[0]].dtype not in _BILINEAR:
        return "only float32 and int8 images are supported"
    return _resize_check(node, g)


# int32 is the size input's dtype; the image must be float32 or int8 (_bilinear_check).
@register("RESIZE_BILINEAR", header="resize.h", dtypes=FLOAT | {"int8", "int32"},
          check=_bilinear_check, shape=_resize_shape)
def resize_bilinear(node, g, e):
    geo, align, half = _resize_geometry(node, g)
    x, out = node.inputs[0], node.outputs[0]
    frac_type, table, axis_type, kernel = _BILINEAR[g.tensors[x].dtype]
    axes = []
    for in_size, out_size in ((geo[1], geo[3]), (geo[2], geo[4])):
        lo, hi, frac = table(in_size, out_size, align, half)
        init = "{" + ", ".join((e.array("int32_t", lo), e.array("int32_t", hi),
                                e.array(frac_type, frac))) + "}"
        axes.append(e.param(f"dlcoder_rt::{axis_type}", init))
    return (f"dlcoder_rt::{kernel}({_params(e, geo)}, {axes[0]}, {axes[1]}, "
            f"{e.src(x)}, {e.dst(out)});")
