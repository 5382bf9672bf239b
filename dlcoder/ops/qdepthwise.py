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
ROW_GROUP = runtime_facts.constant("kDwRowGroup")  # output rows a task sets up at once
VNNI_LANES = runtime_facts.constant("kVnniLanes")  # the same for the VNNI kernels' filter


# ---- DEPTHWISE_CONV_2D -----------------------------------------------------------------
def _dw_task_scratch(node, g) -> int:
    """Per task: pointers to the input rows and to the columns' taps of a group of up to
    ROW_GROUP output rows, staged taps (simd_qdepthwise_driver.h: dw_row_room), then a
    block's filter as int16 pairs, 64-byte aligned (simd_qdepthwise.h: QDwQuads)."""
    geo = conv_geometry(node, g, depthwise=True)
    kh, kw, ow, stride = geo["k_h"], geo["k_w"], geo["out_w"], geo["stride_w"]
    slots = -(-kh * kw // 4) * 4
    lo = min(ow, max(0, -(-geo["pad_left"] // stride)))
    last = geo["in_w"] - 1 - (kw - 1) * geo["dil_w"] + geo["pad_left"]
    hi = max(lo, min(ow, last // stride + 1 if last >= 0 else 0))
    room = max(kh + (ow + 1) * slots, ROW_GROUP * (kh + (1 + ow - (hi - lo)) * slots))
    return (room + slots) * 8 + slots * LANES + 64 + slots // 4 * 256


def _dw_scratch(node, g) -> int:
    """The zero row (in_w * in_c bytes, rounded up to 64), then a task's scratch."""
    _, _, iw, ic = shape(g, node.inputs[0])
    return _round_up(iw * ic, 64) + _dw_task_scratch(node, g)


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def _lane_channels(channels: int, width: int = 0) -> np.ndarray:
    """[blocks][2][16]: the channel of lane i of half h of each block (simd_qdepthwise.h),
    over `width` lanes (default: the channels rounded up to whole blocks). Fewer channels
    than a block, a divisor of it, repeat across the block: the kernels then take
    neighbouring pixels side by side."""
    i = np.arange(16)
    lane = np.stack([8 * (i // 4) + 4 * h + i % 4 for h in range(2)])
    blocks = (width or _round_up(channels, LANES)) // LANES
    lanes = np.arange(blocks)[:, None, None] * LANES + lane[None]
    return lanes % channels if LANES % channels == 0 else lanes


def pack_vnni(w: np.ndarray) -> np.ndarray:
    """The filter of the VNNI kernels (simd_qdepthwise_vnni.h) from weights
    [1][kh][kw][channels] in [-128, 127]: int8 [quads][blocks of 64][4 accumulators][16
    lanes][4 taps], lane i of accumulator a the channel 16 * (i / 4) + 4 * a + i % 4 of
    its block (repeated like _lane_channels). The one filter of int8 (the kernels of int16
    pairs rebuild theirs from it); every kernel reads the tables of _lane_channels' lanes,
    padded to whole blocks of 64."""
    _, kh, kw, oc = w.shape
    quads = -(-kh * kw // 4)
    ldv = _round_up(oc, VNNI_LANES)
    i = np.arange(16)
    lane = np.stack([16 * (i // 4) + 4 * a + i % 4 for a in range(4)])
    lanes = np.arange(ldv // VNNI_LANES)[:, None, None] * VNNI_LANES + lane[None]
    lanes = lanes % oc if VNNI_LANES % oc == 0 else lanes
    wt = np.zeros((4 * quads, ldv), np.int64)
    wt[:kh * kw, :oc] = w.reshape(kh * kw, oc)
    return wt.reshape(quads, 4, ldv)[:, :, lanes].transpose(0, 2, 3, 4, 1).astype(np.int8)


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
    wv = QP.weight_values(g, w).reshape(1, kh, kw, oc)
    # one layout per op: int8 keeps its filter as the VNNI kernels' quads, whose tables
    # (below) come in whole blocks of VNNI_LANES; uint8's weights less their zero point
    # need int16 (simd_qdepthwise.h)
    quads = g.tensors[x].dtype == "int8"
    assert not quads or (wv.min() >= -128 and wv.max() <= 127)
    width = _round_up(oc, VNNI_LANES if quads else LANES)
    lanes = _lane_channels(oc, width)
    # taps outside the input read in_zp: their products cancel this fold
    wsum = _pad(wv.reshape(kh * kw, oc).astype(np.int64).sum(0), width)
    bias = _wrap32(_pad(_bias(g, node, oc), width) - in_zp * wsum)[lanes]
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    mult, shift = np.asarray(mult, np.int32), np.asarray(shift, np.int32)
    tmult, tshift = _pad(mult, width), _pad(shift, width)
    left = np.maximum(tshift, 0).astype(np.int32)[lanes]
    rq = _requant_lanes(tmult, tshift, vec_channels, lanes)
    filters = f"nullptr, {e.weights(pack_vnni(wv))}" if quads else f"{e.weights(pack_weights(wv)[0])}, nullptr"
    # (repeated as the lanes are: the scalar requantization of SSE2 reads them by lane)
    mult, shift = fit_lanes(mult, oc), fit_lanes(shift, oc)
    return (f"dlcoder_rt::depthwise_conv2d_q<{CTYPES[g.tensors[x].dtype]}>({e.par()}, {params}, {e.src(x)}, "
            f"{filters}, {e.weights(bias)}, {e.weights(left)}, {e.weights(rq)}, "
            f"{QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, {e.scratch('void')});")


for _kind in _8BIT:
    register("DEPTHWISE_CONV_2D", header="qdepthwise.h", dtypes=_DTYPES, check=lambda n, g: _check(n, g, 3),
             scratch=_dw_scratch, task_scratch=_dw_scratch, variant=_kind)(_depthwise_q)
