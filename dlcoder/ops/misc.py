"""SELECT / SELECT_V2, L2_NORMALIZATION, LOCAL_RESPONSE_NORMALIZATION, SHAPE, FILL,
ZEROS_LIKE, DEQUANTIZE and QUANTIZE.

Shapes are static, so SHAPE and ZEROS_LIKE always fold to constants, FILL folds whenever
its value is known; their kernels only run when fold_constants declines an output too
large to store as weights. DEQUANTIZE of a constant is folded earlier by fold_dequantize;
the kernel here handles computed inputs (e.g. an int8 or float16 graph input).
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, register
from dlcoder.ops._common import MAX_DIMS, broadcast_strides, collapse, ctype, shape
from dlcoder.ops._shapes import (OUT, activation, alike, arity, broadcast, const_ints, dtypes_by,
                                 dtypes_in, fail, in_shape, index_input, index_output,
                                 rank_between, same_dtype)
from dlcoder.passes.fold_dequantize import dequantize

_QUANTIZED = frozenset({"int8", "uint8", "int16"})


# ---- SELECT / SELECT_V2 ---------------------------------------------------------------
def _cond_strides(node, g) -> list:
    """Strides that read the condition at each output position.

    SELECT (v1) accepts, besides equal shapes, a scalar condition or a rank-1 condition
    that picks whole slices along dim 0; SELECT_V2 broadcasts numpy-style."""
    sc, so = shape(g, node.inputs[0]), shape(g, node.outputs[0])
    if node.op == "SELECT" and len(sc) == 1 and len(so) > 1:
        return [1 if sc[0] != 1 else 0] + [0] * (len(so) - 1)
    return broadcast_strides(sc, so)


def _select_values(node, g, cond, x, y):
    so = shape(g, node.outputs[0])
    if node.op == "SELECT" and cond.ndim == 1 and len(so) > 1:
        cond = cond.reshape(cond.shape + (1,) * (len(so) - 1))
    return np.where(cond, x, y)


def _check_select(node, g):
    c, x, y = node.inputs
    if g.tensors[c].dtype != "bool":
        return "the condition must be bool"
    if g.tensors[x].dtype != g.tensors[y].dtype:
        return "x and y have different dtypes"
    return None


def _select_eval(node, g, values):
    if any(v is None for v in values):
        return None
    return [_select_values(node, g, *values)]


def _select_shape(node, g):
    """TFLite's select Prepare: SELECT_V2 broadcasts all three; SELECT takes x and y of one
    shape and a condition of that shape, a scalar, or a vector along x's first dim. The
    condition is bool, x, y and the output of one dtype (TFLite gives the output x's)."""
    arity(node, 3)
    dtypes_in(g, node, {"bool"}, positions=(0,))
    same_dtype(g, node, inputs=(1, 2), outputs=(0,))
    c, x, y = (in_shape(g, node, k) for k in range(3))
    if node.op == "SELECT_V2":
        return [broadcast(c, x, y)]
    if x != y:
        fail(f"x has shape {list(x)} and y {list(y)}: SELECT takes them alike")
    if c not in (x, ()) and not (len(c) == 1 and x and c[0] == x[0]):
        fail(f"the condition's shape {list(c)} is neither x's {list(x)}, a scalar, nor "
             f"x's first dim")
    return [x]


@register("SELECT", "SELECT_V2", header="select.h", dtypes=ANY, check=_check_select,
          evaluate=_select_eval, shape=_select_shape)
def select(node, g, e):
    c, x, y = node.inputs
    out = node.outputs[0]
    so = shape(g, out) or (1,)
    sets = [_cond_strides(node, g), broadcast_strides(shape(g, x), so),
            broadcast_strides(shape(g, y), so)]
    dims, sets = collapse(list(so), *[s or [0] for s in sets])
    if len(dims) > MAX_DIMS:
        raise UnsupportedError(f"{node.op} over a broadcast space of rank {len(dims)}")
    pad = MAX_DIMS - len(dims)
    fields = [[1] * pad + dims] + [[0] * pad + s for s in sets]
    params = e.param("dlcoder_rt::SelectParams",
                     "{" + ", ".join(cgen.array_init(f, "int32_t") for f in fields) + "}")
    return (f"dlcoder_rt::select<{ctype(g, out)}>({params}, {e.src(c)}, {e.src(x)}, "
            f"{e.src(y)}, {e.dst(out)});")


# ---- normalizations -------------------------------------------------------------------
def _rows(g, t) -> dict:
    s = shape(g, t)
    depth = s[-1] if s else 1
    return {"rows": g.tensors[t].size // max(depth, 1), "depth": depth}


def _check_no_activation(node, g):
    act = node.attrs.get("fused_activation_function", "NONE")
    return None if act == "NONE" else f"fused activation {act} is not supported"


def _l2_norm_shape(node, g):
    """Same shape and dtype, rank 1 to 4, normalised along the last axis; TFLite's Prepare
    refuses a fused activation."""
    arity(node, 1)
    if activation(node) != "NONE":
        fail(f"fused activation {node.attrs['fused_activation_function']}: the op takes none")
    rank_between(in_shape(g, node, 0), 1, 4)
    same_dtype(g, node)
    return [in_shape(g, node, 0)]


@register("L2_NORMALIZATION", header="normalization.h", check=_check_no_activation,
          shape=_l2_norm_shape)
def l2_normalization(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    params = e.param("dlcoder_rt::NormRows", cgen.struct_init(_rows(g, x)))
    return f"dlcoder_rt::l2_normalization_f32({params}, {e.src(x)}, {e.dst(out)});"


# Made by passes/fuse_layer_norm.py: inputs x, gamma, beta (constants along the last axis).
@register("DLCODER_LAYER_NORM", header="simd.h")
def layer_norm(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    rows = _rows(g, x)
    return (f"dlcoder_rt::layer_norm_f32(par, {rows['rows']}, {rows['depth']}, "
            f"{cgen.float_literal(node.attrs['epsilon'])}, {e.src(x)}, {e.src(node.inputs[1])}, "
            f"{e.src(node.inputs[2])}, {e.dst(out)});")


def _lrn_shape(node, g):
    """Same shape and dtype, NHWC, and the attributes the kernel reads."""
    arity(node, 1)
    rank_between(in_shape(g, node, 0), 4, 4)
    same_dtype(g, node)
    radius = node.attrs.get("radius")
    if not isinstance(radius, (int, np.integer)) or radius < 0:
        fail(f"radius {radius} is not a non-negative integer")
    for a in ("bias", "alpha", "beta"):
        if not isinstance(node.attrs.get(a), (int, float, np.number)):
            fail(f"attribute {a} is missing or not a number")
    return [in_shape(g, node, 0)]


@register("LOCAL_RESPONSE_NORMALIZATION", header="normalization.h", shape=_lrn_shape)
def local_response_norm(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    a = node.attrs
    params = e.param("dlcoder_rt::LrnParams", cgen.struct_init({
        "shape": cgen.struct_init(_rows(g, x)), "radius": int(a["radius"]),
        "bias": float(a["bias"]), "alpha": float(a["alpha"]), "beta": float(a["beta"])}))
    return f"dlcoder_rt::local_response_norm_f32({params}, {e.src(x)}, {e.dst(out)});"


# ---- SHAPE, FILL, ZEROS_LIKE ----------------------------------------------------------
def _shape_eval(node, g, values):
    return [np.asarray(shape(g, node.inputs[0]), dtype=g.tensors[node.outputs[0]].dtype)]


def _shape_shape(node, g):
    """One value per dim of the input, of the dtype out_type names."""
    arity(node, 1)
    index_output(g, node, "out_type")
    return [(len(in_shape(g, node, 0)),)]


@register("SHAPE", header="movement.h", dtypes=ANY | {"float16"}, evaluate=_shape_eval,
          shape=_shape_shape)
def shape_op(node, g, e):
    out = node.outputs[0]
    ct = ctype(g, out)
    dims = e.array(ct, list(shape(g, node.inputs[0])) or [0])
    return f"dlcoder_rt::copy<{ct}>({g.tensors[out].size}, {dims}, {e.dst(out)});"


def _fill_eval(node, g, values):
    value = values[1]
    if value is None:
        return None
    out = g.tensors[node.outputs[0]]
    return [np.full(out.shape, np.asarray(value).ravel()[0], dtype=out.dtype)]


def _check_fill(node, g):
    if g.const(node.inputs[0]) is None:
        return "the dims input must be a constant"
    return None


def _fill_shape(node, g):
    """The dims input's values (a vector), filled with a scalar value of the output's dtype
    (TFLite's fill: int32 or int64 dims, and the output gets the value's dtype)."""
    arity(node, 2)
    rank_between(in_shape(g, node, 0), 1, 1, "dims")
    rank_between(in_shape(g, node, 1), 0, 0, "value")
    dims = const_ints(g, node, 0, "dims")
    if any(d < 0 for d in dims):
        fail(f"dims {dims} has a negative size")
    index_input(g, node, 0, "dims")
    same_dtype(g, node, inputs=(1,), outputs=(0,))
    return [tuple(dims)]


@register("FILL", header="movement.h", dtypes=ANY, check=_check_fill, evaluate=_fill_eval,
          shape=_fill_shape)
def fill(node, g, e):
    value, out = node.inputs[1], node.outputs[0]
    ct = ctype(g, out)
    const = g.const(value)
    v = f"{e.src(value)}[0]" if const is None else cgen.literal(np.asarray(const).ravel()[0], ct)
    return f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, {v}, {e.dst(out)});"


def _zeros_eval(node, g, values):
    out = g.tensors[node.outputs[0]]
    return [np.zeros(out.shape, dtype=out.dtype)]


@register("ZEROS_LIKE", header="movement.h", dtypes=ANY, evaluate=_zeros_eval, shape=alike())
def zeros_like(node, g, e):
    out = node.outputs[0]
    ct = ctype(g, out)
    return (f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, {cgen.literal(0, ct)}, "
            f"{e.dst(out)});")


# ---- DEQUANTIZE / QUANTIZE ------------------------------------------------------------
def _per_tensor(t) -> dict:
    q = t.quant
    return {"scale": float(q.scale.ravel()[0]), "zero_point": int(q.zero_point.ravel()[0])}


def _check_affine(t, what: str):
    if t.quant is None:
        return f"the {what} has no quantization parameters"
    if t.quant.scale.size != 1:
        return f"per-channel quantization of the {what} is not supported"
    return None


def _check_dequantize(node, g):
    t = g.tensors[node.inputs[0]]
    if g.tensors[node.outputs[0]].dtype != "float32":
        return "the output must be float32"
    if t.dtype == "float16":
        return None
    if t.dtype not in _QUANTIZED:
        return f"{t.dtype} input is not supported"
    return _check_affine(t, "input")


def _dequantize_shape(node, g):
    """Same shape; a quantized or float16 input, a float32 output (which TFLite gives it)."""
    arity(node, 1)
    dtypes_in(g, node, _QUANTIZED | {"float16"}, positions=(0,))
    dtypes_in(g, node, {"float32"}, positions=(), outputs=(0,))
    return [in_shape(g, node, 0)]


def _dequantize_eval(node, g, values):
    if values[0] is None:
        return None
    t = g.tensors[node.inputs[0]]
    return [dequantize(t.replace(data=np.asarray(values[0])))]


@register("DEQUANTIZE", header="dequantize.h", dtypes=_QUANTIZED | {"float16", "float32"},
          check=_check_dequantize, evaluate=_dequantize_eval, shape=_dequantize_shape)
def dequantize_op(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    t = g.tensors[x]
    n = t.size
    if t.dtype == "float16":
        return f"dlcoder_rt::dequantize_f16({n}, {e.src(x)}, {e.dst(out)});"
    params = e.param("dlcoder_rt::AffineParams", cgen.struct_init(_per_tensor(t)))
    return f"dlcoder_rt::dequantize_affine({n}, {e.src(x)}, {e.dst(out)}, {params});"


# QUANTIZE: the input's dtype -> the output's (TFLite's quantize Prepare): float32 is
# quantized, the integer types requantized.
_QUANTIZE_DTYPES = {
    "float32": {OUT: {"int8", "uint8", "int16"}},
    "int8": {OUT: {"int8", "uint8", "int16"}},
    "uint8": {OUT: {"int8", "uint8", "int16"}},
    "int16": {OUT: {"int8", "int16", "int32"}},
    "int32": {OUT: {"int8", "int16"}},
}


def _quantize_shape(node, g):
    """Same shape; the dtypes of _QUANTIZE_DTYPES."""
    arity(node, 1)
    dtypes_by(g, node, _QUANTIZE_DTYPES)
    return [in_shape(g, node, 0)]


def _check_quantize(node, g):
    if g.tensors[node.inputs[0]].dtype != "float32":
        return "only float32 input is supported (no requantization)"
    return _check_affine(g.tensors[node.outputs[0]], "output")


def quantize_values(x: np.ndarray, scale: float, zero_point: int, dtype: str) -> np.ndarray:
    """TFLite's builtin QUANTIZE in numpy: x * float32(1 / scale), rounded half to even
    (see quantize_affine in dequantize.h for why not the reference kernel's rounding)."""
    inv_scale = np.float32(1) / np.float32(scale)
    q = np.rint(np.asarray(x, np.float32) * inv_scale).astype(np.float64) + zero_point
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def _quantize_eval(node, g, values):
    if values[0] is None:
        return None
    out = g.tensors[node.outputs[0]]
    return [quantize_values(values[0], **_per_tensor(out), dtype=out.dtype)]


@register("QUANTIZE", header="dequantize.h", dtypes=_QUANTIZED | {"float32"},
          check=_check_quantize, evaluate=_quantize_eval, shape=_quantize_shape)
def quantize_op(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    params = e.param("dlcoder_rt::AffineParams", cgen.struct_init(_per_tensor(g.tensors[out])))
    return (f"dlcoder_rt::quantize_affine({g.tensors[x].size}, {e.src(x)}, {e.dst(out)}, "
            f"{params});")
