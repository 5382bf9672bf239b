"""The int8 and uint8 variants of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: 8-bit
activations, 8-bit weights (int8 symmetric, per tensor or per output channel; uint8 per
tensor with a zero point), int32 bias; kernels in qlinear.h.

What TFLite computes per run from constants is computed here once: weights with their
zero point subtracted, the bias with the input zero point's share folded in, and one
multiplier and shift per output channel (dlcoder/quant.py). The kernels then only sum
products and requantize.
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import runtime_facts
from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import conv_geometry, shape

_8BIT = ("int8", "uint8")
PANEL = runtime_facts.constant("kQPanel")      # output channels per weight panel
GROUP = runtime_facts.constant("kQGroup")      # consecutive k per int32 lane
MAX_ROWS = runtime_facts.constant("kQMaxRows")  # A rows a GEMM kernel fills at once
AMX_ROWS = runtime_facts.constant("kQAmxRows")  # the same, of the AMX kernels (bytes)
AMX_SLACK = runtime_facts.constant("kQAmxSlack")  # bytes past those rows that AMX copies write


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def _pad(v: np.ndarray, n: int) -> np.ndarray:
    """v (one value per output channel) padded with zeros to n."""
    out = np.zeros(n, v.dtype)
    out[:v.size] = v
    return out


def _amx_block(kp: int) -> int:
    """simd_qlinear.h's amx_block: bytes per k block of the AMX kernels, or 0."""
    groups = kp // GROUP
    least = -(-groups // 16)
    return next((groups // nb * GROUP for nb in range(least, 2 * least + 1) if groups % nb == 0), 0)


def packed_k(k: int) -> int:
    """simd_qlinear.h's qgemm_kp: k padded to GROUP, and on to a length the AMX kernels can
    block when that adds at most an eighth."""
    kp = _round_up(max(k, 1), GROUP)
    return next((p for p in range(kp, kp + kp // 8 + 1, GROUP) if _amx_block(p) > 0), kp)


def pack_panels(w2d: np.ndarray) -> np.ndarray:
    """Weights [out_c][k] as the GEMM kernels read them (simd_qlinear.h): panels of PANEL
    output channels, k padded to packed_k(k), [panels][kp / GROUP][PANEL][GROUP]; zeros in
    the padding. The same for every instruction set."""
    oc, k = w2d.shape
    ocp, kp = _round_up(oc, PANEL), packed_k(k)
    full = np.zeros((ocp, kp), w2d.dtype)
    full[:oc, :k] = w2d
    return np.ascontiguousarray(
        full.reshape(ocp // PANEL, PANEL, kp // GROUP, GROUP).transpose(0, 2, 1, 3))


def _gemm_constants(g, node, w2d: np.ndarray, x: int, w: int, y: int, e) -> str:
    """The `w, bias_u, bias_s, mult, shift` kernel arguments of CONV_2D / FULLY_CONNECTED:
    packed weights, and every zero-point term folded into two biases, one per activation
    domain of the kernels (simd_qlinear.h): u = x + 128 for int8 (x for uint8), and u - 128."""
    oc = w2d.shape[0]
    ocp = _round_up(oc, PANEL)
    _, in_zp = QP.params(g, x)
    zp_u = in_zp + (128 if g.tensors[x].dtype == "int8" else 0)
    sums = w2d.astype(np.int64).sum(axis=1)
    bias = _bias(g, node, oc)
    folded = []
    for zp in (zp_u, zp_u - 128):
        b = bias - zp * sums
        if np.abs(b).max(initial=0) >= 2**31:
            raise OverflowError("a folded bias does not fit int32")
        folded.append(_pad(b.astype(np.int32), ocp))
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    mult, shift = _pad(np.asarray(mult, np.int32), ocp), _pad(np.asarray(shift, np.int32), ocp)
    return (f"{e.weights(pack_panels(w2d))}, {e.weights(folded[0])}, {e.weights(folded[1])}, "
            f"{QP.requant_arrays(e, mult, shift)}")


def _gemm_scratch(k: int, rows: int) -> int:
    """Bytes of one task's A rows (qlinear.h) for a GEMM of `rows` x k: up to MAX_ROWS rows
    of int16 (the SIMD kernels), or for more than 2 rows (use_amx) the AMX kernels' one or
    two tiles of 16 rows (amx_buffer)."""
    kp = packed_k(k)
    amx = (AMX_ROWS if rows > AMX_ROWS // 2 else AMX_ROWS // 2) * kp + AMX_SLACK if rows > 2 else 0
    return max(min(rows, MAX_ROWS) * kp * 2, amx)


def _check(node, g, weight_axis: int):
    x, w = node.inputs[0], node.inputs[1]
    if not g.tensors[w].is_const:
        return "the weights must be a constant"
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    if b >= 0 and not g.tensors[b].is_const:
        return "the bias must be a constant"
    if b >= 0 and g.tensors[b].dtype != "int32":
        return f"a {g.tensors[b].dtype} bias is not supported with {g.tensors[x].dtype} activations"
    if g.tensors[w].dtype not in _8BIT:
        return f"{g.tensors[w].dtype} weights are not supported with {g.tensors[x].dtype} activations"
    return (QP.activation(node) or QP.per_tensor(g, node, (0,)) or
            QP.weight_scheme(g, node, 1, weight_axis) or _bias_scale(node, g))


def _bias_scale(node, g):
    """TFLite's Prepare (GetQuantizedConvolutionMultipler) of per-tensor weights: the bias's
    scale (0 when it has one per channel) within 2% of an output step of input * weight scale."""
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    if b < 0 or g.tensors[node.inputs[1]].quant.per_channel:
        return None
    q = g.tensors[b].quant
    bias_scale = q.scale[0] if q is not None and not q.per_channel else 0.0
    product = float(np.float32(QP.params(g, node.inputs[0])[0]) * np.float32(g.tensors[node.inputs[1]].quant.scale[0]))
    if abs(product - bias_scale) / QP.params(g, node.outputs[0])[0] > 0.02:
        return (f"the bias scale {bias_scale:g} is not input scale * weight scale ({product:g}); "
                f"TFLite's Prepare rejects that")
    return None


def _bias(g, node, channels: int) -> np.ndarray:
    b = node.inputs[2] if len(node.inputs) > 2 else -1
    return np.zeros(channels, np.int64) if b < 0 else g.const(b).astype(np.int64).ravel()


def _types(g, node) -> str:
    return f"{CTYPES[g.tensors[node.inputs[0]].dtype]}, {'int8_t' if g.tensors[node.inputs[1]].dtype == 'int8' else 'int16_t'}"


# ---- CONV_2D -------------------------------------------------------------------------

def _check_conv(node, g):
    if len(node.inputs) < 3 or node.inputs[2] < 0:
        return "a quantized CONV_2D needs a bias (TFLite's Prepare requires one)"
    why = _check(node, g, 0)
    if why is None and shape(g, node.inputs[0])[3] != shape(g, node.inputs[1])[3]:
        return "grouped convolution is not supported on quantized data"
    return why


def _conv_scratch(node, g) -> int:
    _, kh, kw, ic = shape(g, node.inputs[1])
    n, oh, ow, _ = shape(g, node.outputs[0])
    return max(_gemm_scratch(kh * kw * ic, n * oh * ow), _direct_scratch(node, g), _stem_scratch(node, g))


def stem_fits(c: dict) -> bool:
    """simd_qstem.h: qstem_fits, of a conv_geometry."""
    return (c["in_c"] <= 4 and c["dil_h"] == 1 and c["dil_w"] == 1 and c["stride_w"] * c["in_c"] <= 8
            and c["k_w"] * c["in_c"] >= 3)


def direct_fits(c: dict) -> bool:
    """simd_qconv_direct.h: qconv_direct_fits, of a conv_geometry."""
    return c["k_h"] * c["k_w"] > 1 and c["in_c"] >= 8 and c["in_c"] % 4 == 0


def _stem_scratch(node, g) -> int:
    """simd_qstem.h's buffers (qstem_fits, qstem_scratch): per 4 k a vector of 64 bytes and
    16 table bytes, 32 bytes per output channel of whole panels, and k_h copied input rows
    (the columns of whole 16-pixel blocks, 128 bytes of slack, to 64 bytes), for int8
    weights, in_c <= 4, no dilation, stride_w * in_c <= 8 and k_w * in_c >= 3."""
    if _conv_kernel(node, g) != "kStem":
        return 0
    c = conv_geometry(node, g)
    groups = -(-c["k_h"] * c["k_w"] * c["in_c"] // GROUP)
    row = _round_up(((_round_up(c["out_w"], 16) - 1) * c["stride_w"] + c["k_w"]) * c["in_c"] + 128, 64)
    return groups * 80 + _round_up(c["out_c"], PANEL) * 32 + c["k_h"] * row


def _direct_scratch(node, g) -> int:
    """simd_qconv_direct.h's copy of the input (qconv_direct_fits, qconv_direct_scratch):
    the padded rows of a whole image's windows, for int8 weights, a window of more than one
    tap, in_c >= 8 and a multiple of 4."""
    if _conv_kernel(node, g) != "kDirect":
        return 0
    c = conv_geometry(node, g)
    right = max(0, (c["out_w"] - 1) * c["stride_w"] + (c["k_w"] - 1) * c["dil_w"] + 1 - c["pad_left"] - c["in_w"])
    rows = (c["out_h"] - 1) * c["stride_h"] + (c["k_h"] - 1) * c["dil_h"] + 1
    return rows * (c["pad_left"] + c["in_w"] + right) * c["in_c"]


def _conv_kernel(node, g) -> str:
    """qlinear.h's QConvKernel of this conv: with int8 weights, the direct or the stem kernel
    where its geometry fits (the two never both do), else the GEMM."""
    if g.tensors[node.inputs[1]].dtype == "int8":
        c = conv_geometry(node, g)
        if direct_fits(c):
            return "kDirect"
        if stem_fits(c):
            return "kStem"
    return "kGemm"


def _conv_q(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    oc = shape(g, w)[0]
    weights = QP.weight_values(g, w).reshape(oc, -1)
    zp, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "QConvParams", {
        **conv_geometry(node, g), "in_zp": QP.params(g, x)[1], "out_zp": zp, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::conv2d_q<dlcoder_rt::QConvKernel::{_conv_kernel(node, g)}, {_types(g, node)}>("
            f"{e.par()}, {params}, {e.src(x)}, "
            f"{_gemm_constants(g, node, weights, x, w, y, e)}, {e.dst(y)}, {e.scratch('int16_t')});")


# ---- FULLY_CONNECTED -------------------------------------------------------------------
def _check_fc(node, g):
    if node.attrs.get("weights_format", 0) != 0:
        return "shuffled weights format is not supported"
    return _check(node, g, 0)


def _fc_q(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    units, depth = shape(g, w)
    weights = QP.weight_values(g, w)
    zp, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "QFullyConnectedParams", {
        "rows": g.tensors[x].size // depth, "k": depth, "out_c": units, "out_zp": zp, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::fully_connected_q<{_types(g, node)}>({e.par()}, {params}, {e.src(x)}, "
            f"{_gemm_constants(g, node, weights, x, w, y, e)}, {e.dst(y)}, {e.scratch('int16_t')});")


def _fc_scratch(node, g) -> int:
    depth = shape(g, node.inputs[1])[1]
    return _gemm_scratch(depth, g.tensors[node.inputs[0]].size // depth)


_DTYPES = frozenset({"int8", "uint8", "int32"})
for _kind in _8BIT:
    register("CONV_2D", header="qlinear.h", dtypes=_DTYPES, check=_check_conv, scratch=_conv_scratch,
             task_scratch=_conv_scratch, variant=_kind)(_conv_q)
    register("FULLY_CONNECTED", header="qlinear.h", dtypes=_DTYPES, check=_check_fc, scratch=_fc_scratch,
             task_scratch=_fc_scratch, variant=_kind)(_fc_q)
