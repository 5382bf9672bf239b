"""The quantized variants of the binary elementwise ops ADD, SUB, MUL, SQUARED_DIFFERENCE,
MAXIMUM and MINIMUM, with numpy broadcasting and (ADD, SUB, MUL) fused activations;
kernels in qelementwise.h, the float ops' binary() loop and Loop6 with a functor per op.

What TFLite's Prepare computes is computed here once, by dlcoder/quant.py, and each
functor takes its kernel's integer steps:
- ADD, SUB (int8, uint8, int16): each input offset by its zero point, shifted left (20
  bits for 8-bit, 15 for int16) and scaled to twice the larger input scale by its own
  multiplier; summed (subtracted); scaled to the output by a third multiplier.
- SQUARED_DIFFERENCE (int8 only, as TFLite): the same with a 7-bit shift, the scaled
  difference squared before the output multiplier; no fused activation.
- MUL (int8, uint8, int16): the product of the offset inputs, scaled to the output by one
  multiplier (a * b / out, computed in float as TFLite does).
- MAXIMUM, MINIMUM (int8, uint8, int16): TFLite compares the stored integers whatever the
  tensors' quantization, so the float ops' MaxOp and MinOp do it.

int16 takes TFLite's symmetric scheme (zero points 0). TFLite's other int16 ADD/SUB path,
taken for power-of-two scales when pot_scale_int16 is set, is refused.

The functors take TFLite's reference arithmetic (double rounding, requantize.h). TFLite's
x86 build runs some int8 paths through its optimized kernels instead, which round
otherwise (found by experiment, tests/test_quantized_elementwise.py lists the cases):
- ADD on inputs of one shape folds each input's shift into the left shift (one rounding,
  SaturatingRoundingDoublingHighMul(x << (20 + shift))): ties can differ by 1 LSB;
- ADD whose broadcast makes one operand a scalar per inner run (AddScalarBroadcast)
  floors both inputs' right shifts: 1 LSB off near output halves;
- MUL's vector body saturates the scaled product to int16 and adds the output zero
  point in int16 without saturation, which only matters where the output saturates
  (a multiplier above 1).
SUB, MUL with multipliers below 1, SQUARED_DIFFERENCE and the generic broadcasts match
the reference arithmetic.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import broadcast_strides, loop6, loop6_init, shape

_MINMAX = ("MAXIMUM", "MINIMUM")
_ADDLIKE = {"ADD": ("kAdd", False), "SUB": ("kSub", True)}
_LEFT_SHIFT = {"int8": 20, "uint8": 20, "int16": 15}


def _loop(node, g, e) -> str:
    """The Loop6 params that walk the two inputs broadcast to the output."""
    a, b = node.inputs[:2]
    so = shape(g, node.outputs[0])
    loop = loop6(so or (1,), broadcast_strides(shape(g, a), so) or [0],
                 broadcast_strides(shape(g, b), so) or [0])
    return e.param("dlcoder_rt::Loop6", loop6_init(loop))


def _call(node, g, e, functor: str) -> str:
    a, b = node.inputs[:2]
    return (f"dlcoder_rt::binary({_loop(node, g, e)}, {e.src(a)}, {e.src(b)}, "
            f"{e.dst(node.outputs[0])}, {functor});")


def _offsets(node, g) -> tuple:
    return -QP.params(g, node.inputs[0])[1], -QP.params(g, node.inputs[1])[1]


def _scales(node, g) -> tuple:
    return tuple(QP.params(g, t)[0] for t in (node.inputs[0], node.inputs[1], node.outputs[0]))


def _is_pot(scale: float) -> bool:
    """TFLite's CheckedLog2: the scale is a power of two (to 1e-3 in its log2)."""
    log = np.log2(np.float32(scale))
    return abs(log - np.round(log)) < 1e-3


# ---- the constants, once (Prepare) --------------------------------------------------------
def _multipliers(node, g) -> tuple:
    """The (mult, shift) pairs of the node's op (quant.py)."""
    sa, sb, so = _scales(node, g)
    if node.op == "MUL":
        return (Q.mul_multiplier(sa, sb, so),)
    if node.op == "SQUARED_DIFFERENCE":
        return Q.squared_difference_multipliers(sa, sb, so)
    return Q.add_multipliers(sa, sb, so, _LEFT_SHIFT[g.tensors[node.outputs[0]].dtype])


def _range(node, g) -> tuple:
    """(zero point, lo, hi) of the output; SQUARED_DIFFERENCE clamps to the dtype only."""
    if node.op == "SQUARED_DIFFERENCE":
        zp = QP.params(g, node.outputs[0])[1]
        return (zp,) + Q.INT_RANGE[g.tensors[node.outputs[0]].dtype]
    return QP.out_range(node, g)


# ---- checks ---------------------------------------------------------------------------------
def _check(node, g):
    why = QP.per_tensor(g, node, (0, 1))
    if why is not None:
        return why
    if node.op in ("ADD", "SUB", "MUL"):
        why = QP.activation(node)
        if why is not None:
            return why
    dt = g.tensors[node.outputs[0]].dtype
    if dt == "int16":
        if any(QP.params(g, t)[1] != 0 for t in (node.inputs[0], node.inputs[1], node.outputs[0])):
            return f"int16 {node.op} takes zero points 0 only (TFLite's symmetric int16)"
        if node.op in _ADDLIKE and node.attrs.get("pot_scale_int16", True) and all(
                _is_pot(s) for s in _scales(node, g)):
            return (f"int16 {node.op} with power-of-two scales and pot_scale_int16 (TFLite's "
                    f"fixed-point path) is not supported")
    if node.op == "SQUARED_DIFFERENCE" and dt != "int8":
        return f"SQUARED_DIFFERENCE takes int8 quantized data only, not {dt} (as TFLite)"
    pairs = _multipliers(node, g)
    if node.op != "MUL" and any(shift > 0 for _, shift in pairs):
        return (f"the output scale {_scales(node, g)[2]:g} is too small for the inputs' "
                f"(TFLite's Prepare fails on a multiplier of 1 or more)")
    return None


def _check_minmax(node, g):
    """TFLite checks nothing of MAXIMUM's and MINIMUM's quantization: any will do."""
    return None


# ---- emit -----------------------------------------------------------------------------------
def _emit_addlike(node, g, e):
    (ma, sa), (mb, sb), (mo, so) = _multipliers(node, g)
    oa, ob = _offsets(node, g)
    zp, lo, hi = _range(node, g)
    if node.op == "SQUARED_DIFFERENCE":
        kind, left = "kSquaredDifference", 7
    else:
        kind, left = _ADDLIKE[node.op][0], _LEFT_SHIFT[g.tensors[node.outputs[0]].dtype]
    params = QP.struct(e, "QAddParams", {
        "a_offset": oa, "a_mult": ma, "a_shift": sa, "b_offset": ob, "b_mult": mb, "b_shift": sb,
        "left_shift": left, "out_mult": mo, "out_shift": so, "out_zp": zp, "lo": lo, "hi": hi})
    return _call(node, g, e, f"dlcoder_rt::QAddOp<dlcoder_rt::QAddKind::{kind}>{{{params}}}")


def _emit_mul(node, g, e):
    ((mo, so),) = _multipliers(node, g)
    oa, ob = _offsets(node, g)
    zp, lo, hi = _range(node, g)
    params = QP.struct(e, "QMulParams", {"a_offset": oa, "b_offset": ob, "out_mult": mo,
                                         "out_shift": so, "out_zp": zp, "lo": lo, "hi": hi})
    return _call(node, g, e, f"dlcoder_rt::QMulOp{{{params}}}")


def _emit_minmax(node, g, e):
    return _call(node, g, e, "dlcoder_rt::MaxOp{}" if node.op == "MAXIMUM" else "dlcoder_rt::MinOp{}")


# ---- evaluate (constant folding): the same integer steps in numpy ---------------------------
def _evaluate(node, g, values):
    if any(v is None for v in values[:2]) or (node.op not in _MINMAX and _check(node, g)):
        return None
    a, b = (np.asarray(v) for v in values[:2])
    dt = g.tensors[node.outputs[0]].dtype
    if node.op == "MAXIMUM":
        return [np.maximum(a, b).astype(dt)]
    if node.op == "MINIMUM":
        return [np.minimum(a, b).astype(dt)]
    offsets, pairs = _offsets(node, g), _multipliers(node, g)
    if node.op == "MUL":
        raw = Q.mul_values(a, b, offsets, pairs[0])
    elif node.op == "SQUARED_DIFFERENCE":
        raw = Q.squared_difference_values(a, b, offsets, pairs)
    else:
        raw = Q.add_sub_values(a, b, offsets, pairs, _LEFT_SHIFT[dt], _ADDLIKE[node.op][1])
    zp, lo, hi = _range(node, g)
    return [np.clip(raw + zp, lo, hi).astype(dt)]


_EMIT = {"ADD": _emit_addlike, "SUB": _emit_addlike, "SQUARED_DIFFERENCE": _emit_addlike,
         "MUL": _emit_mul, "MAXIMUM": _emit_minmax, "MINIMUM": _emit_minmax}
# every op takes every kind: a kind TFLite has no kernel for is refused by _check, by name
for _op, _emit in _EMIT.items():
    for _kind in ("int8", "uint8", "int16"):
        register(_op, header="qelementwise.h", dtypes={_kind},
                 check=_check_minmax if _op in _MINMAX else _check,
                 evaluate=_evaluate, variant=_kind)(_emit)
