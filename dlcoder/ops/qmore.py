"""More quantized variants: int8 EXP, LOG and SQRT; int8 and uint8 L2_NORMALIZATION; the
int8 and uint8 comparisons EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL.

Measured against ai-edge-litert 2.3.0's builtin kernels (tests/test_quantized_more.py):
- EXP, LOG (int8 only: uint8 is refused by TFLite): a float table (LUTPopulate) computed
  at generation time, quant.exp_table / log_table; unlike the activations' tables
  (quant.float_lut), a result beyond int8 saturates (EXP of a large input is 127). LOG
  maps inputs <= 0 to the output's lowest value. SQRT (int8 only): the float formula of
  SqrtEvalQuantized per byte (quant.sqrt_table: truncating, not rounding). TFLite fails
  the invoke of SQRT on an input below its zero point; the table holds the zero point's
  entry there. The kernel is simd_lut.h's lookup_u8_simd.
- L2_NORMALIZATION (int8, uint8): the integer kernels (qmore.h l2_normalization_q, with
  GetInvSqrtQuantizedMultiplierExp per row); TFLite's Prepare takes only the output scale
  1/128 with zero point 0 (int8) or 128 (uint8), and no fused activation.
- comparisons (int8, uint8; bool output, numpy broadcasting): each input scaled as
  ComparisonWithScaling does, ((x - zp) << 8) times its own scale as a quantized
  multiplier, then compared (qmore.h QCompareOp); always, even when both inputs share
  their quantization. TFLite aborts on an input scale of 1 (QuantizeMultiplierGreaterThanOne
  checks > 1) and shifts by a negative count above 1: input scales >= 1 are refused.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import broadcast_strides, loop6, loop6_init, shape


def _qparams(g, t) -> tuple:
    scale, zp = QP.params(g, t)
    return float(scale), int(zp)


# ---- EXP, LOG, SQRT (int8): tables ------------------------------------------------------
_TABLES = {"EXP": Q.exp_table, "LOG": Q.log_table, "SQRT": Q.sqrt_table}


def table(node, g) -> np.ndarray:
    """The node's 256 int8 output values, indexed by the input's byte."""
    return _TABLES[node.op](_qparams(g, node.inputs[0]), _qparams(g, node.outputs[0]))


def _check_unary(node, g):
    why = QP.per_tensor(g, node, (0,))
    if why:
        return why
    x, y = node.inputs[0], node.outputs[0]
    if g.tensors[x].dtype != g.tensors[y].dtype:
        return f"input {g.tensors[x].dtype} and output {g.tensors[y].dtype} differ"
    return None


def _evaluate_unary(node, g, values):
    if values[0] is None or _check_unary(node, g):
        return None
    return [table(node, g)[np.asarray(values[0]).view(np.uint8)]]


@register("EXP", "LOG", "SQRT", header="simd_lut.h", dtypes=frozenset({"int8"}),
          check=_check_unary, evaluate=_evaluate_unary, variant="int8")
def _emit_unary(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::lookup_u8_simd<int8_t>({g.tensors[y].size}, {e.src(x)}, {e.dst(y)}, "
            f"{e.weights(table(node, g))});")


# ---- L2_NORMALIZATION (int8, uint8) --------------------------------------------------------
_L2_OUT_ZP = {"int8": 0, "uint8": 128}
# the largest depth whose int32 sum of squares cannot overflow: 255^2 per element
_L2_MAX_DEPTH = (2**31 - 1) // (255 * 255)


def _check_l2(node, g):
    why = QP.per_tensor(g, node, (0,))
    if why:
        return why
    act = node.attrs.get("fused_activation_function", "NONE")
    if act != "NONE":
        return f"fused activation {act} is not supported (TFLite's Prepare takes none)"
    x, y = node.inputs[0], node.outputs[0]
    dt = g.tensors[y].dtype
    if g.tensors[x].dtype != dt:
        return f"input {g.tensors[x].dtype} and output {dt} differ"
    scale, zp = QP.params(g, y)
    if np.float32(scale) != np.float32(1 / 128) or int(zp) != _L2_OUT_ZP[dt]:
        return (f"output scale {scale:g} and zero point {zp}: TFLite's {dt} L2_NORMALIZATION "
                f"takes only the scale 1/128 and zero point {_L2_OUT_ZP[dt]}")
    s = shape(g, x)
    if s and s[-1] > _L2_MAX_DEPTH:
        return (f"depth {s[-1]}: the int32 sum of squares of a row may overflow (at most "
                f"{_L2_MAX_DEPTH} elements are supported)")
    return None


def _evaluate_l2(node, g, values):
    if values[0] is None or _check_l2(node, g):
        return None
    x = node.inputs[0]
    return [Q.l2_normalize_values(values[0], QP.params(g, x)[1], g.tensors[x].dtype)]


def _emit_l2(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    s = shape(g, x)
    depth = s[-1] if s else 1
    rows = g.tensors[x].size // max(depth, 1)
    ct = CTYPES[g.tensors[x].dtype]
    return (f"dlcoder_rt::l2_normalization_q<{ct}>({rows}, {depth}, {int(QP.params(g, x)[1])}, "
            f"{e.src(x)}, {e.dst(y)});")


for _kind in ("int8", "uint8"):
    register("L2_NORMALIZATION", header="qmore.h", dtypes=frozenset({_kind}), check=_check_l2,
             evaluate=_evaluate_l2, variant=_kind)(_emit_l2)


# ---- comparisons (int8, uint8) -------------------------------------------------------------
_COMPARE = {
    "EQUAL": ("EqualOp", np.equal), "NOT_EQUAL": ("NotEqualOp", np.not_equal),
    "LESS": ("LessOp", np.less), "LESS_EQUAL": ("LessEqualOp", np.less_equal),
    "GREATER": ("GreaterOp", np.greater), "GREATER_EQUAL": ("GreaterEqualOp", np.greater_equal),
}


def _check_compare(node, g):
    why = QP.per_tensor(g, node, (0, 1), outputs=())
    if why:
        return why
    a, b = node.inputs[:2]
    if g.tensors[a].dtype != g.tensors[b].dtype:
        return f"operands of different dtypes ({g.tensors[a].dtype}, {g.tensors[b].dtype})"
    for k, t in enumerate((a, b)):
        scale = QP.params(g, t)[0]
        if not np.float32(scale) < 1:
            return (f"input {k} scale {scale:g}: TFLite's quantized comparison takes input "
                    f"scales below 1 only (it aborts at 1 and misshifts above)")
    return None


def _evaluate_compare(node, g, values):
    if any(v is None for v in values[:2]) or _check_compare(node, g):
        return None
    scaled = [Q.comparison_values(v, QP.params(g, t)[1], QP.params(g, t)[0])
              for v, t in zip(values[:2], node.inputs[:2])]
    return [_COMPARE[node.op][1](*scaled)]


def _emit_compare(node, g, e):
    a, b = node.inputs[:2]
    out = node.outputs[0]
    so = shape(g, out)
    loop = e.param("dlcoder_rt::Loop6", loop6_init(loop6(
        so or (1,), broadcast_strides(shape(g, a), so) or [0], broadcast_strides(shape(g, b), so) or [0])))
    fields = {}
    for name, t in (("a", a), ("b", b)):
        scale, zp = QP.params(g, t)
        mult, shift = Q.quantize_multiplier(float(np.float32(scale)))
        fields.update({f"{name}_offset": -int(zp), f"{name}_mult": mult, f"{name}_shift": shift})
    params = QP.struct(e, "QCompareParams", fields)
    functor = f"dlcoder_rt::QCompareOp<dlcoder_rt::{_COMPARE[node.op][0]}>{{{params}}}"
    return f"dlcoder_rt::binary({loop}, {e.src(a)}, {e.src(b)}, {e.dst(out)}, {functor});"


for _op in _COMPARE:
    for _kind in ("int8", "uint8"):
        register(_op, header="qmore.h", dtypes=frozenset({_kind, "bool"}), check=_check_compare,
                 evaluate=_evaluate_compare, variant=_kind)(_emit_compare)
