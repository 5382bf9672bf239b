"""The int16 variants ("int16x8": int16 activations of zero point 0, int8 symmetric
weights, int64 bias) of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, and int16
LOGISTIC, TANH and SOFTMAX; kernels in qint16.h.

What the pip build of TFLite computes (found by experiment, tests/test_quantized_int16.py):
- CONV_2D, DEPTHWISE_CONV_2D: exact int64 accumulators, then TFLite's int64
  MultiplyByQuantizedMultiplier, whose multiplier is cut to 16 bits (the reference kernels).
- FULLY_CONNECTED: the same accumulators scaled in double, round(acc * in * w / out) with
  halves away from zero; not the fixed-point multiplier (which differs on ~1 value in 3).
- LOGISTIC, TANH: the interpolated 256-entry sigmoid table, for input scales that are not
  (within CheckedLog2's 1e-3) 2^-12 (or 2^-11 for TANH). At those TFLite takes gemmlowp's
  fixed-point functions instead, which are not implemented here and are refused.
- SOFTMAX: SoftmaxInt16 with its two 513-entry tables.

Only the int64 bias is taken for convolutions: with an int32 bias TFLite picks its kernel by
the quantized_bias_type option (an optimized int32-accumulator path), not measured here.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import conv_geometry, shape
from dlcoder.ops.qlinear import _bias_scale


def _zero_points(g, node, outputs=True):
    ts = [("input", node.inputs[0])] + ([("output", node.outputs[0])] if outputs else [])
    for what, t in ts:
        zp = QP.params(g, t)[1]
        if zp != 0:
            return (f"int16 {what} '{g.tensors[t].name}' has zero point {zp}: TFLite's int16 kernels "
                    f"take zero point 0")
    return None


def _check_linear(node, g, weight_axis: int):
    w, y = node.inputs[1], node.outputs[0]
    why = QP.per_tensor(g, node, (0,))
    if why:
        return why
    if g.tensors[y].dtype != "int16":
        return f"a {g.tensors[y].dtype} output of int16 activations is not supported"
    if not g.tensors[w].is_const:
        return "the weights must be a constant"
    if g.tensors[w].dtype != "int8":
        return f"{g.tensors[w].dtype} weights are not supported with int16 activations (TFLite takes int8)"
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    if b >= 0:
        if not g.tensors[b].is_const:
            return "the bias must be a constant"
        if g.tensors[b].dtype != "int64":
            return (f"a {g.tensors[b].dtype} bias with int16 activations is not supported (only int64: "
                    f"TFLite picks another kernel for int32 by the quantized_bias_type option)")
    return (_zero_points(g, node) or QP.activation(node) or QP.weight_scheme(g, node, 1, weight_axis)
            or _bias_scale(node, g))


def _bias(g, node, channels: int) -> np.ndarray:
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    return np.zeros(channels, np.int64) if b < 0 else g.const(b).astype(np.int64).ravel()


def _multipliers(node, g, channels: int) -> tuple:
    return QP.channel_multipliers(g, node.inputs[0], node.inputs[1], node.outputs[0], channels)


def _check_shifts(node, g, channels: int):
    _, shift = _multipliers(node, g, channels)
    if not all(Q.int64_multiplier_shift_ok(int(s)) for s in shift):
        return ("an effective scale (input * weight / output) of 2^14 or more: TFLite's int64 "
                "requantization is undefined there")
    return None


# ---- CONV_2D ---------------------------------------------------------------------------
def _check_conv(node, g):
    if len(node.inputs) < 3 or node.inputs[2] < 0:
        return "a quantized CONV_2D needs a bias (TFLite's Prepare requires one)"
    why = _check_linear(node, g, 0)
    if why is None and shape(g, node.inputs[0])[3] != shape(g, node.inputs[1])[3]:
        return "grouped convolution is not supported on quantized data"
    return why or _check_shifts(node, g, shape(g, node.inputs[1])[0])


def _conv_scratch(node, g) -> int:
    _, kh, kw, ic = shape(g, node.inputs[1])
    return kh * kw * ic * 2


def _conv(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    oc = shape(g, w)[0]
    _, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "Q16ConvParams", {**conv_geometry(node, g), "lo": lo, "hi": hi})
    mult, shift = _multipliers(node, g, oc)
    return (f"dlcoder_rt::conv2d_q16({params}, {e.src(x)}, {e.weights(g.const(w))}, "
            f"{e.weights(_bias(g, node, oc))}, {QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, "
            f"{e.scratch('int16_t')});")


# ---- DEPTHWISE_CONV_2D -------------------------------------------------------------------
def _check_dw(node, g):
    if len(node.inputs) < 3 or node.inputs[2] < 0:
        return "an int16 DEPTHWISE_CONV_2D without a bias is not supported"
    return _check_linear(node, g, 3) or _check_shifts(node, g, shape(g, node.inputs[1])[3])


def _dw_scratch(node, g) -> int:
    return shape(g, node.inputs[1])[3] * 8


def _depthwise(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    oc = shape(g, w)[3]
    _, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "Q16DepthwiseParams", {**conv_geometry(node, g, depthwise=True),
                                                 "lo": lo, "hi": hi})
    mult, shift = _multipliers(node, g, oc)
    return (f"dlcoder_rt::depthwise_conv2d_q16({params}, {e.src(x)}, {e.weights(g.const(w))}, "
            f"{e.weights(_bias(g, node, oc))}, {QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, "
            f"{e.scratch('int64_t')});")


# ---- FULLY_CONNECTED ---------------------------------------------------------------------
def _check_fc(node, g):
    if node.attrs.get("weights_format", 0) != 0:
        return "shuffled weights format is not supported"
    return _check_linear(node, g, 0)


def _fc(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    units, depth = shape(g, w)
    _, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "Q16FullyConnectedParams", {
        "rows": g.tensors[x].size // depth, "k": depth, "out_c": units, "lo": lo, "hi": hi})
    scales = g.tensors[w].quant.scales()
    if scales.size == 1:
        scales = np.repeat(scales, units)
    eff = Q.fc_int16_scales(QP.params(g, x)[0], scales, QP.params(g, y)[0])
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    bias = "nullptr" if b < 0 else e.weights(_bias(g, node, units))
    return (f"dlcoder_rt::fully_connected_q16({params}, {e.src(x)}, {e.weights(g.const(w))}, {bias}, "
            f"{e.weights(np.asarray(eff, np.float64))}, {e.dst(y)});")


# ---- LOGISTIC, TANH ------------------------------------------------------------------------
def _check_sigmoid(node, g):
    x, y = node.inputs[0], node.outputs[0]
    why = QP.per_tensor(g, node, (0,)) or _zero_points(g, node)
    if why:
        return why
    if g.tensors[y].dtype != "int16":
        return f"int16 {node.op} with a {g.tensors[y].dtype} output is not supported"
    so = QP.params(g, y)[0]
    if float(np.float32(so)) != 2.0 ** -15:   # TFLite's TANH Prepare allows 2^-15 within 1e-3 in log2: not measured
        return (f"output scale {so:g}: TFLite's int16 {node.op} takes only scale 1/32768 "
                f"(and zero point 0)")
    mult, shift = Q.sigmoid_int16_params(QP.params(g, x)[0], node.op)
    if mult == 0:
        return (f"input scale {QP.params(g, x)[0]:g} is 2^{shift - 12}: there TFLite computes int16 "
                f"{node.op} in gemmlowp fixed point, which is not implemented")
    if mult >= 1 << 16:
        return (f"input scale {QP.params(g, x)[0]:g} is too large: TFLite's int32 product of the "
                f"input and its multiplier {mult} overflows")
    return None


def _sigmoid(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    mult, shift = Q.sigmoid_int16_params(QP.params(g, x)[0], node.op)
    params = QP.struct(e, "Q16SigmoidParams", {"multiplier": mult, "shift": shift})
    fn = "logistic_q16" if node.op == "LOGISTIC" else "tanh_q16"
    return f"dlcoder_rt::{fn}({g.tensors[x].size}, {params}, {e.src(x)}, {e.dst(y)});"


# ---- SOFTMAX -----------------------------------------------------------------------------
def _check_softmax(node, g):
    x, y = node.inputs[0], node.outputs[0]
    why = QP.per_tensor(g, node, (0,)) or _zero_points(g, node)
    if why:
        return why
    if g.tensors[y].dtype != "int16":
        return f"int16 SOFTMAX with a {g.tensors[y].dtype} output is not supported"
    so = float(np.float32(QP.params(g, y)[0]))
    if abs(so - 1.0 / 32768) > 0.001 / 32768:
        return f"output scale {so:g}: TFLite's int16 SOFTMAX takes only scale 1/32768 (and zero point 0)"
    rank = len(shape(g, x))
    if not 1 <= rank <= 4:
        return f"a rank-{rank} int16 SOFTMAX: TFLite takes ranks 1 to 4"
    if shape(g, x)[-1] > 65536:
        return "an int16 SOFTMAX over more than 65536 values (TFLite's int32 sum overflows)"
    if not np.isfinite(np.float32(QP.params(g, x)[0]) * np.float32(node.attrs.get("beta", 1.0))):
        return "the input scale times beta is not finite"
    return None


def _softmax(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    depth = shape(g, x)[-1]
    mult, shift = Q.softmax_int16_multiplier(QP.params(g, x)[0], float(node.attrs.get("beta", 1.0)))
    exp_lut, recip_lut = Q.softmax_int16_luts()
    params = QP.struct(e, "Q16SoftmaxParams", {"rows": g.tensors[x].size // max(depth, 1), "depth": depth,
                                               "multiplier": mult, "shift": shift})
    return (f"dlcoder_rt::softmax_q16({params}, {e.src(x)}, {e.dst(y)}, {e.weights(exp_lut)}, "
            f"{e.weights(recip_lut)});")


_LINEAR = frozenset({"int16", "int8", "int32", "int64"})   # int32: refused by the check, by name
register("CONV_2D", header="qint16.h", dtypes=_LINEAR, check=_check_conv, scratch=_conv_scratch,
         variant="int16")(_conv)
register("DEPTHWISE_CONV_2D", header="qint16.h", dtypes=_LINEAR, check=_check_dw, scratch=_dw_scratch,
         variant="int16")(_depthwise)
register("FULLY_CONNECTED", header="qint16.h", dtypes=_LINEAR, check=_check_fc, variant="int16")(_fc)
register("LOGISTIC", "TANH", header="qint16.h", dtypes=frozenset({"int16"}), check=_check_sigmoid,
         variant="int16")(_sigmoid)
register("SOFTMAX", header="qint16.h", dtypes=frozenset({"int16"}), check=_check_softmax,
         variant="int16")(_softmax)
