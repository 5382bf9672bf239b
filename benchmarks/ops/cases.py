"""The op benchmark's grid: single-op float32 TFLite models over shapes taken from real
networks (MobileNet v1/v2/v3, ResNet, U-Net/FPN decoders, BERT/ViT blocks), written with
tests/models/op_hand.py, without TensorFlow; then the int8 grid (qcases.py), the same ops
quantized as the TFLite converter quantizes them, in families of their own ("CONV_2D int8").

Each case is a Case: a unique name, its family (the summary and the chart group by it),
the TFLite op, a one-line shape description, a builder that returns the model and the
inputs to feed it, and its dtype. Weights and inputs come from a generator seeded by the case's name, so
a case's model never changes between runs, and the build cache (run.py, keyed by the
generated files) recompiles a case only when dlcoder's output for it changes. The first
cases of every family are the `--quick` subset, so each family lists its most typical
shapes first.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from op_hand import single_op

ACT = {"NONE": 0, "RELU": 1, "RELU6": 3}
PAD = {"SAME": 0, "VALID": 1}
QUICK_PER_FAMILY = {"CONV_2D": 4, "DEPTHWISE_CONV_2D": 3, "TRANSPOSE_CONV": 3}
QUICK_DEFAULT = 2


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    op: str
    shape: str
    build: Callable[[], tuple]     # -> (HandModel, [input arrays])
    dtype: str = "float32"         # or "int8"

    def keys(self) -> set:
        """The names that select the case (normalized by _norm): its family, its op (with
        " int8" for an int8 case, e.g. "ADD int8") and its dtype."""
        op = self.op if self.dtype == "float32" else f"{self.op} {self.dtype}"
        return {_norm(self.family), _norm(op), _norm(self.dtype)}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _out_size(size: int, k: int, stride: int, pad: str, dil: int = 1) -> int:
    if pad == "SAME":
        return -(-size // stride)
    return -(-(size - (k - 1) * dil) // stride)


def _x(*dims) -> str:
    return "x".join(str(d) for d in dims)


# -- convolutions ------------------------------------------------------------------------
def conv(hw, cin, cout, k, stride=1, pad="SAME", dil=1, act="NONE") -> Case:
    dilation = f"_d{dil}" if dil > 1 else ""
    name = f"conv{k}x{k}_s{stride}{dilation}_{pad.lower()}_{hw}x{hw}x{cin}_{cout}_{act.lower()}"
    oh = _out_size(hw, k, stride, pad, dil)

    def build():
        rng = _rng(name)
        w = _randn(rng, cout, k, k, cin, scale=1 / math.sqrt(k * k * cin))
        return single_op("CONV_2D", [_randn(rng, 1, hw, hw, cin), w, _randn(rng, cout, scale=0.5)],
                         [[1, oh, oh, cout]], "Conv2DOptions", consts=(1, 2), Padding=PAD[pad],
                         StrideW=stride, StrideH=stride, DilationWFactor=dil, DilationHFactor=dil,
                         FusedActivationFunction=ACT[act])
    desc = f"{_x(hw, hw, cin)} -> {_x(oh, oh, cout)}, {k}x{k} s{stride} {pad}" + \
        (f" dil {dil}" if dil > 1 else "") + ("" if act == "NONE" else f" {act}")
    return Case(name, "CONV_2D", "CONV_2D", desc, build)


def depthwise(hw, c, k, stride=1, pad="SAME", act="NONE") -> Case:
    name = f"dw{k}x{k}_s{stride}_{pad.lower()}_{hw}x{hw}x{c}_{act.lower()}"
    oh = _out_size(hw, k, stride, pad)

    def build():
        rng = _rng(name)
        w = _randn(rng, 1, k, k, c, scale=1 / k)
        return single_op("DEPTHWISE_CONV_2D", [_randn(rng, 1, hw, hw, c), w, _randn(rng, c, scale=0.5)],
                         [[1, oh, oh, c]], "DepthwiseConv2DOptions", consts=(1, 2), Padding=PAD[pad],
                         StrideW=stride, StrideH=stride, DepthMultiplier=1, DilationWFactor=1,
                         DilationHFactor=1, FusedActivationFunction=ACT[act])
    desc = f"{_x(hw, hw, c)} -> {_x(oh, oh, c)}, {k}x{k} s{stride} {pad}" + ("" if act == "NONE" else f" {act}")
    return Case(name, "DEPTHWISE_CONV_2D", "DEPTHWISE_CONV_2D", desc, build)


def transpose_conv(hw, cin, cout, k, stride=2) -> Case:
    name = f"tconv{k}x{k}_s{stride}_{hw}x{hw}x{cin}_{cout}"
    oh = hw * stride

    def build():
        rng = _rng(name)
        w = _randn(rng, cout, k, k, cin, scale=1 / math.sqrt(k * k * cin / stride ** 2))
        arrays = [np.array([1, oh, oh, cout], np.int32), w, _randn(rng, 1, hw, hw, cin),
                  _randn(rng, cout, scale=0.5)]
        return single_op("TRANSPOSE_CONV", arrays, [[1, oh, oh, cout]], "TransposeConvOptions",
                         consts=(0, 1, 3), version=3, Padding=PAD["SAME"], StrideW=stride, StrideH=stride)
    desc = f"{_x(hw, hw, cin)} -> {_x(oh, oh, cout)}, {k}x{k} s{stride} SAME, bias"
    return Case(name, "TRANSPOSE_CONV", "TRANSPOSE_CONV", desc, build)


def _conv_cases() -> list:
    return [
        conv(56, 64, 64, 3, act="RELU"), conv(28, 128, 128, 1, act="RELU6"),
        conv(224, 3, 32, 3, stride=2, act="RELU6"), conv(14, 256, 256, 3),
        conv(112, 32, 64, 1, act="RELU6"), conv(56, 128, 128, 1), conv(14, 512, 512, 1, act="RELU6"),
        conv(7, 1024, 1024, 1, act="RELU6"), conv(1, 1024, 1000, 1), conv(56, 64, 256, 1),
        conv(56, 256, 64, 1, act="RELU"), conv(28, 128, 128, 3, act="RELU"), conv(7, 512, 512, 3, act="RELU"),
        conv(112, 32, 64, 3, stride=2, pad="VALID"), conv(56, 128, 256, 3, stride=2, act="RELU"),
        conv(256, 16, 16, 3, act="RELU"), conv(128, 32, 32, 3), conv(64, 64, 64, 3, dil=2, act="RELU"),
        conv(32, 256, 256, 3, dil=2), conv(32, 32, 32, 5, act="RELU"), conv(28, 64, 64, 5, stride=2),
        conv(224, 3, 64, 7, stride=2, act="RELU"), conv(64, 16, 16, 7, pad="VALID"),
        # patch embeddings, kernel = stride: ViT-Ti/16, then ConvNeXt-T's stem and downsampling
        conv(224, 3, 192, 16, stride=16, pad="VALID"), conv(224, 3, 96, 4, stride=4, pad="VALID"),
        conv(56, 96, 192, 2, stride=2, pad="VALID"),
        # MobileNetV2's narrow inverted residuals: project to 16 and 24 channels, expand from them
        conv(112, 32, 16, 1), conv(112, 16, 96, 1, act="RELU6"), conv(56, 144, 24, 1),
        conv(56, 24, 144, 1, act="RELU6"),
    ]


def _depthwise_cases() -> list:
    return [
        depthwise(112, 32, 3, act="RELU6"), depthwise(56, 128, 3, stride=2, act="RELU6"),
        depthwise(14, 512, 3, act="RELU6"), depthwise(192, 8, 3), depthwise(112, 64, 3, stride=2),
        depthwise(56, 128, 3), depthwise(28, 256, 3, act="RELU6"), depthwise(7, 1024, 3, act="RELU6"),
        depthwise(96, 16, 3, stride=2, pad="VALID"), depthwise(56, 72, 5, stride=2),
        depthwise(28, 120, 5, act="RELU"), depthwise(14, 240, 5), depthwise(7, 576, 5, act="RELU6"),
        depthwise(128, 24, 5), depthwise(14, 672, 5, stride=2),
    ]


def _transpose_conv_cases() -> list:
    return [transpose_conv(64, 32, 16, 3), transpose_conv(32, 64, 32, 4), transpose_conv(16, 128, 64, 2),
            transpose_conv(64, 32, 16, 2), transpose_conv(64, 32, 16, 4), transpose_conv(32, 64, 32, 3),
            transpose_conv(8, 256, 128, 4), transpose_conv(128, 16, 8, 3)]


# -- matrix products ---------------------------------------------------------------------
def fully_connected(rows, k, n, act="NONE") -> Case:
    name = f"fc_{rows}x{k}_{n}_{act.lower()}"

    def build():
        rng = _rng(name)
        w = _randn(rng, n, k, scale=1 / math.sqrt(k))
        return single_op("FULLY_CONNECTED", [_randn(rng, rows, k), w, _randn(rng, n, scale=0.5)], [[rows, n]],
                         "FullyConnectedOptions", consts=(1, 2), FusedActivationFunction=ACT[act],
                         KeepNumDims=False)
    return Case(name, "FULLY_CONNECTED", "FULLY_CONNECTED",
                f"[{rows},{k}] x [{k},{n}]" + ("" if act == "NONE" else f" {act}"), build)


def batch_matmul(batch, m, k, n, adj_y=False) -> Case:
    name = f"bmm_{batch}x{m}x{k}_{n}{'_adjy' if adj_y else ''}"

    def build():
        rng = _rng(name)
        y = _randn(rng, batch, n, k) if adj_y else _randn(rng, batch, k, n)
        return single_op("BATCH_MATMUL", [_randn(rng, batch, m, k, scale=1 / math.sqrt(k)), y],
                         [[batch, m, n]], "BatchMatMulOptions", AdjX=False, AdjY=adj_y)
    return Case(name, "BATCH_MATMUL", "BATCH_MATMUL",
                f"[{batch},{m},{k}] x [{batch},{k},{n}]" + (" (adj_y)" if adj_y else ""), build)


def _fc_cases() -> list:
    return [
        fully_connected(128, 768, 768), fully_connected(1, 1024, 1000), fully_connected(128, 768, 3072, "RELU"),
        fully_connected(128, 3072, 768), fully_connected(197, 384, 1152), fully_connected(1, 2048, 1000),
        fully_connected(50, 512, 2048, "RELU"), fully_connected(1, 512, 512), fully_connected(8, 256, 256)]


def _bmm_cases() -> list:
    return [
        batch_matmul(12, 128, 64, 128, adj_y=True), batch_matmul(12, 128, 128, 64),
        batch_matmul(6, 197, 64, 197, adj_y=True), batch_matmul(6, 197, 197, 64),
        batch_matmul(8, 64, 64, 64), batch_matmul(4, 256, 32, 256, adj_y=True),
    ]


# -- elementwise -------------------------------------------------------------------------
BINARY_OPTS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}
# the second operand of each broadcast pattern, from the first's [1,H,W,C]; "const" marks
# a constant operand (a bias or a scale), the others are graph inputs
PATTERNS = {
    "same": lambda h, w, c: ((1, h, w, c), False),
    "channel": lambda h, w, c: ((c,), True),
    "scalar": lambda h, w, c: ((), True),
    "row_col": lambda h, w, c: ((1, h, 1, c), False),     # [1,1,W,C] op [1,H,1,C]
    "spatial": lambda h, w, c: ((1, h, w, 1), False),
}


def binary_operands(op, pattern, h, w, c) -> tuple:
    """The first operand's shape, the second's, whether the second is a constant, and the
    case's description, for op over broadcast `pattern` with an output of [1,h,w,c]."""
    second, const = PATTERNS[pattern](h, w, c)
    first = (1, 1, w, c) if pattern == "row_col" else (1, h, w, c)
    return first, second, const, f"{list(first)} {op} {list(second)}" + (" const" if const else "")


def binary_grid(make, more_ops, more_shapes) -> list:
    """make(op, pattern, h, w, c) for ADD and MUL over every broadcast pattern, then for each
    of more_ops over more_shapes, a list of (pattern, h, w, c)."""
    cases = [make("ADD", "same", 56, 56, 64), make("MUL", "spatial", 56, 56, 64)]
    for op in ("ADD", "MUL"):
        for pattern, (h, w, c) in (("same", (28, 28, 256)), ("channel", (112, 112, 32)),
                                   ("scalar", (56, 56, 128)), ("row_col", (32, 32, 64))):
            cases.append(make(op, pattern, h, w, c))
    for op in more_ops:
        cases += [make(op, *shape) for shape in more_shapes]
    return cases


def binary(op, pattern, h, w, c) -> Case:
    name = f"{op.lower()}_{pattern}_{h}x{w}x{c}"
    first, second, const, desc = binary_operands(op, pattern, h, w, c)

    def build():
        rng = _rng(name)
        a, b = _randn(rng, *first), _randn(rng, *second)
        if op == "DIV":                       # keep divisors away from zero
            b = (np.abs(b) + 0.5).astype(np.float32)
        opts = BINARY_OPTS.get(op)
        kw = {"FusedActivationFunction": 0} if opts else {}
        return single_op(op, [a, b], [[1, h, w, c]], opts, consts=(1,) if const else (), **kw)
    return Case(name, "BINARY", op, desc, build)


def _binary_cases() -> list:
    return binary_grid(binary, ("SUB", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"),
                       (("same", 56, 56, 64), ("channel", 28, 28, 256), ("scalar", 112, 112, 32)))


def prelu(shape, alpha) -> Case:
    h, w, c = shape
    alpha_shape = {"C": (c,), "11C": (1, 1, c), "HWC": (h, w, c)}[alpha]
    name = f"prelu_{alpha}_{h}x{w}x{c}"

    def build():
        rng = _rng(name)
        return single_op("PRELU", [_randn(rng, 1, h, w, c), _randn(rng, *alpha_shape, scale=0.2)],
                         [[1, h, w, c]], consts=(1,))
    return Case(name, "PRELU", "PRELU", f"{_x(1, h, w, c)}, alpha {list(alpha_shape)}", build)


def _prelu_cases() -> list:
    return [prelu((112, 112, 32), "11C"), prelu((56, 56, 64), "C"), prelu((28, 28, 128), "11C"),
            prelu((14, 14, 256), "C"), prelu((256, 256, 16), "11C"), prelu((56, 56, 64), "HWC"),
            prelu((28, 28, 128), "HWC"), prelu((7, 7, 1024), "11C")]


def unary(op, shape, opts=None, tag="", **kw) -> Case:
    name = f"{op.lower()}{tag}_{_x(*shape)}"

    def build():
        rng = _rng(name)
        x = _randn(rng, *shape, scale=2.0)
        if op == "RSQRT":
            x = (np.abs(x) + 0.1).astype(np.float32)
        return single_op(op, [x], [list(shape)], opts, **kw)
    return Case(name, "ACTIVATION", op, f"{list(shape)}{tag.replace('_', ' ')}", build)


def _activation_cases() -> list:
    return [
        unary("LOGISTIC", (1, 56, 56, 128)), unary("HARD_SWISH", (1, 56, 56, 72)),
        unary("GELU", (128, 3072), "GeluOptions", tag="_tanh", Approximate=True),
        unary("TANH", (1, 28, 28, 256)), unary("LEAKY_RELU", (1, 112, 112, 64), "LeakyReluOptions", Alpha=0.1),
        unary("ELU", (1, 56, 56, 128)), unary("RSQRT", (1, 56, 56, 64)),
        unary("LOGISTIC", (128, 3072)), unary("LOGISTIC", (1, 7, 7, 1024)),
        unary("HARD_SWISH", (1, 112, 112, 16)), unary("HARD_SWISH", (1, 14, 14, 480)),
        unary("GELU", (128, 3072), "GeluOptions", tag="_erf", Approximate=False),
        unary("GELU", (197, 1536), "GeluOptions", tag="_erf", Approximate=False),
        unary("TANH", (128, 768)), unary("LEAKY_RELU", (1, 28, 28, 256), "LeakyReluOptions", Alpha=0.2),
        unary("ELU", (128, 1024)), unary("RSQRT", (128, 1)),
    ]


def softmax(shape, beta=1.0) -> Case:
    name = f"softmax_{_x(*shape)}"

    def build():
        rng = _rng(name)
        return single_op("SOFTMAX", [_randn(rng, *shape, scale=3.0)], [list(shape)], "SoftmaxOptions", Beta=beta)
    return Case(name, "SOFTMAX", "SOFTMAX", f"{list(shape)}, last axis {shape[-1]}", build)


def _softmax_cases() -> list:
    return [softmax((1, 1000)), softmax((12, 128, 128)), softmax((1, 10)), softmax((1, 100)),
            softmax((64, 1000)), softmax((6, 197, 197)), softmax((1, 8, 256, 256)), softmax((512, 10))]


# -- reductions, pooling, resampling -----------------------------------------------------
def mean(shape, axes) -> Case:
    name = f"mean_{_x(*shape)}_axes{''.join(map(str, axes))}"
    out = [1 if i in axes else d for i, d in enumerate(shape)]

    def build():
        rng = _rng(name)
        return single_op("MEAN", [_randn(rng, *shape), np.array(axes, np.int32)], [out], "ReducerOptions",
                         consts=(1,), KeepDims=True)
    return Case(name, "MEAN", "MEAN", f"{list(shape)} over axes {list(axes)}", build)


def _mean_cases() -> list:
    return [mean((1, 7, 7, 1024), (1, 2)), mean((128, 768), (1,)), mean((1, 56, 56, 64), (1, 2)),
            mean((1, 14, 14, 512), (1, 2)), mean((197, 384), (1,)), mean((1, 32, 32, 256), (3,))]


def pool(op, hw, c, k, stride, pad="SAME") -> Case:
    name = f"{op.split('_')[0].lower()}pool{k}x{k}_s{stride}_{pad.lower()}_{hw}x{hw}x{c}"
    oh = _out_size(hw, k, stride, pad)

    def build():
        rng = _rng(name)
        return single_op(op, [_randn(rng, 1, hw, hw, c)], [[1, oh, oh, c]], "Pool2DOptions", Padding=PAD[pad],
                         StrideW=stride, StrideH=stride, FilterWidth=k, FilterHeight=k, FusedActivationFunction=0)
    return Case(name, "POOL", op, f"{_x(hw, hw, c)} -> {_x(oh, oh, c)}, {k}x{k} s{stride} {pad}", build)


def _pool_cases() -> list:
    return [pool("MAX_POOL_2D", 112, 64, 3, 2), pool("AVERAGE_POOL_2D", 7, 1024, 7, 1, "VALID"),
            pool("MAX_POOL_2D", 112, 64, 2, 2), pool("MAX_POOL_2D", 28, 256, 3, 1),
            pool("MAX_POOL_2D", 56, 128, 2, 2, "VALID"), pool("AVERAGE_POOL_2D", 112, 64, 2, 2),
            pool("AVERAGE_POOL_2D", 28, 192, 3, 1), pool("AVERAGE_POOL_2D", 56, 128, 3, 2)]


def resize(op, hw, c, mode, out_hw=None) -> Case:
    """An hw x hw x c image resized to out_hw x out_hw (default: doubled)."""
    out = out_hw or 2 * hw
    name = f"{'bilinear' if op == 'RESIZE_BILINEAR' else 'nearest'}_{mode}_{hw}x{hw}x{c}" + (
        f"_to{out}" if out_hw else "")
    opts = "ResizeBilinearOptions" if op == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"

    def build():
        rng = _rng(name)
        size = np.array([out, out], np.int32)
        return single_op(op, [_randn(rng, 1, hw, hw, c), size], [[1, out, out, c]], opts, consts=(1,),
                         version=3, AlignCorners=mode == "align_corners", HalfPixelCenters=mode == "half_pixel")
    return Case(name, "RESIZE", op, f"{_x(hw, hw, c)} -> {_x(out, out, c)}, {mode}", build)


def _resize_cases() -> list:
    cases = []
    for op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        cases += [resize(op, 32, 128, "half_pixel"), resize(op, 64, 64, "align_corners"),
                  resize(op, 16, 256, "default"), resize(op, 128, 32, "half_pixel")]
    # downsampling few channels, as image preprocessing does
    down = [resize("RESIZE_BILINEAR", 224, 3, "half_pixel", 112), resize("RESIZE_BILINEAR", 256, 4, "default", 160),
            resize("RESIZE_BILINEAR", 192, 1, "align_corners", 128),
            resize("RESIZE_NEAREST_NEIGHBOR", 224, 3, "default", 112)]
    return [cases[0], cases[4]] + cases[1:4] + cases[5:] + down


# -- data movement -----------------------------------------------------------------------
def concat(shapes, axis=-1) -> Case:
    name = f"concat{len(shapes)}_{'_'.join(_x(*s) for s in shapes)}"
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)

    def build():
        rng = _rng(name)
        return single_op("CONCATENATION", [_randn(rng, *s) for s in shapes], [out], "ConcatenationOptions",
                         Axis=axis % len(out), FusedActivationFunction=0)
    return Case(name, "CONCATENATION", "CONCATENATION", " ++ ".join(str(list(s)) for s in shapes), build)


def _concat_cases() -> list:
    return [concat([(1, 56, 56, 64)] * 2), concat([(1, 14, 14, 256)] * 4), concat([(1, 28, 28, 128)] * 3),
            concat([(1, 112, 112, 32), (1, 112, 112, 16)]), concat([(128, 384)] * 2),
            concat([(1, 28, 28, 96), (1, 28, 28, 16), (1, 28, 28, 32), (1, 28, 28, 64)])]


def pad(shape, pads) -> Case:
    name = f"pad_{_x(*shape)}_{''.join(str(p) for pair in pads for p in pair)}"
    out = [d + a + b for d, (a, b) in zip(shape, pads)]

    def build():
        rng = _rng(name)
        return single_op("PAD", [_randn(rng, *shape), np.array(pads, np.int32)], [out], consts=(1,))
    return Case(name, "PAD", "PAD", f"{list(shape)} -> {out}", build)


def _pad_cases() -> list:
    return [pad((1, 112, 112, 32), ((0, 0), (1, 1), (1, 1), (0, 0))),
            pad((1, 56, 56, 64), ((0, 0), (0, 1), (0, 1), (0, 0))),
            pad((1, 224, 224, 3), ((0, 0), (3, 3), (3, 3), (0, 0))),
            pad((1, 28, 28, 24), ((0, 0), (0, 0), (0, 0), (0, 8))),
            pad((128, 700), ((0, 0), (0, 68))), pad((1, 64, 64, 64), ((0, 0), (2, 2), (2, 2), (0, 0)))]


def transpose(shape, perm) -> Case:
    name = f"transpose_{_x(*shape)}_{''.join(map(str, perm))}"
    out = [shape[p] for p in perm]

    def build():
        rng = _rng(name)
        return single_op("TRANSPOSE", [_randn(rng, *shape), np.array(perm, np.int32)], [out], consts=(1,))
    return Case(name, "TRANSPOSE", "TRANSPOSE", f"{list(shape)} perm {list(perm)}", build)


def _transpose_cases() -> list:
    return [transpose((1, 56, 56, 64), (0, 3, 1, 2)), transpose((1, 128, 12, 64), (0, 2, 1, 3)),
            transpose((1, 64, 56, 56), (0, 2, 3, 1)), transpose((12, 128, 64), (0, 2, 1)),
            transpose((1, 224, 224, 3), (0, 3, 1, 2)), transpose((1, 12, 197, 64), (0, 2, 1, 3)),
            transpose((768, 512), (1, 0))]


def space(op, hw, c, block) -> Case:
    name = f"{'d2s' if op == 'DEPTH_TO_SPACE' else 's2d'}_b{block}_{hw}x{hw}x{c}"
    oh, oc = (hw * block, c // block ** 2) if op == "DEPTH_TO_SPACE" else (hw // block, c * block ** 2)
    opts = "DepthToSpaceOptions" if op == "DEPTH_TO_SPACE" else "SpaceToDepthOptions"

    def build():
        rng = _rng(name)
        return single_op(op, [_randn(rng, 1, hw, hw, c)], [[1, oh, oh, oc]], opts, BlockSize=block)
    return Case(name, "DEPTH_SPACE", op, f"{_x(hw, hw, c)} -> {_x(oh, oh, oc)}, block {block}", build)


def _space_cases() -> list:
    return [space("DEPTH_TO_SPACE", 56, 128, 2), space("SPACE_TO_DEPTH", 224, 3, 2),
            space("DEPTH_TO_SPACE", 32, 64, 2), space("DEPTH_TO_SPACE", 16, 256, 4),
            space("SPACE_TO_DEPTH", 112, 32, 2), space("SPACE_TO_DEPTH", 64, 16, 4)]


def _quick(family_cases: list) -> list:
    n = QUICK_PER_FAMILY.get(family_cases[0].family.removesuffix(" int8"), QUICK_DEFAULT)
    return family_cases[:n]


def all_cases(quick: bool = False, full: str | None = None) -> list:
    """Every case in family order; with quick, the first few of each family, and all the
    cases of the ops or families in the comma-separated list `full`."""
    # the families that dominate real networks first: a run stopped early has them; the
    # int8 families after the float32 ones, in the same order
    families = [_conv_cases(), _depthwise_cases(), _transpose_conv_cases(), _prelu_cases(), _fc_cases(),
                _binary_cases(), _bmm_cases(), _activation_cases(), _softmax_cases(),
                _mean_cases(), _pool_cases(), _resize_cases(), _concat_cases(), _pad_cases(),
                _transpose_cases(), _space_cases()]
    from qcases import families as int8_families     # qcases imports this module
    families += int8_families()
    whole = _names(full)
    cases = []
    for fam in families:
        short = _quick(fam) if quick else fam
        cases += [c for c in fam if c in short or _matches(c, whole)]
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return cases


def _norm(name: str) -> str:
    """A selector as compared: upper case, blanks as underscores ("conv_2d int8" is
    CONV_2D_INT8)."""
    return "_".join(name.upper().split())


def _names(ops: str | None) -> set:
    return {_norm(o) for o in (ops or "").split(",") if o.strip()}


def _matches(case: Case, names: set) -> bool:
    return bool(case.keys() & names)


def select(cases: list, ops: str | None) -> list:
    """The cases whose family, op or dtype is in the comma-separated list `ops` (all if
    None): CONV_2D is the float32 convolutions, "CONV_2D int8" (or CONV_2D_INT8) the int8
    family, "ADD int8" the int8 ADDs, int8 every int8 case."""
    wanted = _names(ops)
    return [c for c in cases if _matches(c, wanted)] if wanted else cases


__all__ = ["Case", "all_cases", "select"]
