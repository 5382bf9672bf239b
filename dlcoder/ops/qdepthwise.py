"""The int8 and uint8 variants of DEPTHWISE_CONV_2D: 8-bit activations, 8-bit weights
(int8 symmetric per tensor or per output channel; uint8 per tensor with a zero point),
int32 bias, requantized per output channel; kernels in qdepthwise.h.
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import runtime_facts
from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import conv_geometry, shape
from dlcoder.ops.qlinear import _DTYPES, _8BIT, _bias, _check, _pad, _round_up

DW_BLOCK = 8  # output channels per block of TFLite's int8 vector loop (rounds half up)
LANES = runtime_facts.constant("kDwLanes")  # channels per block of the packed layout
VNNI_LANES = runtime_facts.constant("kVnniLanes")  # the same for the VNNI kernels


# ---- DEPTHWISE_CONV_2D -----------------------------------------------------------------
def _dw_task_scratch(node, g) -> int:
    """Per task: pointers to input rows and to every column's taps, and staged taps
    (simd_qdepthwise.h, before DwRowTaps)."""
    _, kh, kw, _ = shape(g, node.inputs[1])
    taps = -(-kh * kw // 4) * 4
    return (kh + (shape(g, node.outputs[0])[2] + 2) * taps) * 8 + taps * LANES


def _dw_scratch(node, g) -> int:
    """The zero row (in_w * in_c bytes, rounded up to 64), then a task's scratch."""
    _, _, iw, ic = shape(g, node.inputs[0])
    return _round_up(iw * ic, 64) + _dw_task_scratch(node, g)


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def _lane_channels(channels: int) -> np.ndarray:
    """[blocks][2][16]: the channel of lane i of half h of each block (simd_qdepthwise.h).
    Fewer channels than a block, a divisor of it, repeat across the block: the kernels
    then take neighbouring pixels side by side."""
    i = np.arange(16)
    lane = np.stack([8 * (i // 4) + 4 * h + i % 4 for h in range(2)])
    lanes = np.arange(_round_up(channels, LANES) // LANES)[:, None, None] * LANES + lane[None]
    return lanes % channels if LANES % channels == 0 else lanes


def _vnni_lanes(channels: int) -> np.ndarray:
    """[blocks][4 accumulators][16]: the channel of lane i of accumulator a of each block of
    the VNNI layout (simd_qdepthwise.h), repeated like _lane_channels."""
    i = np.arange(16)
    lane = np.stack([16 * (i // 4) + 4 * a + i % 4 for a in range(4)])
    blocks = _round_up(channels, VNNI_LANES) // VNNI_LANES
    lanes = np.arange(blocks)[:, None, None] * VNNI_LANES + lane[None]
    return lanes % channels if VNNI_LANES % channels == 0 else lanes


def pack_vnni(w: np.ndarray, bias: np.ndarray, in_zp: int, mult, shift, vec_channels: int):
    """The int8 arrays of the VNNI kernels (simd_qdepthwise.h: QDwVnni) from weights
    [1][kh][kw][channels] in [-128, 127], the int32 bias and per-channel mult and shift:
    (weights int8 [quads][blocks][4][16][4 taps], bias, left, rq)."""
    _, kh, kw, oc = w.shape
    taps, quads = kh * kw, -(-kh * kw // 4)
    ldv = _round_up(oc, VNNI_LANES)
    lanes = _vnni_lanes(oc)
    wt = np.zeros((4 * quads, ldv), np.int64)
    wt[:taps, :oc] = w.reshape(taps, oc)
    packed = wt.reshape(quads, 4, ldv)[:, :, lanes].transpose(0, 2, 3, 4, 1).astype(np.int8)
    # the inputs enter as x + 128; taps outside the input read in_zp (see _depthwise_q)
    vbias = _wrap32(_pad(bias, ldv) - (in_zp + 128) * wt.sum(0))[lanes]
    mult, shift = _pad(np.asarray(mult, np.int32), ldv), _pad(np.asarray(shift, np.int32), ldv)
    left = np.maximum(shift, 0).astype(np.int32)[lanes]
    rq = _requant_lanes(mult, shift, vec_channels, lanes.reshape(-1, 2, 16))
    return packed, vbias, left, rq


def _requant_lanes(mult, shift, vec_channels, lanes):
    """int64 [blocks][2 halves][2 parities][4 fields][8]: multiplier, add, sh, away of the
    channel of lane 2k + parity (the requantization of simd_qdepthwise.h)."""
    mult, shift = mult.astype(np.int64), shift.astype(np.int64)
    rs = np.maximum(-shift, 0)
    add = 2**30 + np.where(rs > 0, np.left_shift(1, 30 + rs), 0)
    away = np.where((np.arange(mult.size) >= vec_channels) & (rs > 0), 2**31, 0)
    fields = np.stack([mult, add, 31 + rs, away], -1)[lanes]           # [blocks][2][16][4]
    blocks = lanes.shape[0]
    return fields.reshape(blocks, 2, 8, 2, 4).transpose(0, 1, 3, 4, 2).astype(np.int64)


def fit_lanes(v: np.ndarray, channels: int) -> np.ndarray:
    """Per-channel values padded to whole blocks, or repeated across them where the lanes
    repeat the channels (_lane_channels)."""
    return (np.resize if LANES % channels == 0 else _pad)(v, _round_up(channels, LANES))


def pack_weights(w: np.ndarray):
    """Weights [1][kh][kw][channels] as the kernels read them (simd_qdepthwise.h): (int16
    [pairs][blocks][2][16][2 taps], the weights [2 * pairs][padded channels] as int64 with
    zeros past the taps and channels, the lane channels [blocks][2][16])."""
    _, kh, kw, oc = w.shape
    taps, pairs = kh * kw, -(-kh * kw // 2)
    ldw = _round_up(oc, LANES)
    lanes = _lane_channels(oc)
    wt = np.zeros((2 * pairs, ldw), np.int64)          # an odd tap count ends with zero weights
    wt[:taps, :oc] = w.reshape(taps, oc)
    # [pairs][blocks][2][16][2 taps]
    packed = wt.reshape(pairs, 2, ldw)[:, :, lanes].transpose(0, 2, 3, 4, 1).astype(np.int16)
    return packed, wt, lanes


def _depthwise_q(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    _, kh, kw, oc = shape(g, w)
    zp, lo, hi = QP.out_range(node, g)
    in_zp = QP.params(g, x)[1]
    # int8: TFLite's vector loop takes the output channels in blocks of 8 (rounding
    # half up), its scalar loop the rest (half away); uint8 rounds half away throughout
    vec_channels = oc // DW_BLOCK * DW_BLOCK if g.tensors[x].dtype == "int8" else 0
    params = QP.struct(e, "QDepthwiseParams", {
        **conv_geometry(node, g, depthwise=True), "vec_channels": vec_channels,
        "in_zp": in_zp, "out_zp": zp, "lo": lo, "hi": hi})
    ldw = _round_up(oc, LANES)
    packed, wt, lanes = pack_weights(QP.weight_values(g, w).reshape(1, kh, kw, oc))
    # taps outside the input read in_zp: their products cancel this fold
    bias = _wrap32(_pad(_bias(g, node, oc), ldw) - in_zp * wt.sum(0))[lanes]
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    mult, shift = np.asarray(mult, np.int32), np.asarray(shift, np.int32)
    wv = QP.weight_values(g, w).reshape(1, kh, kw, oc)
    vnni = "dlcoder_rt::QDwVnni{}"
    # (depth multiplier 1 only: the others run the portable loop; not in the size layout)
    if (g.tensors[x].dtype == "int8" and oc == shape(g, x)[3] and wv.min() >= -128 and wv.max() <= 127
            and node.attrs.get("layout") != "size"):
        vw, vb, vl, vr = pack_vnni(wv, _bias(g, node, oc), in_zp, mult, shift, vec_channels)
        vnni = (f"dlcoder_rt::QDwVnni{{{e.weights(vw)}, {e.weights(vb)}, {e.weights(vl)}, "
                f"{e.weights(vr)}}}")
    # (repeated as the lanes are: the scalar requantization of SSE2 reads them by lane)
    mult, shift = fit_lanes(mult, oc), fit_lanes(shift, oc)
    left = np.maximum(shift, 0).astype(np.int32)[lanes]
    rq = _requant_lanes(mult, shift, vec_channels, lanes)
    return (f"dlcoder_rt::depthwise_conv2d_q<{CTYPES[g.tensors[x].dtype]}>({e.par()}, {params}, {e.src(x)}, "
            f"{e.weights(packed)}, {e.weights(bias)}, {e.weights(left)}, {e.weights(rq)}, "
            f"{QP.requant_arrays(e, mult, shift)}, {vnni}, {e.dst(y)}, {e.scratch('void')});")


for _kind in _8BIT:
    register("DEPTHWISE_CONV_2D", header="qdepthwise.h", dtypes=_DTYPES, check=lambda n, g: _check(n, g, 3),
             scratch=_dw_scratch, task_scratch=_dw_scratch, variant=_kind)(_depthwise_q)
