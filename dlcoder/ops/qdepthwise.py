"""The int8 and uint8 variants of DEPTHWISE_CONV_2D: 8-bit activations, 8-bit weights
(int8 symmetric per tensor or per output channel; uint8 per tensor with a zero point),
int32 bias, requantized per output channel; kernels in qdepthwise.h.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import conv_geometry, shape
from dlcoder.ops.qlinear import PANEL, _DTYPES, _8BIT, _bias, _check, _pad, _round_up, _types

DW_BLOCK = 8  # output channels per block of TFLite's int8 vector loop (rounds half up)


# ---- DEPTHWISE_CONV_2D -----------------------------------------------------------------
def _dw_scratch(node, g) -> int:
    return _round_up(shape(g, node.inputs[1])[3], PANEL) * 4


def _depthwise_q(node, g, e):
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    _, kh, kw, oc = shape(g, w)
    zp, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "QDepthwiseParams", {
        **conv_geometry(node, g, depthwise=True),
        # int8: TFLite's vector loop takes the output channels in blocks of 8 (rounding
        # half up), its scalar loop the rest (half away); uint8 rounds half away throughout
        "vec_channels": oc // DW_BLOCK * DW_BLOCK if g.tensors[x].dtype == "int8" else 0,
        "in_zp": QP.params(g, x)[1], "out_zp": zp, "lo": lo, "hi": hi})
    # weights [k_h * k_w][ldw], output channels padded to whole panels with zeros
    ldw = _round_up(oc, PANEL)
    weights = np.zeros((kh * kw, ldw), QP.weight_values(g, w).dtype)
    weights[:, :oc] = QP.weight_values(g, w).reshape(kh * kw, oc)
    mult, shift = QP.channel_multipliers(g, x, w, y, oc)
    mult, shift = _pad(np.asarray(mult, np.int32), ldw), _pad(np.asarray(shift, np.int32), ldw)
    bias = _pad(_bias(g, node, oc).astype(np.int32), ldw)
    return (f"dlcoder_rt::depthwise_conv2d_q<{_types(g, node)}>({params}, {e.src(x)}, "
            f"{e.weights(weights)}, {e.weights(bias)}, "
            f"{QP.requant_arrays(e, mult, shift)}, {e.dst(y)}, {e.scratch('int32_t')});")



for _kind in _8BIT:
    register("DEPTHWISE_CONV_2D", header="qdepthwise.h", dtypes=_DTYPES, check=lambda n, g: _check(n, g, 3),
             scratch=_dw_scratch, variant=_kind)(_depthwise_q)
