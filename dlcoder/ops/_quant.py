"""Helpers of the quantized variants (op families register them with `variant=`): the
quantization of a node's tensors as TFLite's kernels read it, checks of the schemes a
kernel takes, and the generation-time constants every requantizing kernel needs.

The arithmetic itself (multipliers, activation ranges, tables) is dlcoder/quant.py's.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from dlcoder import quant as Q
from dlcoder.codegen import cgen
from dlcoder.ir import Graph, Node, op_label

_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def params(g: Graph, t: int) -> tuple:
    """(scale, zero point) of a per-tensor quantized tensor."""
    q = g.tensors[t].quant
    return q.scale[0], q.zero_point[0]


def per_tensor(g: Graph, node: Node, positions, outputs=(0,)) -> Optional[str]:
    """Why the tensors at these input (and output) positions are not per-tensor affine
    quantized, or None."""
    ts = [("input", k, node.inputs[k]) for k in positions if k < len(node.inputs) and node.inputs[k] >= 0]
    ts += [("output", k, node.outputs[k]) for k in outputs]
    for what, k, t in ts:
        q = g.tensors[t].quant
        name = g.tensors[t].name
        if q is None:
            return f"{what} {k} '{name}' ({g.tensors[t].dtype}) has no quantization parameters"
        if q.per_channel:
            return (f"{what} {k} '{name}' is quantized per channel ({len(q.scale)} scales), "
                    f"which {op_label(node)} takes only per tensor")
        if not q.scale[0] > 0:
            return f"{what} {k} '{name}' has quantization scale {q.scale[0]:g}"
    return None


def weight_scheme(g: Graph, node: Node, k: int, axis: int) -> Optional[str]:
    """Why the constant weights at input k are not quantized per tensor or per channel
    along `axis` with positive scales, or None."""
    t = g.tensors[node.inputs[k]]
    q = t.quant
    if q is None:
        return f"weights '{t.name}' ({t.dtype}) have no quantization parameters"
    if q.per_channel and (q.axis != axis or len(q.scale) != t.shape[axis]):
        return (f"weights '{t.name}' are quantized along axis {q.axis} with {len(q.scale)} scales; "
                f"{op_label(node)} takes one scale, or one per output channel along axis {axis}")
    if not all(s > 0 for s in q.scale):
        return f"weights '{t.name}' have a quantization scale that is not positive"
    if t.dtype == "int8" and any(q.zero_point):
        return f"int8 weights '{t.name}' have a nonzero zero point (TFLite takes symmetric int8 weights)"
    return None


def activation(node: Node) -> Optional[str]:
    act = node.attrs.get("fused_activation_function", "NONE")
    return None if act in _ACTIVATIONS else f"fused activation {act} is not supported on quantized data"


def out_range(node: Node, g: Graph, t: int = None) -> tuple:
    """(zero point, lo, hi) of the output: the fused activation's range in its domain."""
    t = node.outputs[0] if t is None else t
    scale, zp = params(g, t)
    lo, hi = Q.activation_range(node.attrs.get("fused_activation_function", "NONE"), scale, zp,
                                g.tensors[t].dtype)
    return zp, lo, hi


def weight_values(g: Graph, t: int) -> np.ndarray:
    """Constant weights with their zero point subtracted: int8 as they are (symmetric),
    uint8 as int16."""
    ten = g.tensors[t]
    if ten.dtype == "int8":
        return ten.data
    zp = ten.quant.zero_points()
    if ten.quant.per_channel:
        shape = [1] * ten.data.ndim
        shape[ten.quant.axis] = zp.size
        zp = zp.reshape(shape)
    return (ten.data.astype(np.int32) - zp).astype(np.int16)


def channel_multipliers(g: Graph, x: int, w: int, out: int, channels: int) -> tuple:
    """(multipliers, shifts), one per output channel, of input scale * weight scale /
    output scale (a per-tensor weight scale repeated)."""
    in_scale, _ = params(g, x)
    out_scale, _ = params(g, out)
    scales = g.tensors[w].quant.scales()
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    return Q.quantize_multipliers(Q.effective_scales(in_scale, scales, out_scale))


def requant_arrays(e, mult: np.ndarray, shift: np.ndarray) -> str:
    """The `mult, shift` kernel arguments: two constexpr int32 arrays."""
    return f"{e.array('int32_t', mult.tolist())}, {e.array('int32_t', shift.tolist())}"


def struct(e, name: str, fields: dict) -> str:
    """Declare a params struct of the runtime by name (field order from its header)."""
    return e.param(f"dlcoder_rt::{name}", cgen.struct_init(name, fields))
