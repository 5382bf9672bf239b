"""The int8 and uint8 variants of TRANSPOSE_CONV: 8-bit activations, 8-bit weights (int8
symmetric, per tensor or per output channel; uint8 per tensor with a zero point), optional
int32 bias; kernels in qtransposeconv.h.

Where every output rounds half up (int8 with out_c a multiple of 8, uint8 with a size that
is a multiple of 16), the phase form: one stride-1 convolution of the input per output
phase, run as CONV_2D's GEMM (weights packed per phase as qlinear.pack_panels, biases
folded per phase as CONV_2D's). Otherwise the image form:
as TFLite's transpose_conv.cc (optimized TransposeConvV2, which the interpreter runs):
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
from dlcoder.ops import qlinear as QL

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
    if _phase_form(node, g):
        return _node_scratch(node, g)
    return _image_scratch(node, g)


def _task_scratch(node, g) -> int:
    """The phase form splits over threads (its A rows per task); the image form runs on one."""
    return _phase_scratch(node, g) if _phase_form(node, g) else 0


def _image_scratch(node, g) -> int:
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


# ---- the phase form (qtransposeconv.h) ------------------------------------------------

def _taps(k: int, s: int, ph: int) -> list:
    """qtc_phase's taps of phase ph along one axis, in the order of rising input index."""
    return list(range(ph, k, s))[::-1]


def _rounds_up(node, g) -> bool:
    """Whether TFLite rounds every output half up (qtransposeconv.h: vec_channels, vec_elems)."""
    n, oh, ow, oc = shape(g, node.outputs[0])
    if g.tensors[node.inputs[2]].dtype == "int8":
        return oc % VEC_CHANNELS == 0
    return n * oh * ow * oc % VEC_ELEMS == 0


def _phase_matrices(node, g) -> list:
    """Per phase (py * stride_w + px), the weights [out_c][taps_y * taps_x * in_c]."""
    oc, kh, kw, ic = shape(g, node.inputs[1])
    weights = QP.weight_values(g, node.inputs[1])            # [oc][kh][kw][ic], zp subtracted
    sh, sw = node.attrs["stride_h"], node.attrs["stride_w"]
    out = []
    for py in range(sh):
        for px in range(sw):
            sub = weights[:, _taps(kh, sh, py)][:, :, _taps(kw, sw, px)]
            out.append(sub.reshape(oc, sub.shape[1] * sub.shape[2] * ic))
    return out


def _folded_biases(node, g, mats) -> list:
    """bias_u and bias_s (qlinear: the input zero point's share folded in) per phase,
    [phases][out_c padded to PANEL] each, or None where one does not fit int32."""
    x = node.inputs[2]
    oc = shape(g, node.inputs[1])[0]
    ocp = _round_up(oc, QL.PANEL)
    _, in_zp = QP.params(g, x)
    zp_u = in_zp + (128 if g.tensors[x].dtype == "int8" else 0)
    b = _bias_input(node)
    bias = np.zeros(oc, np.int64) if b < 0 else g.const(b).astype(np.int64).ravel()
    folded = np.zeros((2, len(mats), ocp), np.int64)
    for ph, m in enumerate(mats):
        sums = m.astype(np.int64).sum(axis=1)
        for d, zp in enumerate((zp_u, zp_u - 128)):
            folded[d, ph, :oc] = bias - zp * sums
    if np.abs(folded).max(initial=0) >= 2**31:
        return None
    return [f.astype(np.int32) for f in folded]


def _phase_form(node, g) -> bool:
    return _rounds_up(node, g) and _folded_biases(node, g, _phase_matrices(node, g)) is not None


def _phase_scratch(node, g) -> int:
    """One task's A rows (qlinear: MAX_ROWS rows of the largest kp, int16)."""
    return max(QL.MAX_ROWS * QL.packed_k(m.shape[1]) * 2 for m in _phase_matrices(node, g))


def _border(node, g) -> tuple:
    """qtransposeconv.h's qtc_border: (top, bottom, left, right), the rows and columns past
    the input that some phase's taps reach."""
    _, ih, iw, _ = shape(g, node.inputs[2])
    _, kh, kw, _ = shape(g, node.inputs[1])
    _, oh, ow, _ = shape(g, node.outputs[0])
    top, left = _padding(node, oh, ow, kh, kw)
    border = [0, 0, 0, 0]
    for axis, (k, s, pad, o, i) in enumerate(((kh, node.attrs["stride_h"], top, oh, ih),
                                              (kw, node.attrs["stride_w"], left, ow, iw))):
        for ph in range(s):
            taps = len(_taps(k, s, ph))
            o0 = (ph - pad) % s
            n = -(-(o - o0) // s) if o0 < o else 0
            before = taps - 1 - (o0 + pad - ph) // s
            if n > 0 and taps > 0:
                border[2 * axis] = max(border[2 * axis], before)
                border[2 * axis + 1] = max(border[2 * axis + 1], n - 1 - before + taps - 1 - (i - 1))
    return tuple(border)


def _node_scratch(node, g) -> int:
    """Task 0's A rows, or (int8 weights, in_c % 4 == 0: the direct kernel's, if it runs)
    the input copied with its border, whichever is larger."""
    rows = _phase_scratch(node, g)
    n, ih, iw, ic = shape(g, node.inputs[2])
    if g.tensors[node.inputs[1]].dtype != "int8" or ic % 4:
        return rows
    top, bottom, left, right = _border(node, g)
    return max(rows, n * (ih + top + bottom) * (iw + left + right) * ic)


def _transpose_conv_phases(node, g, e, params):
    x, w, y = node.inputs[2], node.inputs[1], node.outputs[0]
    dt = g.tensors[x].dtype
    mats = _phase_matrices(node, g)
    oc = shape(g, w)[0]
    ocp = _round_up(oc, QL.PANEL)
    packed = np.concatenate([QL.pack_panels(m).ravel() for m in mats])
    bias_u, bias_s = _folded_biases(node, g, mats)
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    mult, shift = QL._pad(np.asarray(mult, np.int32), ocp), QL._pad(np.asarray(shift, np.int32), ocp)
    wtype = "int8_t" if g.tensors[w].dtype == "int8" else "int16_t"
    return (f"dlcoder_rt::transpose_conv2d_q_phases<{CTYPES[dt]}, {wtype}>({e.par()}, {params}, {e.src(x)}, "
            f"{e.weights(packed)}, {e.weights(bias_u.ravel())}, {e.weights(bias_s.ravel())}, "
            f"{QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, {e.scratch('int16_t')});")


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
    if _phase_form(node, g):
        return _transpose_conv_phases(node, g, e, params)
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    b = _bias_input(node)
    bias = "nullptr" if b < 0 else e.weights(g.const(b).astype(np.int32).ravel())
    return (f"dlcoder_rt::transpose_conv2d_q<{CTYPES[dt]}>({params}, {e.src(x)}, "
            f"{e.weights(packed)}, {bias}, "
            f"{QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, {e.scratch('int64_t')});")


for _kind in ("int8", "uint8"):
    register("TRANSPOSE_CONV", header="qtransposeconv.h", dtypes={"int8", "uint8", "int32"},
             check=_check, scratch=_scratch, task_scratch=_task_scratch,
             variant=_kind)(_transpose_conv_q)
