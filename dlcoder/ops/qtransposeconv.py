"""The int8 and uint8 variants of TRANSPOSE_CONV: 8-bit activations, 8-bit weights (int8
symmetric, per tensor or per output channel; uint8 per tensor with a zero point), optional
int32 bias; kernel in qtransposeconv.h.

As TFLite's transpose_conv.cc (optimized TransposeConvV2, which the interpreter runs):
products (formed as small int16 GEMMs over pairs of input channels; the weights packed for
them here, qtransposeconv.h) scattered into an int32 image of the output's size, bias added, then one
multiplier per output channel (dlcoder/quant.py: input * weight / output scale in double)
and the fused activation's range. Which accumulators round half up and which half away is
what the pip build does (qtransposeconv.h; tests/test_quantized_misc.py).

What TFLite's Prepare rejects, we reject: a bias with a nonzero zero point (int8), uint8
weights with one scale per channel, and (uint8 only: kernel_util's legacy check) a bias
scale off input scale * weight scale by more than 2% of the output scale. The int16x8
variant is not supported.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import shape

VEC_CHANNELS = 8      # int8: TFLite's per-channel Quantize takes channels 8 at a time
VEC_ELEMS = 16        # uint8: its per-tensor Quantize walks the flat output 16 at a time


def _bias_input(node) -> int:
    return node.inputs[3] if len(node.inputs) > 3 else -1


def _check(node, g):
    w, x = node.inputs[1], node.inputs[2]
    dt = g.tensors[x].dtype
    if not g.tensors[w].is_const:
        return "the filter must be a constant"
    b = _bias_input(node)
    if b >= 0:
        tb = g.tensors[b]
        if not tb.is_const:
            return "the bias must be a constant"
        if tb.dtype != "int32":
            return f"a {tb.dtype} bias is not supported with {dt} activations"
        if dt == "int8" and tb.quant is not None and any(tb.quant.zero_point):
            return "the bias has a nonzero zero point (TFLite's Prepare requires 0)"
    if g.tensors[w].dtype != dt:
        return f"{g.tensors[w].dtype} weights are not supported with {dt} activations"
    why = QP.activation(node) or QP.per_tensor(g, node, (2,)) or QP.weight_scheme(g, node, 1, 0)
    if why is not None:
        return why
    if dt == "uint8" and g.tensors[w].quant.per_channel:
        return "uint8 weights quantized per channel (TFLite's Prepare takes them per tensor only)"
    return _bias_scale(node, g) if dt == "uint8" else None


def _bias_scale(node, g):
    """kernel_util's GetQuantizedConvolutionMultipler, which TFLite runs for uint8: the
    bias scale (0 without quantization) within 2% of an output step of input * weight scale."""
    b = _bias_input(node)
    if b < 0:
        return None
    q = g.tensors[b].quant
    bias_scale = float(q.scale[0]) if q is not None else 0.0
    product = float(np.float32(QP.params(g, node.inputs[2])[0]) *
                    np.float32(g.tensors[node.inputs[1]].quant.scale[0]))
    if abs(product - bias_scale) / QP.params(g, node.outputs[0])[0] > 0.02:
        return (f"the bias scale {bias_scale:g} is not input scale * weight scale ({product:g}); "
                f"TFLite's Prepare rejects that")
    return None


OUT_CP = 16           # the kernel's channel block: out_c is padded to a multiple of it


def _scratch(node, g) -> int:
    """Per-channel requantization constants (3 int64 and 2 int32 per padded channel), the
    int32 accumulator image (channels padded to OUT_CP) and one input row's pairs."""
    _, oh, ow, oc = shape(g, node.outputs[0])
    _, _, iw, ic = shape(g, node.inputs[2])
    ocp = _round_up(oc, OUT_CP)
    return 32 * ocp + (oh * ow * ocp + iw * ((ic + 1) // 2)) * 4


def _round_up(n: int, m: int) -> int:
    return (n + m - 1) // m * m


def _padding(node, oh: int, ow: int, kh: int, kw: int) -> tuple:
    """TFLite's padding of a conv from the output (stride, no dilation) back to the input."""
    if node.attrs.get("padding", "SAME") != "SAME":
        return 0, 0
    sh, sw = node.attrs["stride_h"], node.attrs["stride_w"]
    top = max(((oh + sh - 1) // sh - 1) * sh + kh - oh, 0) // 2
    left = max(((ow + sw - 1) // sw - 1) * sw + kw - ow, 0) // 2
    return top, left


def _transpose_conv_q(node, g, e):
    w, x, y = node.inputs[1], node.inputs[2], node.outputs[0]
    n, ih, iw, ic = shape(g, x)
    oc, kh, kw, _ = shape(g, w)
    _, oh, ow, _ = shape(g, y)
    top, left = _padding(node, oh, ow, kh, kw)
    dt = g.tensors[x].dtype
    weights = QP.weight_values(g, w)                       # [oc][kh][kw][ic], zp subtracted
    _, in_zp = QP.params(g, x)
    kp, ocp = (ic + 1) // 2, _round_up(oc, OUT_CP)
    # [kh][kw][kp][ocp][2]: input channels 2k and 2k + 1 side by side, zeros as padding
    padded = np.zeros((kh, kw, 2 * kp, ocp), np.int16)
    padded[:, :, :ic, :oc] = weights.transpose(1, 2, 3, 0)
    packed = np.ascontiguousarray(padded.reshape(kh, kw, kp, 2, ocp).transpose(0, 1, 2, 4, 3))
    zp, lo, hi = QP.out_range(node, g)
    size = n * oh * ow * oc
    params = QP.struct(e, "QTransposeConvParams", {
        "batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "pad_top": top, "pad_left": left, "in_zp": in_zp, "k_pairs": kp, "out_cp": ocp,
        "out_zp": zp, "lo": lo, "hi": hi,
        "vec_channels": oc // VEC_CHANNELS * VEC_CHANNELS if dt == "int8" else oc,
        "vec_elems": size if dt == "int8" else size // VEC_ELEMS * VEC_ELEMS})
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    b = _bias_input(node)
    bias = "nullptr" if b < 0 else e.weights(g.const(b).astype(np.int32).ravel())
    return (f"dlcoder_rt::transpose_conv2d_q<{CTYPES[dt]}>({params}, {e.src(x)}, "
            f"{e.weights(packed)}, {bias}, "
            f"{QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, {e.scratch('int64_t')});")


for _kind in ("int8", "uint8"):
    register("TRANSPOSE_CONV", header="qtransposeconv.h", dtypes={"int8", "uint8", "int32"},
             check=_check, scratch=_scratch, variant=_kind)(_transpose_conv_q)
