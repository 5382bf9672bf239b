"""The dynamic-range ("hybrid") variants of FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D:
float32 activations, constant int8 weights, float32 bias; kernels in qhybrid.h.

As TFLite's hybrid kernels (fully_connected.cc EvalHybrid, conv.cc EvalHybrid and
EvalHybridPerChannel, depthwise_conv.cc EvalHybridPerChannel): the input is quantized to
int8 at run time, one scale (and zero point) per batch row, multiplied in integers with the
int8 weights, and scaled back by input scale * weight scale; the weights stay int8.

Which quantization of the input each op takes, as TFLite decides it:
- FULLY_CONNECTED: one row per `k` inputs; asymmetric when its option
  asymmetric_quantize_inputs is set, else symmetric.
- CONV_2D: one row per image; asymmetric when the weights have per-channel scales that
  differ (TFLite's per-channel path), else symmetric with the first scale.
- DEPTHWISE_CONV_2D: one row per image, always asymmetric, per-channel scales.

Generation time computes the weight row sums (for the zero point) and the per-channel
scales (dlcoder/quant.py). The row sums are those of TFLite's x86 ReductionSumVector
(quant.hybrid_sse_row_sums: int16 lanes that wrap for long rows of one sign), and the
zero point's share comes off in int32 (dot - zp * row_sum), as its FULLY_CONNECTED (SSE
MatrixBatchVectorMultiplyAccumulate) and per-channel CONV_2D (ruy GEMM, then Eigen) do.
The int8 dot product is exact except where TFLite's SSSE3 kernel multiplies
(FULLY_CONNECTED; CONV_2D's per-tensor path when out_c % 4 != 0): there a weight -128 in
a whole block of 16 counts as +128 against a negative input; weights holding one get the
runtime's hybrid_dot_sse (quant.hybrid_sse_dot_differs). DEPTHWISE_CONV_2D's int32 sums
of (q - zp) * w are exact and need no row sums; its float(sum) is multiplied by the
weight scale, then the input scale, on the channels of TFLite's vector loop (whole groups
of 4), and in the other order on the rest (measured: tests/test_quantized_hybrid.py).

The integer sums run on the int8 kernels' packed layouts (ops/qlinear.py pack_panels,
ops/qdepthwise.py pack_weights), with the zero point's share folded into their int32 bias
at run time from the sums given here; only the weights for which TFLite's SSSE3 dot
differs keep the scalar loops (conv2d_hybrid_sse, fully_connected_hybrid_sse), which are
slow: per-tensor symmetric weights holding -128, which symmetric quantization never makes.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import act_range, conv_geometry, shape
from dlcoder.ops import qdepthwise as QD
from dlcoder.ops import qlinear as QL

_CLAMPS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
_FMAX = float(np.finfo(np.float32).max)


def _check(node, g, weight_axis: int):
    w = node.inputs[1]
    if len(node.inputs) > 3 or "epilogue" in node.attrs or "residual_act" in node.attrs:
        # a residual, input scale or epilogue a fusion pass put into the node
        return "a dynamic-range quantized op takes no fused residual, input scale or epilogue"
    if not g.tensors[w].is_const:
        return "the weights must be a constant"
    if g.tensors[w].dtype != "int8":
        return (f"{g.tensors[w].dtype} weights with float activations are not supported "
                "(dynamic-range quantization takes int8 weights)")
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    if b >= 0 and (not g.tensors[b].is_const or g.tensors[b].dtype != "float32"):
        return "the bias of a dynamic-range quantized op must be a float32 constant"
    act = node.attrs.get("fused_activation_function", "NONE")
    if act not in _CLAMPS:
        return f"fused activation {act} is not supported with dynamic-range quantization"
    return QP.weight_scheme(g, node, 1, weight_axis)


def _bounds(node, unbounded: float) -> tuple:
    """(lo, hi) of the fused activation; without a bound, +-unbounded."""
    rng = act_range(node) or (None, None)
    return (float(rng[0]) if rng[0] is not None else -unbounded,
            float(rng[1]) if rng[1] is not None else unbounded)


def _bias(g, node, channels: int):
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    return None if b < 0 else g.const(b).astype(np.float32).ravel()


def _bias_arg(e, g, node, channels: int) -> str:
    b = _bias(g, node, channels)
    return "nullptr" if b is None else e.weights(b)


def _panels(v: np.ndarray) -> np.ndarray:
    """Per-channel values padded with zeros to whole GEMM panels."""
    return QL._pad(v, QL._round_up(v.size, QL.PANEL))


def _gemm_scratch(n: int, oc: int, k: int, rows: int) -> int:
    """Bytes of a GEMM op's scratch (qhybrid.h HybridGemmScratch): the quantized row of n
    values, the fold of oc channels, the GEMM's task scratch of rows x k."""
    return QL._round_up(n, 64) + 3 * 4 * QL._round_up(oc, QL.PANEL) + QL._gemm_scratch(k, rows)


def _gemm_constants(g, node, w2d: np.ndarray, scales: np.ndarray, e) -> str:
    """The `w, row_sums, w_sums, w_scale, bias` arguments of the GEMM kernels."""
    oc = w2d.shape[0]
    bias = _bias(g, node, oc)
    return (f"{e.weights(QL.pack_panels(w2d))}, {e.weights(_panels(Q.hybrid_sse_row_sums(w2d)))}, "
            f"{e.weights(_panels(Q.hybrid_row_sums(w2d)))}, {e.weights(_panels(scales.astype(np.float32)))}, "
            f"{e.weights(_panels(np.zeros(oc, np.float32) if bias is None else bias))}")


# ---- FULLY_CONNECTED -------------------------------------------------------------------
def _check_fc(node, g):
    if node.attrs.get("weights_format", 0) != 0:
        return "shuffled weights format is not supported"
    return _check(node, g, 0)


def _fc_sse(node, g) -> bool:
    return Q.hybrid_sse_dot_differs(g.tensors[node.inputs[1]].data)


def _fc_scratch(node, g) -> int:
    units, depth = shape(g, node.inputs[1])
    return depth if _fc_sse(node, g) else _gemm_scratch(depth, units, depth, 1)  # one GEMM per row


def _fc_task_scratch(node, g) -> int:
    return 0 if _fc_sse(node, g) else QL._gemm_scratch(shape(g, node.inputs[1])[1], 1)


def _fc_h(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    units, depth = shape(g, w)
    weights = g.tensors[w].data
    scales = Q.hybrid_weight_scales(g.tensors[w], units)
    # FC applies its activation to the floats as they are: no bound, no clamp
    lo, hi = _bounds(node, float("inf"))
    params = QP.struct(e, "HybridFullyConnectedParams", {
        "rows": g.tensors[x].size // depth, "k": depth, "out_c": units,
        "asymmetric": int(bool(node.attrs.get("asymmetric_quantize_inputs", False))), "lo": lo, "hi": hi})
    if _fc_sse(node, g):
        return (f"dlcoder_rt::fully_connected_hybrid_sse({params}, {e.src(x)}, {e.weights(weights)}, "
                f"{e.weights(Q.hybrid_sse_row_sums(weights))}, {e.weights(scales)}, "
                f"{_bias_arg(e, g, node, units)}, {e.dst(y)}, {e.scratch('int8_t')});")
    return (f"dlcoder_rt::fully_connected_hybrid({e.par()}, {params}, {e.src(x)}, "
            f"{_gemm_constants(g, node, weights, scales, e)}, {e.dst(y)}, {e.scratch('void')});")


# ---- CONV_2D -----------------------------------------------------------------------------
def _check_conv(node, g):
    why = _check(node, g, 0)
    if why is not None:
        return why
    if shape(g, node.inputs[0])[3] != shape(g, node.inputs[1])[3]:
        return "grouped convolution is not supported with dynamic-range quantization"
    dil = (node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1))
    if dil != (1, 1) and Q.hybrid_conv_per_channel(g.tensors[node.inputs[1]]):
        # TFLite's per-channel hybrid kernel runs it without dilation on an output sized
        # with it: not a convolution to reproduce
        return "dilated CONV_2D with per-channel dynamic-range weights is not supported"
    return None


def _conv_sse(node, g) -> bool:
    """TFLite's per-tensor path multiplies with its SSE kernel unless out_c % 4 == 0 (then
    ruy's GEMM, exact); the per-channel path always with ruy's GEMM."""
    t = g.tensors[node.inputs[1]]
    oc = t.shape[0]
    return (not Q.hybrid_conv_per_channel(t) and oc % 4 != 0 and
            Q.hybrid_sse_dot_differs(t.data.reshape(oc, -1)))


def _conv_scratch(node, g) -> int:
    _, ih, iw, ic = shape(g, node.inputs[0])
    oc, kh, kw, _ = shape(g, node.inputs[1])
    if _conv_sse(node, g):
        return ih * iw * ic + kh * kw * ic
    _, oh, ow, _ = shape(g, node.outputs[0])
    return _gemm_scratch(ih * iw * ic, oc, kh * kw * ic, oh * ow)  # one GEMM per image


def _conv_task_scratch(node, g) -> int:
    _, kh, kw, ic = shape(g, node.inputs[1])
    _, oh, ow, _ = shape(g, node.outputs[0])
    return 0 if _conv_sse(node, g) else QL._gemm_scratch(kh * kw * ic, oh * ow)


def _conv_h(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    oc = shape(g, w)[0]
    weights = g.tensors[w].data.reshape(oc, -1)
    lo, hi = _bounds(node, _FMAX)
    per_channel = Q.hybrid_conv_per_channel(g.tensors[w])
    scales = Q.hybrid_weight_scales(g.tensors[w], oc)
    if not per_channel:
        scales = np.full(oc, scales[0], np.float32)
    params = QP.struct(e, "HybridConvParams", {
        **conv_geometry(node, g), "asymmetric": int(per_channel), "lo": lo, "hi": hi})
    if _conv_sse(node, g):
        return (f"dlcoder_rt::conv2d_hybrid_sse({params}, {e.src(x)}, {e.weights(weights)}, "
                f"{e.weights(Q.hybrid_sse_row_sums(weights))}, {e.weights(scales)}, "
                f"{_bias_arg(e, g, node, oc)}, {e.dst(y)}, {e.scratch('int8_t')});")
    return (f"dlcoder_rt::conv2d_hybrid({e.par()}, {params}, {e.src(x)}, "
            f"{_gemm_constants(g, node, weights, scales, e)}, {e.dst(y)}, {e.scratch('void')});")


# ---- DEPTHWISE_CONV_2D -------------------------------------------------------------------
def _check_dw(node, g):
    why = _check(node, g, 3)
    if why is not None:
        return why
    t = g.tensors[node.inputs[1]]
    if not t.quant.per_channel:
        # TFLite reads one scale per output channel from the weights' scale array
        return "DEPTHWISE_CONV_2D with dynamic-range weights needs one scale per output channel"
    return None


def _dw_scratch(node, g) -> int:
    """The quantized image, the folded bias and two scales, then the int8 kernels' scratch
    (qhybrid.h)."""
    _, ih, iw, ic = shape(g, node.inputs[0])
    oc = shape(g, node.inputs[1])[3]
    return QL._round_up(ih * iw * ic, 64) + 3 * 4 * QL._round_up(oc, QD.LANES) + QD._dw_scratch(node, g)


def _depthwise_h(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    oc = shape(g, w)[3]
    lo, hi = _bounds(node, _FMAX)
    # TFLite's vector loop takes the channels in groups of 4 (its scalar loop, the rest,
    # multiplies by the scales the other way round)
    params = QP.struct(e, "HybridDepthwiseParams", {**conv_geometry(node, g, depthwise=True),
                                                    "vec_channels": oc // 4 * 4, "lo": lo, "hi": hi})
    packed, wt, lanes = QD.pack_weights(g.tensors[w].data)
    lane_sums = QD._wrap32(wt.sum(0))[lanes]
    bias = _bias(g, node, oc)
    bias = np.zeros(oc, np.float32) if bias is None else bias
    scales = Q.hybrid_weight_scales(g.tensors[w], oc).astype(np.float32)
    return (f"dlcoder_rt::depthwise_conv2d_hybrid({e.par()}, {params}, {e.src(x)}, {e.weights(packed)}, "
            f"{e.weights(lane_sums)}, {e.weights(QD.fit_lanes(scales, oc))}, {e.weights(QD.fit_lanes(bias, oc))}, "
            f"{e.dst(y)}, {e.scratch('void')});")


_DTYPES = frozenset({"float32", "int8"})
register("FULLY_CONNECTED", header="qhybrid.h", dtypes=_DTYPES, check=_check_fc, scratch=_fc_scratch,
         task_scratch=_fc_task_scratch, variant="hybrid")(_fc_h)
register("CONV_2D", header="qhybrid.h", dtypes=_DTYPES, check=_check_conv, scratch=_conv_scratch,
         task_scratch=_conv_task_scratch, variant="hybrid")(_conv_h)
register("DEPTHWISE_CONV_2D", header="qhybrid.h", dtypes=_DTYPES, check=_check_dw, scratch=_dw_scratch,
         task_scratch=QD._dw_scratch, variant="hybrid")(_depthwise_h)
