"""The op benchmark's int8 grid: single-op full-integer TFLite models, quantized the way
the TFLite converter quantizes a network (optimizations=DEFAULT, a representative data
set, TFLITE_BUILTINS_INT8, int8 input and output), over the float grid's real shapes.

What the converter emits, and these models hold:
- activations: int8, one scale and zero point per tensor, from the range the data
  covered, nudged to hold 0 (quant()); after a RELU or RELU6 the range starts at 0, so
  the zero point is -128;
- weights of CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED: int8,
  symmetric per output channel (zero point 0, the channel's largest weight at 127);
- biases: int32 at input scale x the channel's weight scale, zero point 0;
- the output scales TFLite fixes: LOGISTIC and SOFTMAX 1/256 at -128, TANH 1/128 at 0;
- ops that only move or pick values (pools, resizes, CONCATENATION, PAD, TRANSPOSE,
  DEPTH_TO_SPACE, MAXIMUM) keep their input's scale and zero point.
The output ranges are the ones the weights and inputs give (out_quant: four standard
deviations of the float result), so that outputs use the int8 range as a calibrated
model's do instead of saturating. Inputs are uniform over the int8 range, seeded by the
case's name. Every family is "<float family> int8", so the float summaries keep their cases.
"""
from __future__ import annotations

import math

import numpy as np

from cases import ACT, BINARY_OPTS, PAD, Case, _out_size, _rng, _x, binary_grid, binary_operands
from op_hand import HandModel

I8 = "int8"
RELU_RANGE = {"RELU": math.inf, "RELU6": 6.0}     # the float range a fused activation keeps


# -- quantization ------------------------------------------------------------------------
def quant(lo: float, hi: float) -> tuple:
    """(scale, zero point) of the int8 range [lo, hi] widened to hold 0, as the converter
    derives them from a tensor's min and max."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def out_quant(std: float, act: str = "NONE") -> tuple:
    """The output quantization of a float result of standard deviation std, after act."""
    if act == "NONE":
        return quant(-4 * std, 4 * std)
    return quant(0.0, min(RELU_RANGE[act], 4 * std))


def activation(rng, shape) -> np.ndarray:
    """An int8 tensor uniform over the whole int8 range."""
    return rng.integers(-128, 128, shape).astype(np.int8)


def real_rms(x: np.ndarray, q: tuple) -> float:
    """The root mean square of the real values x stands for."""
    return float(np.sqrt(np.mean((q[0] * (x.astype(np.float64) - q[1])) ** 2)))


def weights(rng, shape, axis: int, fan_in: int) -> tuple:
    """(int8 weights, per-channel quant, each channel's real rms): normal weights of
    standard deviation gain / sqrt(fan_in), a gain in [0.5, 2] per channel, quantized
    symmetric per channel along axis."""
    n = shape[axis]
    bshape = [1] * len(shape)
    bshape[axis] = n
    w = rng.standard_normal(shape)
    peak = np.abs(np.moveaxis(w, axis, 0).reshape(n, -1)).max(axis=1)
    q = np.round(127 * w / peak.reshape(bshape)).astype(np.int8)
    scale = (peak / 127 * rng.uniform(0.5, 2.0, n) / math.sqrt(fan_in)).astype(np.float32)
    rms = np.sqrt(np.mean(np.moveaxis(q, axis, 0).reshape(n, -1).astype(np.float64) ** 2, axis=1)) * scale
    return q, (scale, np.zeros(n, np.int64), axis), rms


def bias(rng, x_scale: float, w_scale: np.ndarray, std: float) -> tuple:
    """(int32 bias, its quant): real values of standard deviation std / 2."""
    scale = (np.float32(x_scale) * w_scale).astype(np.float32)
    b = np.round(rng.standard_normal(scale.size) * std / 2 / scale)
    return b.astype(np.int32), (scale, np.zeros(scale.size, np.int64), 0)


class QModel:
    """A one-operator int8 model: inputs and constants with their quantization, then op()."""

    def __init__(self):
        self.m, self.ins, self.feeds = HandModel(), [], []

    def input(self, x: np.ndarray, q: tuple):
        self.ins.append(self.m.input(x.shape, x.dtype, quant=q))
        self.feeds.append(x)

    def const(self, x: np.ndarray, q: tuple | None = None):
        self.ins.append(self.m.const(x, quant=q))

    def op(self, opname: str, out_shape, q: tuple, opts=None, version=1, **kw) -> tuple:
        y = self.m.output(self.m._tensor(list(out_shape), np.int8, quant=q))
        self.m.op(opname, self.ins, [y], opts, version=version, **kw)
        return self.m, self.feeds


def _act_in(rng, shape, act_before="RELU6") -> tuple:
    """An input activation and its quant: the output of a RELU6 (the usual producer in
    the networks the shapes come from) or, with "NONE", of a linear layer."""
    q = quant(0.0, 6.0) if act_before == "RELU6" else quant(-3.0, 3.5)
    return activation(rng, shape), q


def _suffix(act: str) -> str:
    return "" if act == "NONE" else f" {act}"


# -- convolutions ------------------------------------------------------------------------
def conv(hw, cin, cout, k, stride=1, pad="SAME", dil=1, act="NONE", before="RELU6") -> Case:
    dilation = f"_d{dil}" if dil > 1 else ""
    name = f"qconv{k}x{k}_s{stride}{dilation}_{pad.lower()}_{hw}x{hw}x{cin}_{cout}_{act.lower()}"
    oh = _out_size(hw, k, stride, pad, dil)

    def build():
        rng = _rng(name)
        x, xq = _act_in(rng, (1, hw, hw, cin), before)
        w, wq, w_rms = weights(rng, (cout, k, k, cin), 0, k * k * cin)
        std = math.sqrt(k * k * cin) * real_rms(x, xq) * float(np.sqrt(np.mean(w_rms ** 2)))
        qm = QModel()
        qm.input(x, xq)
        qm.const(w, wq)
        qm.const(*bias(rng, xq[0], wq[0], std))
        return qm.op("CONV_2D", (1, oh, oh, cout), out_quant(std, act), "Conv2DOptions", version=3,
                     Padding=PAD[pad], StrideW=stride, StrideH=stride, DilationWFactor=dil,
                     DilationHFactor=dil, FusedActivationFunction=ACT[act])
    desc = f"{_x(hw, hw, cin)} -> {_x(oh, oh, cout)}, {k}x{k} s{stride} {pad}" + \
        (f" dil {dil}" if dil > 1 else "") + _suffix(act)
    return Case(name, "CONV_2D int8", "CONV_2D", desc, build, I8)


def depthwise(hw, c, k, stride=1, pad="SAME", act="NONE") -> Case:
    name = f"qdw{k}x{k}_s{stride}_{pad.lower()}_{hw}x{hw}x{c}_{act.lower()}"
    oh = _out_size(hw, k, stride, pad)

    def build():
        rng = _rng(name)
        x, xq = _act_in(rng, (1, hw, hw, c))
        w, wq, w_rms = weights(rng, (1, k, k, c), 3, k * k)
        std = k * real_rms(x, xq) * float(np.sqrt(np.mean(w_rms ** 2)))
        qm = QModel()
        qm.input(x, xq)
        qm.const(w, wq)
        qm.const(*bias(rng, xq[0], wq[0], std))
        return qm.op("DEPTHWISE_CONV_2D", (1, oh, oh, c), out_quant(std, act), "DepthwiseConv2DOptions",
                     version=3, Padding=PAD[pad], StrideW=stride, StrideH=stride, DepthMultiplier=1,
                     DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=ACT[act])
    desc = f"{_x(hw, hw, c)} -> {_x(oh, oh, c)}, {k}x{k} s{stride} {pad}" + _suffix(act)
    return Case(name, "DEPTHWISE_CONV_2D int8", "DEPTHWISE_CONV_2D", desc, build, I8)


def transpose_conv(hw, cin, cout, k, stride=2) -> Case:
    name = f"qtconv{k}x{k}_s{stride}_{hw}x{hw}x{cin}_{cout}"
    oh = hw * stride

    def build():
        rng = _rng(name)
        x, xq = _act_in(rng, (1, hw, hw, cin))
        fan_in = max(1, k * k * cin // stride ** 2)
        w, wq, w_rms = weights(rng, (cout, k, k, cin), 0, fan_in)
        std = math.sqrt(fan_in) * real_rms(x, xq) * float(np.sqrt(np.mean(w_rms ** 2)))
        qm = QModel()
        qm.const(np.array([1, oh, oh, cout], np.int32))
        qm.const(w, wq)
        qm.input(x, xq)
        qm.const(*bias(rng, xq[0], wq[0], std))
        return qm.op("TRANSPOSE_CONV", (1, oh, oh, cout), out_quant(std), "TransposeConvOptions", version=3,
                     Padding=PAD["SAME"], StrideW=stride, StrideH=stride)
    desc = f"{_x(hw, hw, cin)} -> {_x(oh, oh, cout)}, {k}x{k} s{stride} SAME, bias"
    return Case(name, "TRANSPOSE_CONV int8", "TRANSPOSE_CONV", desc, build, I8)


def _conv_cases() -> list:
    return [
        conv(56, 64, 64, 3, act="RELU"), conv(28, 128, 128, 1, act="RELU6"),
        conv(224, 3, 32, 3, stride=2, act="RELU6"), conv(14, 256, 256, 3),
        conv(112, 32, 64, 1, act="RELU6"), conv(56, 128, 128, 1), conv(14, 512, 512, 1, act="RELU6"),
        conv(7, 1024, 1024, 1, act="RELU6"), conv(1, 1024, 1000, 1), conv(56, 64, 256, 1, before="NONE"),
        conv(56, 256, 64, 1, act="RELU"), conv(7, 512, 512, 3, act="RELU"),
        conv(56, 128, 256, 3, stride=2, act="RELU"), conv(64, 64, 64, 3, dil=2, act="RELU"),
        conv(32, 32, 32, 5, act="RELU"), conv(224, 3, 64, 7, stride=2, act="RELU"),
        conv(128, 3, 8, 3, stride=2, act="RELU6"),  # mobilenet_v1_025's stem
        # patch embeddings, kernel = stride: ViT-Ti/16, then ConvNeXt-T's stem and downsampling
        conv(224, 3, 192, 16, stride=16, pad="VALID", before="NONE"),
        conv(224, 3, 96, 4, stride=4, pad="VALID", before="NONE"),
        conv(56, 96, 192, 2, stride=2, pad="VALID", before="NONE"),
        # MobileNetV2's narrow inverted residuals: project to 16 and 24 channels, expand
        # from them (depths of 16 and 24, where a 1x1 conv's requantization outweighs its MACs)
        conv(112, 32, 16, 1), conv(112, 16, 96, 1, act="RELU6", before="NONE"),
        conv(56, 144, 24, 1), conv(56, 24, 144, 1, act="RELU6", before="NONE"),
    ]


def _depthwise_cases() -> list:
    return [
        depthwise(112, 32, 3, act="RELU6"), depthwise(56, 128, 3, stride=2, act="RELU6"),
        depthwise(14, 512, 3, act="RELU6"), depthwise(112, 64, 3, stride=2), depthwise(28, 256, 3, act="RELU6"),
        depthwise(7, 1024, 3, act="RELU6"), depthwise(96, 16, 3, stride=2, pad="VALID"),
        depthwise(56, 72, 5, stride=2), depthwise(28, 120, 5, act="RELU"), depthwise(7, 576, 5, act="RELU6"),
    ]


def _transpose_conv_cases() -> list:
    return [transpose_conv(64, 32, 16, 3), transpose_conv(32, 64, 32, 4), transpose_conv(16, 128, 64, 2),
            transpose_conv(8, 256, 128, 4), transpose_conv(128, 16, 8, 3)]


# -- matrix products ---------------------------------------------------------------------
def fully_connected(rows, k, n, act="NONE") -> Case:
    name = f"qfc_{rows}x{k}_{n}_{act.lower()}"

    def build():
        rng = _rng(name)
        x, xq = _act_in(rng, (rows, k), "NONE")
        w, wq, w_rms = weights(rng, (n, k), 0, k)
        std = math.sqrt(k) * real_rms(x, xq) * float(np.sqrt(np.mean(w_rms ** 2)))
        qm = QModel()
        qm.input(x, xq)
        qm.const(w, wq)
        qm.const(*bias(rng, xq[0], wq[0], std))
        return qm.op("FULLY_CONNECTED", (rows, n), out_quant(std, act), "FullyConnectedOptions", version=5,
                     FusedActivationFunction=ACT[act], KeepNumDims=False)
    return Case(name, "FULLY_CONNECTED int8", "FULLY_CONNECTED",
                f"[{rows},{k}] x [{k},{n}]" + _suffix(act), build, I8)


def batch_matmul(batch, m, k, n, adj_y=False) -> Case:
    name = f"qbmm_{batch}x{m}x{k}_{n}{'_adjy' if adj_y else ''}"

    def build():
        rng = _rng(name)
        x, xq = _act_in(rng, (batch, m, k), "NONE")
        y_shape = (batch, n, k) if adj_y else (batch, k, n)
        yq = quant(-2.0, 2.5)
        y = activation(rng, y_shape)
        std = math.sqrt(k) * real_rms(x, xq) * real_rms(y, yq)
        qm = QModel()
        qm.input(x, xq)
        qm.input(y, yq)
        return qm.op("BATCH_MATMUL", (batch, m, n), out_quant(std), "BatchMatMulOptions", version=2,
                     AdjX=False, AdjY=adj_y)
    return Case(name, "BATCH_MATMUL int8", "BATCH_MATMUL",
                f"[{batch},{m},{k}] x [{batch},{k},{n}]" + (" (adj_y)" if adj_y else ""), build, I8)


def _fc_cases() -> list:
    return [fully_connected(128, 768, 768), fully_connected(1, 1024, 1000),
            fully_connected(128, 768, 3072, "RELU"), fully_connected(128, 3072, 768),
            fully_connected(197, 384, 1152), fully_connected(1, 2048, 1000), fully_connected(8, 256, 256)]


def _bmm_cases() -> list:
    return [batch_matmul(12, 128, 64, 128, adj_y=True), batch_matmul(12, 128, 128, 64),
            batch_matmul(6, 197, 64, 197, adj_y=True)]


# -- elementwise -------------------------------------------------------------------------
SAME_QUANT = ("MAXIMUM", "MINIMUM")      # TFLite compares the stored int8 values


def _range(q: tuple) -> tuple:
    return q[0] * (-128 - q[1]), q[0] * (127 - q[1])


def _binary_out(op: str, aq: tuple, bq: tuple) -> tuple:
    """The output quant covering every result of op on the inputs' ranges."""
    (a0, a1), (b0, b1) = _range(aq), _range(bq)
    if op == "ADD":
        return quant(a0 + b0, a1 + b1)
    if op == "SUB":
        return quant(a0 - b1, a1 - b0)
    if op == "MUL":
        ends = [a * b for a in (a0, a1) for b in (b0, b1)]
        return quant(min(ends), max(ends))
    return quant(0.0, max(a1 - b0, b1 - a0) ** 2)       # SQUARED_DIFFERENCE


def binary(op, pattern, h, w, c) -> Case:
    name = f"q{op.lower()}_{pattern}_{h}x{w}x{c}"
    first, second, const, desc = binary_operands(op, pattern, h, w, c)

    def build():
        rng = _rng(name)
        aq = quant(-3.0, 3.5)
        bq = aq if op in SAME_QUANT else quant(-0.5, 1.5) if const else quant(-1.0, 2.0)
        qm = QModel()
        qm.input(activation(rng, first), aq)
        (qm.const if const else qm.input)(activation(rng, second), bq)
        opts = BINARY_OPTS.get(op)
        kw = {"FusedActivationFunction": 0} if opts else {}
        return qm.op(op, (1, h, w, c), aq if op in SAME_QUANT else _binary_out(op, aq, bq), opts, **kw)
    return Case(name, "BINARY int8", op, desc, build, I8)


def _binary_cases() -> list:
    return binary_grid(binary, ("SUB", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"),
                       (("same", 56, 56, 64), ("channel", 28, 28, 256)))


def prelu(shape, alpha) -> Case:
    h, w, c = shape
    alpha_shape = {"C": (c,), "11C": (1, 1, c)}[alpha]
    name = f"qprelu_{alpha}_{h}x{w}x{c}"

    def build():
        rng = _rng(name)
        xq, aq = quant(-3.0, 3.5), quant(0.0, 0.5)
        qm = QModel()
        qm.input(activation(rng, (1, h, w, c)), xq)
        qm.const(activation(rng, alpha_shape), aq)
        return qm.op("PRELU", (1, h, w, c), quant(_range(xq)[0] * 0.5, _range(xq)[1]))
    return Case(name, "PRELU int8", "PRELU", f"{_x(1, h, w, c)}, alpha {list(alpha_shape)}", build, I8)


def _prelu_cases() -> list:
    # no HWC alpha: dlcoder's int8 PRELU holds a 256-byte table per alpha element (qunary.py),
    # 51 MB for [56,56,64], which takes minutes to generate and compile
    return [prelu((112, 112, 32), "11C"), prelu((56, 56, 64), "C"), prelu((14, 14, 256), "C"),
            prelu((28, 28, 128), "11C")]


# input range and output quant of each activation: TFLite fixes LOGISTIC's and TANH's
UNARY_QUANT = {
    "LOGISTIC": ((-8.0, 8.0), (1 / 256, -128)), "TANH": ((-4.0, 4.0), (1 / 128, 0)),
    "HARD_SWISH": ((-4.0, 4.0), quant(-0.375, 4.0)), "LEAKY_RELU": ((-4.0, 4.0), quant(-0.4, 4.0)),
    "ELU": ((-4.0, 4.0), quant(-1.0, 4.0)), "GELU": ((-4.0, 4.0), quant(-0.17, 4.0)),
    "RSQRT": ((0.0, 4.0), quant(0.0, 8.0)),
}


def unary(op, shape, opts=None, tag="", **kw) -> Case:
    name = f"q{op.lower()}{tag}_{_x(*shape)}"

    def build():
        rng = _rng(name)
        (lo, hi), yq = UNARY_QUANT[op]
        x = activation(rng, shape)
        if op == "RSQRT":           # above the zero point: TFLite fails on a negative input
            x = np.maximum(x, -127).astype(np.int8)
        qm = QModel()
        qm.input(x, quant(lo, hi))
        return qm.op(op, shape, yq, opts, **kw)
    return Case(name, "ACTIVATION int8", op, f"{list(shape)}{tag.replace('_', ' ')}", build, I8)


def _activation_cases() -> list:
    return [
        unary("LOGISTIC", (1, 56, 56, 128)), unary("HARD_SWISH", (1, 56, 56, 72)),
        unary("TANH", (1, 28, 28, 256)), unary("LEAKY_RELU", (1, 112, 112, 64), "LeakyReluOptions", Alpha=0.1),
        unary("GELU", (128, 3072), "GeluOptions", tag="_tanh", Approximate=True),
        unary("ELU", (1, 56, 56, 128)), unary("RSQRT", (1, 56, 56, 64)), unary("LOGISTIC", (128, 3072)),
        unary("HARD_SWISH", (1, 14, 14, 480)), unary("TANH", (128, 768)),
    ]


def softmax(shape, beta=1.0) -> Case:
    name = f"qsoftmax_{_x(*shape)}"

    def build():
        rng = _rng(name)
        qm = QModel()
        qm.input(activation(rng, shape), quant(-10.0, 10.0))
        return qm.op("SOFTMAX", shape, (1 / 256, -128), "SoftmaxOptions", Beta=beta)
    return Case(name, "SOFTMAX int8", "SOFTMAX", f"{list(shape)}, last axis {shape[-1]}", build, I8)


def _softmax_cases() -> list:
    return [softmax((1, 1000)), softmax((12, 128, 128)), softmax((1, 10)), softmax((6, 197, 197))]


# -- reductions, pooling, resampling, data movement --------------------------------------
def mean(shape, axes, out_q) -> Case:
    name = f"qmean_{_x(*shape)}_axes{''.join(map(str, axes))}"
    out = [1 if i in axes else d for i, d in enumerate(shape)]

    def build():
        rng = _rng(name)
        qm = QModel()
        qm.input(activation(rng, shape), quant(0.0, 6.0) if len(shape) == 4 else quant(-3.0, 3.5))
        qm.const(np.array(axes, np.int32))
        return qm.op("MEAN", out, out_q, "ReducerOptions", KeepDims=True)
    return Case(name, "MEAN int8", "MEAN", f"{list(shape)} over axes {list(axes)}", build, I8)


def _mean_cases() -> list:
    return [mean((1, 7, 7, 1024), (1, 2), quant(0.0, 4.0)), mean((128, 768), (1,), quant(-0.5, 0.6)),
            mean((1, 56, 56, 64), (1, 2), quant(0.0, 4.0)), mean((1, 14, 14, 512), (1, 2), quant(0.0, 4.0)),
            mean((1, 32, 32, 256), (3,), quant(0.0, 4.0))]


def _same_quant(family, op, name, shape, out_shape, desc, q, *consts, opts=None, version=1, **kw) -> Case:
    """A case of an op that moves or picks values: the output keeps the input's quant."""
    def build():
        rng = _rng(name)
        qm = QModel()
        for s in shape if isinstance(shape[0], tuple) else [shape]:
            qm.input(activation(rng, s), q)
        for c in consts:
            qm.const(c)
        return qm.op(op, out_shape, q, opts, version=version, **kw)
    return Case(name, family, op, desc, build, I8)


def pool(op, hw, c, k, stride, pad="SAME") -> Case:
    name = f"q{op.split('_')[0].lower()}pool{k}x{k}_s{stride}_{pad.lower()}_{hw}x{hw}x{c}"
    oh = _out_size(hw, k, stride, pad)
    return _same_quant("POOL int8", op, name, (1, hw, hw, c), (1, oh, oh, c),
                       f"{_x(hw, hw, c)} -> {_x(oh, oh, c)}, {k}x{k} s{stride} {pad}", quant(0.0, 6.0),
                       opts="Pool2DOptions", Padding=PAD[pad], StrideW=stride, StrideH=stride,
                       FilterWidth=k, FilterHeight=k, FusedActivationFunction=0)


def _pool_cases() -> list:
    return [pool("MAX_POOL_2D", 112, 64, 3, 2), pool("AVERAGE_POOL_2D", 7, 1024, 7, 1, "VALID"),
            pool("MAX_POOL_2D", 112, 64, 2, 2), pool("MAX_POOL_2D", 28, 256, 3, 1),
            pool("AVERAGE_POOL_2D", 112, 64, 2, 2), pool("AVERAGE_POOL_2D", 56, 128, 3, 2)]


def resize(op, hw, c, mode) -> Case:
    name = f"q{'bilinear' if op == 'RESIZE_BILINEAR' else 'nearest'}_{mode}_{hw}x{hw}x{c}"
    opts = "ResizeBilinearOptions" if op == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    return _same_quant("RESIZE int8", op, name, (1, hw, hw, c), (1, 2 * hw, 2 * hw, c),
                       f"{_x(hw, hw, c)} -> {_x(2 * hw, 2 * hw, c)}, {mode}", quant(-3.0, 3.5),
                       np.array([2 * hw, 2 * hw], np.int32), opts=opts, version=3,
                       AlignCorners=mode == "align_corners", HalfPixelCenters=mode == "half_pixel")


def _resize_cases() -> list:
    return [resize("RESIZE_BILINEAR", 32, 128, "half_pixel"), resize("RESIZE_NEAREST_NEIGHBOR", 32, 128, "half_pixel"),
            resize("RESIZE_BILINEAR", 64, 64, "align_corners"), resize("RESIZE_BILINEAR", 16, 256, "default"),
            resize("RESIZE_BILINEAR", 128, 32, "half_pixel"), resize("RESIZE_NEAREST_NEIGHBOR", 16, 256, "default")]


def concat(shapes, axis=-1) -> Case:
    name = f"qconcat{len(shapes)}_{'_'.join(_x(*s) for s in shapes)}"
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return _same_quant("CONCATENATION int8", "CONCATENATION", name, tuple(shapes), out,
                       " ++ ".join(str(list(s)) for s in shapes), quant(0.0, 6.0), opts="ConcatenationOptions",
                       Axis=axis % len(out), FusedActivationFunction=0)


def _concat_cases() -> list:
    return [concat([(1, 56, 56, 64)] * 2), concat([(1, 14, 14, 256)] * 4),
            concat([(1, 112, 112, 32), (1, 112, 112, 16)]),
            concat([(1, 28, 28, 96), (1, 28, 28, 16), (1, 28, 28, 32), (1, 28, 28, 64)])]


def pad(shape, pads) -> Case:
    name = f"qpad_{_x(*shape)}_{''.join(str(p) for pair in pads for p in pair)}"
    out = [d + a + b for d, (a, b) in zip(shape, pads)]
    return _same_quant("PAD int8", "PAD", name, shape, out, f"{list(shape)} -> {out}",
                       quant(0.0, 6.0) if len(shape) == 4 else quant(-3.0, 3.5), np.array(pads, np.int32))


def _pad_cases() -> list:
    return [pad((1, 112, 112, 32), ((0, 0), (1, 1), (1, 1), (0, 0))),
            pad((1, 56, 56, 64), ((0, 0), (0, 1), (0, 1), (0, 0))),
            pad((1, 224, 224, 3), ((0, 0), (3, 3), (3, 3), (0, 0))),
            pad((1, 28, 28, 24), ((0, 0), (0, 0), (0, 0), (0, 8))), pad((128, 700), ((0, 0), (0, 68)))]


def transpose(shape, perm) -> Case:
    name = f"qtranspose_{_x(*shape)}_{''.join(map(str, perm))}"
    return _same_quant("TRANSPOSE int8", "TRANSPOSE", name, shape, [shape[p] for p in perm],
                       f"{list(shape)} perm {list(perm)}", quant(-3.0, 3.5), np.array(perm, np.int32))


def _transpose_cases() -> list:
    return [transpose((1, 56, 56, 64), (0, 3, 1, 2)), transpose((1, 128, 12, 64), (0, 2, 1, 3)),
            transpose((1, 64, 56, 56), (0, 2, 3, 1)), transpose((12, 128, 64), (0, 2, 1))]


def space(op, hw, c, block) -> Case:
    name = f"q{'d2s' if op == 'DEPTH_TO_SPACE' else 's2d'}_b{block}_{hw}x{hw}x{c}"
    oh, oc = (hw * block, c // block ** 2) if op == "DEPTH_TO_SPACE" else (hw // block, c * block ** 2)
    opts = "DepthToSpaceOptions" if op == "DEPTH_TO_SPACE" else "SpaceToDepthOptions"
    return _same_quant("DEPTH_SPACE int8", op, name, (1, hw, hw, c), (1, oh, oh, oc),
                       f"{_x(hw, hw, c)} -> {_x(oh, oh, oc)}, block {block}", quant(0.0, 6.0),
                       opts=opts, BlockSize=block)


def _space_cases() -> list:
    return [space("DEPTH_TO_SPACE", 56, 128, 2), space("SPACE_TO_DEPTH", 224, 3, 2),
            space("DEPTH_TO_SPACE", 16, 256, 4), space("SPACE_TO_DEPTH", 112, 32, 2)]


def families() -> list:
    """The int8 families, each a list of cases with its most typical shapes first, in the
    order of the float grid."""
    return [_conv_cases(), _depthwise_cases(), _transpose_conv_cases(), _prelu_cases(), _fc_cases(),
            _binary_cases(), _bmm_cases(), _activation_cases(), _softmax_cases(), _mean_cases(),
            _pool_cases(), _resize_cases(), _concat_cases(), _pad_cases(), _transpose_cases(),
            _space_cases()]


__all__ = ["families", "quant"]
