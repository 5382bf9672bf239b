"""int8 and uint8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and BATCH_MATMUL against
TFLite's builtin kernels, byte for byte (issue 13).

Hand-built one-op models (tests/models/op_hand.py): random weights and biases, int8
weights symmetric per channel or per tensor, uint8 weights with a zero point; inputs span
the dtype with the extremes and the zero point planted; strides, dilations, both
paddings, depth multipliers and every fused activation. What varies is what the prepare
step computes: one multiplier per channel, the folded zero-point terms, the activation
range.
"""
import sys
import zlib

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import TESTS, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def _input(rng, dt, shape, zp):
    info = np.iinfo(dt)
    x = rng.integers(info.min, info.max + 1, shape).astype(dt)
    x.reshape(-1)[:3] = [info.min, info.max, zp]
    return x


# Scales whose products are powers of two: the accumulators then land on exact halves of the
# output step often, where the kernels' two rounding modes differ (requantize.h).
TIES = {"x": 0.5, "w": 0.25, "y": 4.0}


def _weights(rng, dt, shape, per_channel_axis=None, ties=False):
    """(weights, quant) with scales near what converters give (or TIES)."""
    if dt == np.int8:
        w = rng.integers(-127, 128, shape).astype(np.int8)
        if per_channel_axis is None:
            return w, (TIES["w"] if ties else 0.004, 0)
        n = shape[per_channel_axis]
        return w, (rng.uniform(0.001, 0.02, n).astype(np.float32), np.zeros(n, np.int64), per_channel_axis)
    return rng.integers(0, 256, shape).astype(np.uint8), (0.006, 131)


def _conv_model(dt, x_shape, w_shape, stride, dilation, padding, act, per_channel, depthwise,
                seed, bias=True, ties=False):
    rng = np.random.default_rng(seed)
    qx, qy = ((0.05, -3), (0.3, 7)) if dt == np.int8 else ((0.05, 120), (0.3, 128))
    if ties:
        qx, qy = (TIES["x"], qx[1]), (TIES["y"], qy[1])
    m = HandModel()
    x = m.input(x_shape, dt, quant=qx)
    axis = 3 if depthwise else 0
    w, qw = _weights(rng, dt, w_shape, axis if per_channel else None, ties)
    oc = w_shape[axis]
    ins = [x, m.const(w, quant=qw)]
    if bias:
        scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
        ins.append(m.const(rng.integers(-3000, 3000, oc).astype(np.int32),
                           quant=(scale, np.zeros(scale.size, np.int64), 0)))
    kh, kw = (w_shape[1], w_shape[2])
    out_hw = []
    for d, k, s, dil in zip(x_shape[1:3], (kh, kw), stride, dilation):
        eff = (k - 1) * dil + 1
        out_hw.append(-(-d // s) if padding == "SAME" else (d - eff) // s + 1)
    y = m.output(m._tensor([x_shape[0], *out_hw, oc], dt, quant=qy))
    opts = dict(Padding=0 if padding == "SAME" else 1, StrideH=stride[0], StrideW=stride[1],
                DilationHFactor=dilation[0], DilationWFactor=dilation[1], FusedActivationFunction=ACTS[act])
    if depthwise:
        m.op("DEPTHWISE_CONV_2D", ins, [y], "DepthwiseConv2DOptions", DepthMultiplier=oc // x_shape[3], **opts)
    else:
        m.op("CONV_2D", ins, [y], "Conv2DOptions", **opts)
    return m, [_input(rng, dt, x_shape, qx[1])]


CONV_CASES = {
    # name: (dtype, input, filter, stride, dilation, padding, act, per_channel, depthwise)
    "conv_i8_3x3_same": (np.int8, (1, 9, 11, 5), (7, 3, 3, 5), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "conv_i8_3x3_s2_relu6": (np.int8, (2, 10, 9, 4), (6, 3, 3, 4), (2, 2), (1, 1), "SAME", "RELU6", True, False),
    "conv_i8_1x1_relu": (np.int8, (1, 6, 7, 19), (23, 1, 1, 19), (1, 1), (1, 1), "VALID", "RELU", True, False),
    "conv_i8_5x3_dil_valid": (np.int8, (1, 12, 10, 3), (4, 5, 3, 3), (1, 2), (2, 1), "VALID", "RELU_N1_TO_1", False, False),
    "conv_u8_3x3_same": (np.uint8, (1, 8, 8, 6), (5, 3, 3, 6), (1, 1), (1, 1), "SAME", "RELU6", False, False),
    "dw_i8_3x3_same": (np.int8, (1, 9, 8, 12), (1, 3, 3, 12), (1, 1), (1, 1), "SAME", "RELU6", True, True),
    "dw_i8_3x3_s2_mult2": (np.int8, (2, 9, 10, 3), (1, 3, 3, 6), (2, 2), (1, 1), "SAME", "NONE", True, True),
    "dw_i8_5x5_dil": (np.int8, (1, 12, 12, 4), (1, 5, 5, 4), (1, 1), (2, 2), "VALID", "RELU", False, True),
    "dw_u8_3x3": (np.uint8, (1, 7, 7, 8), (1, 3, 3, 8), (1, 1), (1, 1), "SAME", "NONE", False, True),
}


def _fc_model(dt, rows, depth, units, act, per_channel, keep_dims, seed, bias=True, ties=False):
    rng = np.random.default_rng(seed)
    qx, qy = ((0.04, 9), (0.5, -20)) if dt == np.int8 else ((0.04, 100), (0.5, 140))
    if ties:
        qx, qy = (TIES["x"], qx[1]), (TIES["y"], qy[1])
    m = HandModel()
    x_shape = (rows, depth) if not keep_dims else (2, rows // 2, depth)
    x = m.input(x_shape, dt, quant=qx)
    w, qw = _weights(rng, dt, (units, depth), 0 if per_channel else None, ties)
    ins = [x, m.const(w, quant=qw)]
    if bias:
        scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
        ins.append(m.const(rng.integers(-5000, 5000, units).astype(np.int32),
                           quant=(scale, np.zeros(scale.size, np.int64), 0)))
    out_shape = x_shape[:-1] + (units,) if keep_dims else (rows, units)
    y = m.output(m._tensor(out_shape, dt, quant=qy))
    m.op("FULLY_CONNECTED", ins, [y], "FullyConnectedOptions", FusedActivationFunction=ACTS[act],
         KeepNumDims=keep_dims)
    return m, [_input(rng, dt, x_shape, qx[1])]


FC_CASES = {
    "fc_i8_per_channel": (np.int8, 3, 37, 11, "NONE", True, False),
    "fc_i8_per_tensor_relu": (np.int8, 4, 64, 10, "RELU", False, False),
    "fc_i8_keep_dims_relu6": (np.int8, 6, 20, 9, "RELU6", True, True),
    "fc_u8": (np.uint8, 2, 30, 12, "NONE", False, False),
}


def _bmm_model(a_shape, b_shape, adj_x, adj_y, seed, ties=False):
    rng = np.random.default_rng(seed)
    qa, qb, qy = ((0.5, 5), (0.25, -2), (16.0, 3)) if ties else ((0.03, 5), (0.04, -2), (0.2, 3))
    m = HandModel()
    a, b = m.input(a_shape, np.int8, quant=qa), m.input(b_shape, np.int8, quant=qb)
    am, ak = (a_shape[-1], a_shape[-2]) if adj_x else (a_shape[-2], a_shape[-1])
    bn = b_shape[-2] if adj_y else b_shape[-1]
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    y = m.output(m._tensor(tuple(batch) + (am, bn), np.int8, quant=qy))
    m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=adj_x, AdjY=adj_y)
    return m, [_input(rng, np.int8, a_shape, qa[1]), _input(rng, np.int8, b_shape, qb[1])]


BMM_CASES = {
    "bmm_i8": ((1, 4, 6, 8), (1, 4, 8, 5), False, False),
    "bmm_i8_adj_y_broadcast": ((2, 3, 7, 9), (1, 3, 4, 9), False, True),
    "bmm_i8_adj_x": ((5, 6), (5, 3), True, False),
}


def _build(case):
    if case in CONV_CASES:
        return _conv_model(*CONV_CASES[case], seed=zlib.crc32(case.encode()))
    if case in FC_CASES:
        return _fc_model(*FC_CASES[case], seed=zlib.crc32(case.encode()))
    return _bmm_model(*BMM_CASES[case], seed=zlib.crc32(case.encode()))


def _check(model, inputs, tmp_path, name="q"):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model.build())
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    for o, r in zip(ours, refs):
        assert o.dtype == r.dtype and o.shape == r.shape
        bad = np.flatnonzero(o.ravel() != r.ravel())
        assert bad.size == 0, (f"{bad.size} of {r.size} differ, by up to "
                               f"{np.abs(o.astype(int) - r.astype(int)).max()} LSB; first at {bad[:5]}: "
                               f"ours {o.ravel()[bad[:5]]} tflite {r.ravel()[bad[:5]]}")


@pytest.mark.parametrize("case", sorted(CONV_CASES) + sorted(FC_CASES) + sorted(BMM_CASES))
def test_matches_tflite(case, tmp_path):
    _check(*_build(case), tmp_path)


TIE_CASES = {
    "conv_i8": lambda: _conv_model(np.int8, (1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE",
                                   False, False, seed=1, ties=True),
    "conv_u8": lambda: _conv_model(np.uint8, (1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE",
                                   False, False, seed=2, ties=True),
    # 13 channels: 8 in the vector loop (half up), 5 in the scalar tail (half away)
    "dw_i8_13": lambda: _conv_model(np.int8, (1, 7, 6, 13), (1, 3, 3, 13), (1, 1), (1, 1), "SAME", "NONE",
                                    False, True, seed=3, ties=True),
    "dw_u8_21": lambda: _conv_model(np.uint8, (1, 7, 6, 21), (1, 3, 3, 21), (2, 2), (1, 1), "SAME", "NONE",
                                    False, True, seed=4, ties=True),
    "dw_i8_mult2": lambda: _conv_model(np.int8, (1, 6, 6, 7), (1, 3, 3, 14), (1, 1), (1, 1), "SAME", "NONE",
                                       False, True, seed=5, ties=True),
    "fc_i8": lambda: _fc_model(np.int8, 5, 24, 19, "NONE", False, False, seed=6, ties=True),
    "fc_u8": lambda: _fc_model(np.uint8, 5, 24, 19, "NONE", False, False, seed=7, ties=True),
    "bmm_i8": lambda: _bmm_model((2, 5, 8), (2, 8, 9), False, False, seed=8, ties=True),
}


@pytest.mark.parametrize("case", sorted(TIE_CASES))
def test_rounding_ties_match_tflite(case, tmp_path):
    """Scales that put many results on exact ties: the rounding mode of every channel shows."""
    _check(*TIE_CASES[case](), tmp_path)


def test_without_bias(tmp_path):
    _check(*_fc_model(np.int8, 2, 9, 4, "NONE", True, False, seed=5, bias=False), tmp_path, "fc")
    _check(*_fc_model(np.uint8, 2, 9, 4, "NONE", False, False, seed=5, bias=False), tmp_path, "fcu8")
    # TFLite's conv Prepare requires the bias of quantized data, and so do we
    m, _ = _conv_model(np.int8, (1, 5, 5, 3), (4, 3, 3, 3), (1, 1), (1, 1), "SAME", "NONE", True, False,
                       seed=4, bias=False)
    path = tmp_path / "conv.tflite"
    path.write_bytes(m.build())
    from dlcoder.errors import DlcoderError
    with pytest.raises(DlcoderError, match="needs a bias"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_bias_scale_tflite_rejects_is_refused(tmp_path):
    m, _ = _fc_model(np.int8, 2, 9, 4, "NONE", False, False, seed=5)
    m.tensors[2]["quant"] = (0.5, 0)     # the bias: not input scale * weight scale
    path = tmp_path / "fc.tflite"
    path.write_bytes(m.build())
    with pytest.raises(RuntimeError, match="scale_diff / output_scale <= 0.02"):
        V.reference_run(str(path), [np.zeros((2, 9), np.int8)])
    from dlcoder.errors import DlcoderError
    with pytest.raises(DlcoderError, match="bias scale 0.5 is not input scale"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_per_channel_activations_are_refused(tmp_path):
    """A scheme no kernel takes names the op, the tensor and the scheme."""
    m = HandModel()
    x = m.input((1, 4, 4, 2), np.int8, quant=([0.1, 0.2], [0, 0], 3))
    w = m.const(np.ones((3, 1, 1, 2), np.int8), quant=(0.01, 0))
    b = m.const(np.zeros(3, np.int32), quant=(0.001, 0))
    y = m.output(m._tensor((1, 4, 4, 3), np.int8, quant=(0.1, 0)))
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=1, StrideH=1, StrideW=1)
    path = tmp_path / "pc.tflite"
    path.write_bytes(m.build())
    from dlcoder.errors import DlcoderError
    with pytest.raises(DlcoderError, match=r"CONV_2D.*input 0 'input_0' is quantized per channel"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
