"""int16x8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and int16 LOGISTIC, TANH, SOFTMAX
against TFLite's builtin kernels, byte for byte.

Hand-built one-op models (tests/models/op_hand.py): int16 activations of zero point 0,
int8 weights symmetric per channel or per tensor, int64 biases; inputs span int16 with
-32768, 32767 and 0 planted. Besides random cases, each requantizer meets inputs built to
tell it from its neighbours: accumulators (biases, with zero weights) on which the 16-bit
int64 multiplier, a Q31 multiplier and double arithmetic round differently, and scales
whose products are powers of two (exact ties). LOGISTIC and TANH see all 65536 inputs.
Converter-built models (tests/models/quantized_int16/) run whole.
"""
import functools
import sys
import zlib

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from support import TESTS, byte_mismatches, load_npz_inputs, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
MODELS = TESTS / "models" / "quantized_int16"


def _input(rng, shape):
    x = rng.integers(-32768, 32768, shape).astype(np.int16)
    planted = np.array([-32768, 32767, 0], np.int16)
    x.reshape(-1)[:3] = planted[:x.size]
    return x


def _check(model, inputs, tmp_path, name="q"):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model.build())
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    problems = byte_mismatches([f"output {k}" for k in range(len(refs))], ours, refs)
    assert not problems, "\n".join(problems)
    return refs


def _weights(rng, shape, axis, per_channel, scale=None):
    w = rng.integers(-127, 128, shape).astype(np.int8)
    n = shape[axis]
    if per_channel:
        s = np.full(n, scale, np.float32) if scale else rng.uniform(0.001, 0.02, n).astype(np.float32)
        return w, s, (s, np.zeros(n, np.int64), axis)
    s = np.full(n, scale or 0.004, np.float32)
    return w, s, (float(s[0]), 0)


def _bias(m, rng, sx, scales, per_channel, values=None):
    b = rng.integers(-10**6, 10**6, scales.size).astype(np.int64) if values is None else np.asarray(values, np.int64)
    bs = np.asarray(scales, np.float32) * np.float32(sx)
    q = (bs, np.zeros(bs.size, np.int64), 0) if per_channel else (float(bs[0]), 0)
    return m.const(b, quant=q)


def _conv_model(x_shape, w_shape, stride, dilation, padding, act, per_channel, depthwise, seed,
                sx=0.0004, sy=0.002, ws=None, bias_values=None, zero_weights=False):
    rng = np.random.default_rng(seed)
    m = HandModel()
    x = m.input(x_shape, np.int16, quant=(sx, 0))
    axis = 3 if depthwise else 0
    w, scales, qw = _weights(rng, w_shape, axis, per_channel, ws)
    if zero_weights:
        w[:] = 0
    oc = w_shape[axis]
    ins = [x, m.const(w, quant=qw), _bias(m, rng, sx, scales, per_channel, bias_values)]
    out_hw = []
    for d, k, s, dil in zip(x_shape[1:3], w_shape[1:3], stride, dilation):
        out_hw.append(-(-d // s) if padding == "SAME" else (d - (k - 1) * dil - 1) // s + 1)
    y = m.output(m._tensor([x_shape[0], *out_hw, oc], np.int16, quant=(sy, 0)))
    opts = dict(Padding=0 if padding == "SAME" else 1, StrideH=stride[0], StrideW=stride[1],
                DilationHFactor=dilation[0], DilationWFactor=dilation[1], FusedActivationFunction=ACTS[act])
    if depthwise:
        m.op("DEPTHWISE_CONV_2D", ins, [y], "DepthwiseConv2DOptions", DepthMultiplier=oc // x_shape[3], **opts)
    else:
        m.op("CONV_2D", ins, [y], "Conv2DOptions", **opts)
    return m, [_input(rng, x_shape)]


def _fc_model(x_shape, units, act, per_channel, seed, sx=0.0004, sy=0.004, ws=None, bias=True,
              bias_values=None, zero_weights=False):
    rng = np.random.default_rng(seed)
    m = HandModel()
    x = m.input(x_shape, np.int16, quant=(sx, 0))
    w, scales, qw = _weights(rng, (units, x_shape[-1]), 0, per_channel, ws)
    if zero_weights:
        w[:] = 0
    ins = [x, m.const(w, quant=qw)]
    if bias:
        ins.append(_bias(m, rng, sx, scales, per_channel, bias_values))
    keep = len(x_shape) > 2
    out_shape = tuple(x_shape[:-1]) + (units,) if keep else (int(np.prod(x_shape[:-1])), units)
    y = m.output(m._tensor(out_shape, np.int16, quant=(sy, 0)))
    m.op("FULLY_CONNECTED", ins, [y], "FullyConnectedOptions", FusedActivationFunction=ACTS[act],
         KeepNumDims=keep)
    return m, [_input(rng, x_shape)]


CASES = {
    # CONV_2D: (input, filter, stride, dilation, padding, act, per_channel)
    "conv_3x3_same": lambda s: _conv_model((1, 9, 11, 5), (7, 3, 3, 5), (1, 1), (1, 1), "SAME", "NONE", True, False, s),
    "conv_3x3_s2_relu6": lambda s: _conv_model((2, 10, 9, 4), (6, 3, 3, 4), (2, 2), (1, 1), "SAME", "RELU6", True,
                                               False, s, sy=0.0005),
    "conv_1x1_relu": lambda s: _conv_model((1, 6, 7, 19), (23, 1, 1, 19), (1, 1), (1, 1), "VALID", "RELU", True, False, s),
    "conv_dil_per_tensor": lambda s: _conv_model((1, 12, 10, 3), (4, 5, 3, 3), (1, 2), (2, 1), "VALID",
                                                 "RELU_N1_TO_1", False, False, s, sy=0.0001),
    "dw_3x3_same": lambda s: _conv_model((1, 9, 8, 12), (1, 3, 3, 12), (1, 1), (1, 1), "SAME", "RELU6", True, True, s,
                                         sy=0.0005),
    "dw_s2_mult2": lambda s: _conv_model((2, 9, 10, 3), (1, 3, 3, 6), (2, 2), (1, 1), "SAME", "NONE", True, True, s),
    "dw_5x5_dil": lambda s: _conv_model((1, 12, 12, 13), (1, 5, 5, 13), (1, 1), (2, 2), "VALID", "RELU", False, True, s),
    # FULLY_CONNECTED: (input, units, act, per_channel)
    "fc_per_channel": lambda s: _fc_model((5, 37), 13, "NONE", True, s),
    "fc_per_tensor_relu": lambda s: _fc_model((4, 64), 10, "RELU", False, s),
    "fc_keep_dims_relu6": lambda s: _fc_model((2, 3, 20), 9, "RELU6", True, s, sy=0.0005),
    "fc_no_bias": lambda s: _fc_model((3, 16), 7, "NONE", True, s, bias=False),
    # ties: 0.5 * 0.25 / 4 = 2^-5
    "conv_ties": lambda s: _conv_model((1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE", False, False, s,
                                       sx=0.5, sy=4.0, ws=0.25),
    "dw_ties": lambda s: _conv_model((1, 7, 6, 13), (1, 3, 3, 13), (1, 1), (1, 1), "SAME", "NONE", True, True, s,
                                     sx=0.5, sy=4.0, ws=0.25),
    "fc_ties": lambda s: _fc_model((64, 24), 19, "NONE", True, s, sx=0.5, sy=4.0, ws=0.25),
    "fc_ties_per_tensor": lambda s: _fc_model((64, 24), 19, "NONE", False, s, sx=0.5, sy=3.0, ws=0.375),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tflite(case, tmp_path):
    _check(*CASES[case](zlib.crc32(case.encode())), tmp_path)


# Scales whose effective multiplier is not a power of two: there the requantizers differ.
SX, SW, SY = 0.0013, 0.0071, 0.0097


@functools.lru_cache(maxsize=None)
def _discriminating_accumulators(count=40):
    """Accumulators on which the int64 16-bit-multiplier requantization, the Q31 single
    rounding (halves away) and the double scale disagree, each pair: the integers nearest
    to the output's half steps, where they round apart; plus a spread."""
    (m,), (s,) = Q.quantize_multipliers(Q.effective_scales(SX, [SW], SY))
    eff = float(Q.fc_int16_scales(SX, [SW], SY)[0])
    halves = np.arange(-32767, 32767, dtype=np.float64) + 0.5
    near = np.round(halves / eff).astype(np.int64)
    acc = np.unique(np.concatenate([near - 1, near, near + 1]))
    red = (m + (1 << 15)) >> 16
    a = (acc * red + (1 << (14 - s))) >> (15 - s)
    p = acc * m
    r = (np.abs(p) + (1 << (30 - s))) >> (31 - s)
    b = np.where(p >= 0, r, -r)
    v = acc.astype(np.float64) * eff
    c = np.sign(v) * np.floor(np.abs(v) + 0.5)
    found = {"red/q31": acc[a != b], "red/double": acc[a != c], "q31/double": acc[b != c]}
    assert all(v.size >= count for v in found.values()), {k: v.size for k, v in found.items()}
    picks = [v[:: max(1, v.size // count)][:count] for v in found.values()]
    return np.concatenate(picks + [np.arange(-34_000_000, 34_000_000, 1_700_003)])


@pytest.mark.parametrize("op", ["conv", "dw", "fc", "fc_per_tensor"])
def test_requantization_tells_variants_apart(op, tmp_path):
    """Accumulators (biases over zero weights) where the candidate requantizers disagree:
    CONV and DEPTHWISE take the 16-bit int64 multiplier, FULLY_CONNECTED the double scale."""
    acc = _discriminating_accumulators()
    n = acc.size
    if op == "conv":
        model = _conv_model((1, 1, 1, 1), (n, 1, 1, 1), (1, 1), (1, 1), "VALID", "NONE", True, False, 0,
                            sx=SX, sy=SY, ws=SW, bias_values=acc, zero_weights=True)
    elif op == "dw":
        model = _conv_model((1, 1, 1, n), (1, 1, 1, n), (1, 1), (1, 1), "VALID", "NONE", True, True, 0,
                            sx=SX, sy=SY, ws=SW, bias_values=acc, zero_weights=True)
    else:
        model = _fc_model((1, 1), n, "NONE", op == "fc", 0, sx=SX, sy=SY, ws=SW, bias_values=acc,
                          zero_weights=True)
    refs = _check(*model, tmp_path)
    assert np.sum(np.abs(refs[0].astype(int)) < 32767) > n * 3 // 4   # not clamped away


def _sigmoid_model(ops, sx, so=1.0 / 32768):
    m = HandModel()
    x = m.input((256, 256), np.int16, quant=(sx, 0))
    for op in ops:
        y = m.output(m._tensor((256, 256), np.int16, quant=(so, 0)))
        m.op(op, [x], [y])
    return m, [np.arange(-32768, 32768, dtype=np.int64).astype(np.int16).reshape(256, 256)]


@pytest.mark.parametrize("sx", [0.001, 1.0 / 3000, 2.0 ** -13, 5e-6, 0.01, 1.0])
def test_sigmoid_every_input(sx, tmp_path):
    """LOGISTIC and TANH of all 65536 inputs."""
    _check(*_sigmoid_model(("LOGISTIC", "TANH"), sx), tmp_path)


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_sigmoid_power_of_two_scale_refused(op, tmp_path):
    """At input scale 2^-12 TFLite computes in gemmlowp fixed point: refused, by name."""
    m, _ = _sigmoid_model((op,), 2.0 ** -12)
    path = tmp_path / "pot.tflite"
    path.write_bytes(m.build())
    with pytest.raises(Exception, match="gemmlowp"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def _softmax_model(shape, sx, beta, seed):
    rng = np.random.default_rng(seed)
    m = HandModel()
    x = m.input(shape, np.int16, quant=(sx, 0))
    y = m.output(m._tensor(shape, np.int16, quant=(1.0 / 32768, 0)))
    m.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=beta)
    xs = _input(rng, shape)
    rows = xs.reshape(-1, shape[-1])
    if rows.shape[0] > 2:
        rows[1] = 32767          # a constant row
        rows[2] = -32768
        rows[2, 0] = 32767       # one large value, the rest far below
    return m, [xs]


@pytest.mark.parametrize("shape,sx,beta", [((4, 37), 0.001, 1.0), ((2, 3, 300), 0.0003, 1.0),
                                           ((5, 10), 0.01, 0.5), ((1, 1000), 1e-4, 2.0), ((3, 7), 1.0, 1.0),
                                           ((2, 2, 2, 8), 2.0 ** -10, 1.0)])
def test_softmax(shape, sx, beta, tmp_path):
    _check(*_softmax_model(shape, sx, beta, zlib.crc32(repr(shape).encode())), tmp_path)


def test_refusals(tmp_path):
    """What TFLite rejects or computes another way is refused with the reason."""
    def why(model):
        path = tmp_path / "r.tflite"
        path.write_bytes(model.build())
        with pytest.raises(Exception) as info:
            compiler.compile_graph(compiler.load_graph(str(path)), "m")
        return str(info.value)
    m = HandModel()
    x = m.input((2, 8), np.int16, quant=(0.001, 0))
    w = m.const(np.ones((3, 8), np.int8), quant=(0.01, 0))
    b = m.const(np.zeros(3, np.int32), quant=(0.00001, 0))
    y = m.output(m._tensor((2, 3), np.int16, quant=(0.01, 0)))
    m.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions")
    assert "int32 bias" in why(m)
    m = HandModel()
    x = m.input((2, 8), np.int16, quant=(0.001, 3))
    y = m.output(m._tensor((2, 8), np.int16, quant=(1.0 / 32768, 0)))
    m.op("LOGISTIC", [x], [y])
    assert "zero point 3" in why(m)
    m = HandModel()
    x = m.input((2, 8), np.int16, quant=(0.001, 0))
    y = m.output(m._tensor((2, 8), np.int16, quant=(1.0 / 256, 0)))
    m.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
    assert "1/32768" in why(m)


@pytest.mark.parametrize("name", sorted(p.stem for p in MODELS.glob("*.tflite")) if MODELS.is_dir() else [])
def test_converter_models(name, tmp_path):
    path = MODELS / f"{name}.tflite"
    g = compiler.load_graph(str(path))
    inputs = load_npz_inputs(MODELS / f"{name}.npz", g)
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    for o, r in zip(ours, refs):
        assert o.dtype == r.dtype and o.shape == r.shape
        assert np.array_equal(o, r), f"{np.sum(o != r)} of {r.size} differ"
