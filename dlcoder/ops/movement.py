"""Shape and data movement: RESHAPE family (copies where not aliased), TRANSPOSE (collapsed
to its minimal perm, then run copies or tiled matrix transposes: transpose.h),
CONCATENATION, PAD / PADV2, REVERSE_V2 (one copy_loop box with negative strides on the
reversed axes, which must be contiguous, as TFLite requires).

RESHAPE takes its new shape as TFLite's kernel picks it: from input 1 when that is an
int32 vector, else from the new_shape attribute (where a legacy [0] means a scalar); one
dimension may be -1, which takes what the others leave of the input's elements.
"""
from __future__ import annotations

import math

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, Fusion, register
from dlcoder.ops._common import (MAX_DIMS, check_activation, clamp_init, collapse, const_ints,
                                 ctype, dense_move, loop6, loop6_init, norm_axis, remap_hooks,
                                 require_const, shape, strides)
from dlcoder.ops._hooks import check_axis_int32
from dlcoder.ops import _shapes as S


def _reshape_eval(node, g, values):
    if values[0] is None:
        return None
    return [values[0].reshape(shape(g, node.outputs[0]))]


def _copy(node, g, e) -> str:
    x, out = node.inputs[0], node.outputs[0]
    return f"dlcoder_rt::copy({g.tensors[out].size}, {e.src(x)}, {e.dst(out)});"


# TFLite's parser copies new_shape and squeeze_dims into arrays of 8
MAX_LISTED_DIMS = 8


def _listed(node, attr: str) -> list:
    dims = list(node.attrs.get(attr, ()))
    if len(dims) > MAX_LISTED_DIMS:
        S.fail(f"{attr} lists {len(dims)} dimensions, TFLite reads at most {MAX_LISTED_DIMS}")
    return dims


def _requested_shape(node, g):
    """The new shape as TFLite's kernel picks it; None: input 1's value, not known now."""
    attr = _listed(node, "new_shape")
    if S.present(node, 1):
        t = g.tensors[node.inputs[1]]
        if len(t.shape) == 1 and t.dtype == "int32":
            v = g.const(node.inputs[1])
            return None if v is None else [int(x) for x in np.ravel(v)]
    return [] if attr == [0] else attr      # legacy converters wrote [0] for a scalar


def _resolve(dims, asked: list) -> tuple:
    """TFLite's ResolveOutputShape: at most one -1, which takes what the other dimensions
    leave of the input (0 if the input is empty), and as many elements as the input."""
    if asked.count(-1) > 1 or min(asked, default=0) < -1:
        S.fail(f"new shape {asked} has a negative dimension other than one -1")
    n = math.prod(dims)
    known = [d for d in asked if d != -1]
    out = asked
    if -1 in asked:
        fill = 0 if n == 0 and math.prod(known) else \
            math.prod(d for d in dims if d) // math.prod(d for d in known if d)
        out = [fill if d == -1 else d for d in asked]
    if math.prod(out) != n:
        S.fail(f"new shape {asked} does not hold the {n} elements of the input {list(dims)}")
    return tuple(out)


def _reshape_shape(node, g):
    """The data keeps its dtype. The shape input has no dtype rule: TFLite reads it only
    when it is an int32 vector, and else takes the attribute."""
    S.arity(node, (1, 2))
    S.same_dtype(g, node)
    dims = S.in_shape(g, node, 0)
    asked = _requested_shape(node, g)
    if asked is not None:
        return [_resolve(dims, asked)]
    # the shape is computed at run time: the stored one stands if it can be right
    out = g.tensors[node.outputs[0]]
    if len(out.shape) == S.vector(g, node, 1, "shape") and out.size == math.prod(dims):
        return [out.shape]
    why = (f"the new shape (input 1) is not known at generation time and the stored output "
           f"shape {list(out.shape)} does not fit the input {list(dims)}")
    if out.signature is not None and -1 in out.signature:
        raise UnsupportedError(why)
    S.fail(why)


def _squeeze_shape(node, g):
    """TFLite's squeeze: the listed axes (each of size 1), or else every size-1 axis."""
    S.arity(node, 1)
    S.same_dtype(g, node)
    dims = S.in_shape(g, node, 0)
    listed = _listed(node, "squeeze_dims")
    if not listed:
        return [tuple(d for d in dims if d != 1)]
    drop = {S.dim_axis(a, len(dims), "squeeze axis") for a in listed}
    for a in sorted(drop):
        if dims[a] != 1:
            S.fail(f"squeeze axis {a} has size {dims[a]}, not 1")
    return [tuple(d for i, d in enumerate(dims) if i not in drop)]


def _expand_dims_shape(node, g):
    """A 1 inserted before axis `axis` of the output: in [-rank - 1, rank]; the axis is
    int32 or int64, as TFLite reads it."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.same_quant(g, node)
    S.index_input(g, node, 1, "axis")
    dims = S.in_shape(g, node, 0)
    a = S.const_scalar(g, node, 1, "axis")
    if not -len(dims) - 1 <= a <= len(dims):
        S.fail(f"axis {a} is out of range for inserting a dimension into rank {len(dims)}")
    a %= len(dims) + 1
    return [dims[:a] + (1,) + dims[a:]]


_RESHAPES = {"RESHAPE": _reshape_shape, "SQUEEZE": _squeeze_shape,
             "EXPAND_DIMS": _expand_dims_shape}
for _name, _rule in _RESHAPES.items():
    register(_name, header="movement.h", dtypes=ANY, evaluate=_reshape_eval, shape=_rule,
             fusion=Fusion(view=True))(_copy)


def _transpose_eval(node, g, values):
    if values[0] is None or values[1] is None:
        return None
    return [np.transpose(values[0], [int(p) for p in values[1]])]


def _transpose_shape(node, g):
    """perm names every input axis once (negative: from the end). TFLite does not check
    for repeats, with which its kernel would read past the input, nor perm's dtype: it
    reads int32, so int32 is the only one read right."""
    S.arity(node, 2)
    S.same_dtype(g, node)
    S.index_input(g, node, 1, "perm", ("int32",))
    dims = S.in_shape(g, node, 0)
    if S.vector(g, node, 1, "perm") != len(dims):
        S.fail(f"perm has {S.vector(g, node, 1, 'perm')} entries for an input of rank {len(dims)}")
    asked = S.const_ints(g, node, 1, "perm")
    perm = [S.dim_axis(p, len(dims), "perm entry") for p in asked]
    if len(set(perm)) != len(perm):
        S.fail(f"perm {asked} names an axis twice")
    return [tuple(dims[p] for p in perm)]


# runs of at most this many bytes are copied with their length fixed at generation time
# (copy_runs); longer ones go through memcpy (copy_loop)
SHORT_RUN_BYTES = 256


def copy_call(e, dims, a_strides, b_strides, itemsize: int, src: str, dst: str) -> str:
    """The copy of a box of at most six dims (any order, collapsed here): copy_runs when
    its innermost run is contiguous on both sides and short, else copy_loop."""
    loop = loop6(dims or [1], a_strides or [1], b_strides or [1])
    params = e.param("dlcoder_rt::Loop6", loop6_init(loop))
    run = loop["dims"][-1]
    if loop["a_strides"][-1] == loop["b_strides"][-1] == 1 and run * itemsize <= SHORT_RUN_BYTES:
        return f"dlcoder_rt::copy_runs<{run}>({params}, {src}, {dst});"
    return f"dlcoder_rt::copy_loop({params}, {src}, {dst});"


def transpose_walk(in_shape, perm) -> tuple:
    """(dims, input strides, output strides) of the output's row-major walk, collapsed:
    size-1 dims dropped and dims that stay neighbours merged, so every perm is reduced to
    its minimal form ([1, 56, 56, 64] perm [0, 3, 1, 2] is a 3136 x 64 matrix transpose).

    >>> transpose_walk((1, 56, 56, 64), (0, 3, 1, 2))
    ([64, 3136], [1, 64], [3136, 1])
    >>> transpose_walk((2, 3, 4, 5), (0, 2, 1, 3))
    ([2, 4, 3, 5], [60, 5, 20, 1], [60, 15, 5, 1])
    """
    in_st = strides(in_shape)
    out_shape = [in_shape[p] for p in perm]
    dims, (sa, sb) = collapse(out_shape, [in_st[p] for p in perm], strides(out_shape))
    return dims, sa, sb


def _transpose_params(dims, sa, sb) -> str:
    """The TransposeParams initializer of a walk whose innermost dim moves: the matrix of
    the output's last dim (rows) and the input's innermost dim (cols, input stride 1),
    repeated over the other dims (transpose.h)."""
    k = sa.index(1)
    outer = [i for i in range(len(dims) - 1) if i != k]
    if len(outer) > MAX_DIMS - 1:
        raise UnsupportedError(f"TRANSPOSE over {len(dims)} dims that do not collapse (at most "
                               f"{MAX_DIMS + 1})")
    pad = MAX_DIMS - 1 - len(outer)
    loop = {"dims": [1] * pad + [dims[i] for i in outer] + [1],
            "a_strides": [0] * pad + [sa[i] for i in outer] + [0],
            "b_strides": [0] * pad + [sb[i] for i in outer] + [0]}
    return "{" + ", ".join([loop6_init(loop), str(dims[-1]), str(dims[k]), str(sa[-1]),
                            str(sb[k])]) + "}"


@register("TRANSPOSE", header="transpose.h", dtypes=ANY, check=require_const(1),
          evaluate=_transpose_eval, shape=_transpose_shape)
def transpose(node, g, e):
    """Copies of whole runs when the input's innermost dim stays innermost, else tiled
    matrix transposes (transpose.h)."""
    x, out = node.inputs[0], node.outputs[0]
    in_shape = shape(g, x)
    perm = [norm_axis(p, len(in_shape)) for p in const_ints(g, node.inputs[1], "perm", node)]
    dims, sa, sb = transpose_walk(in_shape, perm)
    itemsize = np.dtype(g.tensors[x].dtype).itemsize
    if not dims or sa[-1] == 1 or g.tensors[out].size == 0:
        return copy_call(e, dims, sa, sb, itemsize, e.src(x), e.dst(out))
    params = e.param("dlcoder_rt::TransposeParams", _transpose_params(dims, sa, sb))
    return f"dlcoder_rt::transpose({params}, {e.src(x)}, {e.dst(out)});"


def requant_table(src: tuple, dst: tuple) -> np.ndarray:
    """uint8 -> uint8 as TFLite's ConcatenationWithScaling requantizes an input of
    (scale, zero point) `src` to the output's `dst`, for every input value: in float32,
    scale = src_scale * (1 / dst_scale), bias = -src_zp * scale, value = q * scale + bias
    (each operation rounded to float32), std::round (halves away from 0), the cast to int32
    (x86 gives INT32_MIN past its range), + dst_zp, clamped to [0, 255]."""
    f = np.float32
    with np.errstate(over="ignore", invalid="ignore"):
        scale = f(src[0]) * (f(1) / f(dst[0]))
        bias = f(-src[1]) * scale
        x = (np.arange(256, dtype=f) * scale + bias).astype(np.float64)
    r = np.sign(x) * np.floor(np.abs(x) + 0.5)
    r = np.where(np.isfinite(r) & (r >= -2.0 ** 31) & (r < 2.0 ** 31), r, -2.0 ** 31)
    v = (r.astype(np.int64) + dst[1] + 2 ** 31) % 2 ** 32 - 2 ** 31       # int32 wraparound
    return np.clip(v, 0, 255).astype(np.uint8)


def _requantized(node, g) -> dict:
    """Input position -> its requantization table, for the uint8 inputs whose scale or
    zero point differ from the output's (TFLite copies the others' bytes; int8 and int16
    inputs it never requantizes: their shape rule requires what makes a copy exact)."""
    out = node.outputs[0]
    if g.tensors[out].dtype != "uint8":
        return {}
    want = S.tflite_params(g, out)
    return {k: requant_table(S.tflite_params(g, t), want) for k, t in enumerate(node.inputs)
            if S.tflite_params(g, t) != want}


def _concat_eval(node, g, values):
    if any(v is None for v in values) or node.attrs.get("fused_activation_function", "NONE") != "NONE":
        return None
    tables = _requantized(node, g)
    values = [tables[k][np.asarray(v)] if k in tables else v for k, v in enumerate(values)]
    return [np.concatenate(values, axis=node.attrs.get("axis", 0))]


def _concat_shape(node, g):
    """Inputs of one rank that agree beside `axis`, where their sizes add up; inputs and
    output of one dtype, float32 if there is a fused activation (the emitted clamp is a
    float one; TFLite's current Prepare takes no activation at all)."""
    S.arity(node, (1, max(1, len(node.inputs))))
    act = S.activation(node)
    kind = S.same_dtype(g, node, inputs=range(len(node.inputs)))
    if act != "NONE" and kind != "float32":
        S.fail(f"a fused activation {act} on {kind} data")
    # TFLite's Prepare: int8 inputs of the output's quantization (it copies their bytes),
    # int16 ones of zero point 0 (it copies them whatever their scales); uint8 inputs of
    # another quantization it requantizes (_requantized)
    if kind == "int8":
        S.same_quant(g, node, inputs=range(len(node.inputs)))
    if kind == "int16":
        for what, t in [(f"input {k}", t) for k, t in enumerate(node.inputs)] + \
                       [("output 0", node.outputs[0])]:
            if S.tflite_params(g, t)[1] != 0:
                S.fail(f"{what} '{g.tensors[t].name}' is int16 with zero point "
                       f"{S.tflite_params(g, t)[1]}: TFLite's int16 CONCATENATION takes zero "
                       f"point 0 only")
    if kind == "uint8" and S.tflite_params(g, node.outputs[0])[0] == 0.0 and \
            any(S.tflite_params(g, t) != (0.0, 0) for t in node.inputs):
        raise UnsupportedError("a quantized uint8 input and an output without a quantization "
                               "scale: TFLite would requantize by 1 / 0")
    first = S.in_shape(g, node, 0)
    a = S.dim_axis(node.attrs.get("axis", 0), len(first))
    total = 0
    for k in range(len(node.inputs)):
        dims = S.in_shape(g, node, k)
        if len(dims) != len(first) or any(d != f for i, (d, f) in enumerate(zip(dims, first))
                                          if i != a):
            S.fail(f"input {k} of shape {list(dims)} does not fit input 0's {list(first)} "
                   f"beside axis {a}")
        total += dims[a]
    return [first[:a] + (total,) + first[a + 1:]]


@register("CONCATENATION", header="movement.h", dtypes=ANY, check=check_activation,
          evaluate=_concat_eval, shape=_concat_shape, fusion=Fusion(takes_clamp=True))
def concatenation(node, g, e):
    out = node.outputs[0]
    out_shape = shape(g, out)
    axis = norm_axis(node.attrs.get("axis", 0), len(out_shape))
    outer = int(np.prod(out_shape[:axis], dtype=np.int64))
    inner = int(np.prod(out_shape[axis + 1:], dtype=np.int64))
    rows = [shape(g, t)[axis] * inner for t in node.inputs]
    tables = _requantized(node, g)
    if outer > 1 and not tables and _short_rows(rows, np.dtype(g.tensors[out].dtype).itemsize):
        kept = [(t, row) for t, row in zip(node.inputs, rows) if row]
        return [f"dlcoder_rt::concat_short_rows<{ctype(g, out)}, {', '.join(str(r) for _, r in kept)}>("
                f"par, {outer}, {{{', '.join(e.src(t) for t, _ in kept)}}}, {e.dst(out)});"
                ] + _concat_clamp(node, g, e, out)
    lines, col = [], 0
    for k, (t, row) in enumerate(zip(node.inputs, rows)):
        if k in tables:
            lines.append(f"dlcoder_rt::map_rows(par, {outer}, {row}, {sum(rows)}, {col}, "
                         f"{e.array('uint8_t', tables[k])}, {e.src(t)}, {e.dst(out)});")
        else:
            lines.append(f"dlcoder_rt::copy_rows<{ctype(g, out)}>(par, {outer}, {row}, {sum(rows)}, "
                         f"{col}, {e.src(t)}, {e.dst(out)});")
        col += row
    return lines + _concat_clamp(node, g, e, out)


# With every input's row at most SHORT_RUN_BYTES, and at most this many inputs, a
# CONCATENATION goes output row by output row with fixed-size copies (movement.h:
# concat_short_rows); longer rows are one memcpy each, input by input. (8-bit
# concatenations of 16 and 32 channels over 112 x 112 pixels took 1.23x XNNPACK's time
# input by input.)
SHORT_ROW_INPUTS = 16


def _short_rows(rows, itemsize) -> bool:
    return 0 < max(rows) and max(rows) * itemsize <= SHORT_RUN_BYTES and len(rows) <= SHORT_ROW_INPUTS


def _concat_clamp(node, g, e, out) -> list:
    if node.attrs.get("fused_activation_function", "NONE") == "NONE":
        return []
    return [f"dlcoder_rt::clamp_all<float>({g.tensors[out].size}, {e.dst(out)}, {clamp_init(node)});"]


def _quantized_pad(node, g) -> bool:
    """Whether TFLite's pad.cc pads in the quantized domain (EvalInt): uint8 always, int8
    and int16 when the input is quantized. Then, without a value input, it pads with the
    output's zero point; a value input must have the output's scale and zero point, and
    its (already quantized) bytes are the padding."""
    x = g.tensors[node.inputs[0]]
    return x.dtype == "uint8" or (x.dtype in ("int8", "int16") and x.quant is not None)


def _pad_value(node, g):
    # TFLite's PAD and PADV2 are one kernel: either takes the value as input 2
    if len(node.inputs) > 2 and node.inputs[2] >= 0:
        return np.asarray(g.const(node.inputs[2])).ravel()[0]
    if _quantized_pad(node, g):
        return S.tflite_params(g, node.outputs[0])[1]
    return 0


# the paddings dtypes TFLite's pad.cc reads (it takes bool too, which no converter writes)
PADDINGS = ("int8", "int16", "int32", "int64")


def _pad_shape(node, g):
    """paddings: [rank, 2] non-negative amounts before and after each axis; the value to
    pad with, if given, is one element of the data's dtype."""
    S.arity(node, (2, 3))
    S.same_dtype(g, node, inputs=(0, 2))
    S.index_input(g, node, 1, "paddings", PADDINGS)
    dims = S.in_shape(g, node, 0)
    if S.present(node, 2) and g.tensors[node.inputs[2]].size != 1:
        S.fail(f"the pad value (input 2) holds {g.tensors[node.inputs[2]].size} values, not one")
    pads = S.const_pairs(g, node, 1, len(dims), "paddings")
    if _quantized_pad(node, g):
        kind = S.dtype(g, node.outputs[0])
        if S.present(node, 2):
            S.same_quant(g, node, inputs=(2,))
        elif not np.iinfo(kind).min <= S.tflite_params(g, node.outputs[0])[1] <= np.iinfo(kind).max:
            S.fail(f"the output's zero point {S.tflite_params(g, node.outputs[0])[1]}, which "
                   f"TFLite pads {kind} data with, is out of the {kind} range")
    return [tuple(d + a + b for d, (a, b) in zip(dims, pads))]


def _padding(node, g):
    """(paddings, value) of a PAD whose paddings and value are constants, else None
    (passes/fuse_pad)."""
    pads = g.const(node.inputs[1])
    if len(node.inputs) > 2 and node.inputs[2] >= 0 and g.const(node.inputs[2]) is None:
        return None
    return None if pads is None else (pads, float(_pad_value(node, g)))


def pad_levels(dims: list, pads: list) -> list:
    """[(extent, before, after)] per level of pad.h's PadParams, outermost first. Walking
    from the innermost axis out, an axis joins the level inside it when that level is not
    padded (a run of unpadded rows is just a longer row, and the paddings then count whole
    runs); so trailing unpadded axes vanish into the last level, which counts elements and
    is contiguous on both sides, and at most one level in two is unpadded."""
    levels: list = []
    for d, (lo, hi) in reversed(list(zip(dims, pads))):
        if levels and levels[0][1] == levels[0][2] == 0:
            e = levels[0][0]
            levels[0] = (d * e, lo * e, hi * e)
        else:
            levels.insert(0, (d, lo, hi))
    return levels


def _pad_params_init(levels: list) -> str:
    if len(levels) > MAX_DIMS:
        raise UnsupportedError(f"PAD over {len(levels)} alternating padded and unpadded axes "
                               f"(at most {MAX_DIMS})")
    in_st, out_st = [1], [1]
    for e, lo, hi in reversed(levels[1:]):
        in_st.insert(0, in_st[0] * e)
        out_st.insert(0, out_st[0] * (e + lo + hi))
    fill = [0] * (MAX_DIMS - len(levels))
    ints = lambda v: cgen.array_init(list(v) + fill, "int32_t")
    longs = lambda v: cgen.array_init(list(v) + fill, "int64_t")
    return "{" + ", ".join([str(len(levels)), ints(l[0] for l in levels), ints(l[1] for l in levels),
                            ints(l[2] for l in levels), longs(in_st), longs(out_st)]) + "}"


@register("PAD", "PADV2", header="pad.h", dtypes=ANY, check=require_const(1, 2),
          shape=_pad_shape, fusion=Fusion(padding=_padding))
def pad(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    if not g.tensors[out].size:
        return []
    pads = [tuple(int(v) for v in p) for p in
            np.asarray(const_ints(g, node.inputs[1], "paddings", node)).reshape(-1, 2)]
    ct = ctype(g, out)
    levels = pad_levels(list(shape(g, x)) or [1], pads or [(0, 0)])
    params = e.param("dlcoder_rt::PadParams", _pad_params_init(levels))
    value = cgen.literal(_pad_value(node, g), ct)
    return [f"dlcoder_rt::pad<{ct}>({params}, {e.src(x)}, {e.dst(out)}, {value});"]


# ---- REVERSE_V2 -------------------------------------------------------------------------
def _reverse_moves(node, g):
    dims = shape(g, node.inputs[0])
    axes = sorted(norm_axis(a, len(dims)) for a in const_ints(g, node.inputs[1], "axis", node))
    if any(b != a + 1 for a, b in zip(axes, axes[1:])):
        raise UnsupportedError(f"REVERSE_V2 axes {axes} are not contiguous (TFLite rejects them)")
    st = strides(dims)
    src = sum((dims[a] - 1) * st[a] for a in axes if dims[a])
    return [dense_move(dims, [-s if i in axes else s for i, s in enumerate(st)], src)]


_rev_emit, _rev_check, _rev_eval = remap_hooks(_reverse_moves, 1)


def _reverse_check(node, g):
    return check_axis_int32(node, g) or _rev_check(node, g)


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
