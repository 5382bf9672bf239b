"""Normalizations along the last axis of a [rows][depth] view: L2_NORMALIZATION,
LOCAL_RESPONSE_NORMALIZATION (normalization.h), and DLCODER_LAYER_NORM, which
passes/fuse_layer_norm.py makes from a lowered layer norm (simd.h)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops._common import shape
from dlcoder.ops._shapes import activation, arity, fail, in_shape, rank_between, same_dtype


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
    params = e.param("dlcoder_rt::NormRows", cgen.struct_init("NormRows", _rows(g, x)))
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
    params = e.param("dlcoder_rt::LrnParams", cgen.struct_init("LrnParams", {
        "shape": cgen.struct_init("NormRows", _rows(g, x)), "radius": int(a["radius"]),
        "bias": float(a["bias"]), "alpha": float(a["alpha"]), "beta": float(a["beta"])}))
    return f"dlcoder_rt::local_response_norm_f32({params}, {e.src(x)}, {e.dst(out)});"
