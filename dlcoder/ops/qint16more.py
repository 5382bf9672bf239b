"""int16x8 (int16 activations) RSQRT, GELU and BATCH_MATMUL, as TFLite's builtin kernels
compute them (kernels in qint16more.h; prepare-time math in dlcoder/quant.py):
- RSQRT (elementwise.cc) and GELU (gelu.cc, exact or tanh form): LUTPopulate<int16_t>, a
  513-entry table of the float function over the input's range with float scales, every
  step in float32 (RSQRT gives 32767 * output scale for inputs <= 0), looked up with 7
  interpolated bits (LUTLookup). Measured: every int16 input value at 12 random scale
  pairs each, 0 differing outputs. TFLite's RSQRT fails at run time on a negative input;
  the generated code looks it up (the table's value for <= 0) instead.
- BATCH_MATMUL int16 x int16 -> int16 (batch_matmul.cc EvalInt16: reference
  BatchMatMul<int16_t, int64_t> in every build): exact int64 sums of products, scaled by
  the int64 MultiplyByQuantizedMultiplier (the multiplier rounded to 16 bits, one rounding
  shift), saturated to int16; the multiplier from (double) scales.
int16 SQUARED_DIFFERENCE has no TFLite kernel (its Eval fails on int16) and stays refused
in qelementwise.py. TFLite's int16 kernels take zero points 0; so do these.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops.matmul import batch_matmul_params
from dlcoder.ops.qint16 import _zero_points


def _qparams(g, t) -> tuple:
    scale, zp = QP.params(g, t)
    return float(scale), int(zp)


# ---- RSQRT, GELU: int16 tables ----------------------------------------------------------
def _table(node, g) -> np.ndarray:
    qi, qo = _qparams(g, node.inputs[0]), _qparams(g, node.outputs[0])
    if node.op == "RSQRT":
        return Q.rsqrt_int16_lut(qi, qo)
    return Q.gelu_int16_lut(qi, qo, bool(node.attrs.get("approximate", False)))


def _check_lut(node, g):
    y = node.outputs[0]
    why = QP.per_tensor(g, node, (0,)) or _zero_points(g, node)
    if why:
        return why
    if g.tensors[y].dtype != "int16":
        return f"int16 {node.op} with a {g.tensors[y].dtype} output is not supported"
    return None


def _evaluate_lut(node, g, values):
    if values[0] is None or _check_lut(node, g):
        return None
    return [Q.lut_lookup_int16(values[0], _table(node, g)).astype(np.int16)]


def _emit_lut(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::lut_q16({g.tensors[y].size}, {e.src(x)}, {e.dst(y)}, "
            f"{e.weights(_table(node, g))});")


# ---- BATCH_MATMUL ------------------------------------------------------------------------
def _bmm_multiplier(node, g) -> tuple:
    (sa, _), (sb, _), (so, _) = (QP.params(g, t) for t in (node.inputs[0], node.inputs[1], node.outputs[0]))
    return Q.quantize_multiplier(float(Q.effective_scales(sa, [sb], so)[0]))


def _check_bmm(node, g):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    if g.tensors[b].dtype != "int16" or g.tensors[y].dtype != "int16":
        return (f"int16 BATCH_MATMUL of {g.tensors[a].dtype} x {g.tensors[b].dtype} to "
                f"{g.tensors[y].dtype}: only int16 x int16 -> int16 is supported")
    if any(k in node.attrs for k in ("a_perm", "b_perm", "out_perm")):
        return "a fused transpose is not supported on quantized data"
    why = QP.per_tensor(g, node, (0, 1))
    if why:
        return why
    for what, t in (("lhs", a), ("rhs", b), ("output", y)):
        if QP.params(g, t)[1] != 0:
            return f"int16 BATCH_MATMUL {what} has zero point {QP.params(g, t)[1]}: TFLite takes zero points 0"
    if not Q.int64_multiplier_shift_ok(_bmm_multiplier(node, g)[1]):
        return "the output scale is too small for the operands' (TFLite's int64 requantization shift)"
    return None


def _evaluate_bmm(node, g, values):
    if any(v is None for v in values[:2]) or _check_bmm(node, g):
        return None
    a, b = (np.asarray(v, np.int64) for v in values[:2])
    if node.attrs.get("adj_x", False):
        a = np.swapaxes(a, -1, -2)
    if node.attrs.get("adj_y", False):
        b = np.swapaxes(b, -1, -2)
    mult, shift = _bmm_multiplier(node, g)
    v = Q.multiply_by_quantized_multiplier_i64(np.matmul(a, b), mult, shift)
    return [np.clip(v, -32768, 32767).astype(np.int16)]


def _emit_bmm(node, g, e):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    mult, shift = _bmm_multiplier(node, g)
    q = QP.struct(e, "Q16MatMulParams", {"multiplier": mult, "shift": shift})
    return (f"dlcoder_rt::batch_matmul_q16({batch_matmul_params(node, g, e)}, {q}, {e.src(a)}, "
            f"{e.src(b)}, {e.dst(y)});")


register("RSQRT", "GELU", header="qint16more.h", dtypes=frozenset({"int16"}), check=_check_lut,
         evaluate=_evaluate_lut, variant="int16")(_emit_lut)
register("BATCH_MATMUL", header="qint16more.h", dtypes=frozenset({"int16"}), check=_check_bmm,
         evaluate=_evaluate_bmm, variant="int16")(_emit_bmm)
