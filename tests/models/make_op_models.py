#!/usr/bin/env python3
"""(Re)build the small single-purpose float32 TFLite test models in tests/models/ops/.

Every *case* is one tiny model exercising one builtin operator with one
attribute combination (plus a handful of multi-op "mini networks").  For each
case the script writes

  tests/models/ops/<case>.tflite   the model (static shapes)
  tests/models/ops/<case>.npz      sample inputs, keys input_0, input_1, ... in
                                   the model's subgraph-0 input order, with the
                                   exact dtype the model expects
  tests/models/ops/cases.json      {"<case>": {"ops": [...], "why": "..."}}
                                   ("ops" = sorted distinct builtin op names
                                   read back from the written flatbuffer)

Most models are produced with TensorFlow (tf.function + TFLiteConverter).
Where the converter cannot produce an op / attribute combination at all
(e.g. L2_POOL_2D, RELU_0_TO_1, SOFTMAX beta != 1, SQUEEZE / EXPAND_DIMS which
the converter rewrites to RESHAPE, STRIDED_SLICE offset, ...) the flatbuffer is
written directly by the small HandModel builder below, using the generated
flatbuffers builder functions shipped in the ``tflite`` package.  Those cases
are tagged "[hand-built]" in cases.json.

Every case is verified:
  1. the target op(s) (and selected builtin options) are really present in
     the written model,
  2. the model runs in the ai_edge_litert interpreter (BUILTIN_WITHOUT_DEFAULT_
     DELEGATES resolver) on the npz inputs and produces finite outputs,
  3. the outputs are not trivially constant (unless the op inherently is).
Any failure aborts with a non-zero exit status.

Everything is seeded per case (numpy default_rng seeded from the case name),
so reruns are reproducible.

Usage
  python3 tests/models/make_op_models.py              # rebuild everything
  python3 tests/models/make_op_models.py conv pool    # only cases whose name
                                                      # contains "conv" or "pool"
  python3 tests/models/make_op_models.py --list       # list case names
A full rebuild also deletes stale .tflite/.npz files in ops/ and rewrites
cases.json; a filtered rebuild updates only the selected cases' entries.
"""

import argparse
import importlib
import json
import os
import re
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "ops"
MAX_TENSOR_ELEMS = 8192  # keep every tensor tiny

# TFLite enum shorthands ------------------------------------------------------
NONE, RELU, RELU_N1_TO_1, RELU6, TANH = 0, 1, 2, 3, 4  # ActivationFunctionType
SAME, VALID = 0, 1  # Padding
REFLECT, SYMMETRIC = 0, 1  # MirrorPadMode


# =============================================================================
# Per-case random state and input / weight helpers
# =============================================================================
class _Rng:
    data = np.random.default_rng(0)  # sample inputs
    weights = np.random.default_rng(1)  # constant weights


def _seed(name):
    s = zlib.crc32(name.encode())
    _Rng.data = np.random.default_rng(s)
    _Rng.weights = np.random.default_rng(s ^ 0x5EED)


def randn(*shape, scale=1.0):
    """Standard-normal float32 sample input."""
    return (_Rng.data.standard_normal(shape) * scale).astype(np.float32)


def unif(lo, hi, *shape):
    return _Rng.data.uniform(lo, hi, shape).astype(np.float32)


def away0(*shape, lo=0.5, hi=2.0):
    """Float values with |v| in [lo, hi] and random sign (divisors)."""
    sign = np.where(_Rng.data.random(shape) < 0.5, -1.0, 1.0)
    return (sign * _Rng.data.uniform(lo, hi, shape)).astype(np.float32)


def grid(*shape, lo=-2.0, hi=2.0, step=0.5):
    """Floats on a coarse grid, so that exact ties / equal elements occur."""
    n = int(round((hi - lo) / step)) + 1
    return (lo + step * _Rng.data.integers(0, n, shape)).astype(np.float32)


def ints(lo, hi, *shape, dtype=np.int32):
    """Integers in [lo, hi]."""
    return _Rng.data.integers(lo, hi + 1, shape).astype(dtype)


def bools(*shape):
    return _Rng.data.random(shape) < 0.5


def W(*shape, fan_in=None, scale=None):
    """Constant float32 weights; default scale 1/sqrt(fan_in) keeps outputs ~unit scale."""
    if scale is None:
        if fan_in is None:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        scale = 1.0 / np.sqrt(max(fan_in, 1))
    return (_Rng.weights.standard_normal(shape) * scale).astype(np.float32)


def Wpos(*shape, lo=0.1, hi=0.9):
    return _Rng.weights.uniform(lo, hi, shape).astype(np.float32)


# =============================================================================
# Case table
# =============================================================================
@dataclass
class Case:
    name: str
    ops: tuple  # builtin ops that MUST be present
    why: str
    inputs: Optional[Callable] = None  # () -> list of np arrays (TF cases: fn arg order)
    fn: Optional[Callable] = None  # TF cases: fn(*tf_tensors) -> tensor(s)
    make: Optional[Callable] = None  # TF cases: () -> fn (e.g. builds Keras layers first)
    hand: Optional[Callable] = None  # hand-built: () -> (HandModel, [inputs in model order])
    expect: dict = field(default_factory=dict)  # {op: {Option: value}} on some op of that type
    allow_const: bool = False  # output may legitimately be constant
    fp16: bool = False  # convert with float16 weight quantization


CASES = {}


def T(name, ops, why, inputs, fn=None, *, make=None, expect=None, allow_const=False, fp16=False):
    """Register a TensorFlow-converted case."""
    assert name not in CASES, name
    CASES[name] = Case(name, tuple(ops), why, inputs=inputs, fn=fn, make=make,
                       expect=expect or {}, allow_const=allow_const, fp16=fp16)


def H(name, ops, why, hand, *, expect=None, allow_const=False):
    """Register a hand-built case; hand() -> (HandModel, [inputs in model input order])."""
    assert name not in CASES, name
    CASES[name] = Case(name, tuple(ops), "[hand-built] " + why, hand=hand,
                       expect=expect or {}, allow_const=allow_const)


def _act(y, act):
    """Apply an activation the converter fuses into the preceding op."""
    import tensorflow as tf
    if act is None:
        return y
    return {"relu": tf.nn.relu, "relu6": tf.nn.relu6,
            "relu_n1_to_1": lambda t: tf.clip_by_value(t, -1.0, 1.0)}[act](y)


_ACT_CODE = {None: NONE, "relu": RELU, "relu6": RELU6, "relu_n1_to_1": RELU_N1_TO_1}


# -----------------------------------------------------------------------------
# Builder functions (TensorFlow side).  They all import tensorflow lazily.
# -----------------------------------------------------------------------------
def conv_case(name, x, k, cout, stride=1, pad="SAME", dil=1, bias=True, act=None, why=""):
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = (dil, dil) if isinstance(dil, int) else dil
    cin_f = x[3]

    def fn(a):
        import tensorflow as tf
        f = W(kh, kw, cin_f, cout)
        y = tf.nn.conv2d(a, f, [1, sh, sw, 1], pad, dilations=[dh, dw])
        if bias:
            y = tf.nn.bias_add(y, W(cout, scale=0.5))
        return _act(y, act)

    why = why or (f"{kh}x{kw} {pad} stride {sh}x{sw} dil {dil} cin {x[3]} cout {cout}"
                  f" {'bias' if bias else 'no-bias(zero bias const)'} act {act or 'none'}")
    T(name, ["CONV_2D"], why, lambda: [randn(*x)], fn,
      expect={"CONV_2D": dict(Padding=SAME if pad == "SAME" else VALID, StrideH=sh, StrideW=sw,
                              DilationHFactor=dh, DilationWFactor=dw,
                              FusedActivationFunction=_ACT_CODE[act])})


def grouped_conv_case(name, x, k, cin_per_group, cout, why):
    def fn(a):
        import tensorflow as tf
        y = tf.nn.conv2d(a, W(k, k, cin_per_group, cout), 1, "SAME")
        return tf.nn.bias_add(y, W(cout, scale=0.5))
    T(name, ["CONV_2D"], why, lambda: [randn(*x)], fn)


def dw_case(name, x, k, mult=1, stride=1, pad="SAME", dil=1, act=None, why=""):
    c = x[3]

    def fn(a):
        import tensorflow as tf
        y = tf.nn.depthwise_conv2d(a, W(k, k, c, mult, fan_in=k * k), [1, stride, stride, 1], pad,
                                   dilations=[dil, dil])
        y = tf.nn.bias_add(y, W(c * mult, scale=0.5))
        return _act(y, act)

    why = why or f"{k}x{k} {pad} stride {stride} depth_multiplier {mult} dil {dil} act {act or 'none'} C={c}"
    T(name, ["DEPTHWISE_CONV_2D"], why, lambda: [randn(*x)], fn,
      expect={"DEPTHWISE_CONV_2D": dict(Padding=SAME if pad == "SAME" else VALID, StrideH=stride,
                                        StrideW=stride, DepthMultiplier=mult, DilationHFactor=dil,
                                        FusedActivationFunction=_ACT_CODE[act])})


def tconv_case(name, x, k, cout, stride, pad, bias, why=""):
    n, h, w_, cin = x
    if pad == "SAME":
        oh, ow = h * stride, w_ * stride
    else:
        oh, ow = (h - 1) * stride + k, (w_ - 1) * stride + k

    def fn(a):
        import tensorflow as tf
        y = tf.nn.conv2d_transpose(a, W(k, k, cout, cin, fan_in=k * k * cin // (stride * stride)),
                                   [n, oh, ow, cout], stride, pad)
        if bias:
            y = y + W(cout, scale=0.5)
        return y
    why = why or f"{k}x{k} {pad} stride {stride} {'with bias (4th input)' if bias else 'no bias (3 inputs)'}"
    T(name, ["TRANSPOSE_CONV"], why, lambda: [randn(*x)], fn,
      expect={"TRANSPOSE_CONV": dict(Padding=SAME if pad == "SAME" else VALID, StrideH=stride)})


def binop_case(name, op, a_shape, b_shape, *, dtype=np.float32, act=None, b_const=False, gen=None,
               why=""):
    import_name = {"ADD": "add", "SUB": "subtract", "MUL": "multiply", "DIV": "divide",
                   "MAXIMUM": "maximum", "MINIMUM": "minimum",
                   "SQUARED_DIFFERENCE": "squared_difference", "POW": "pow"}[op]
    if gen is None:
        if dtype == np.int32:
            gen = lambda s: ints(-9, 9, *s)  # noqa: E731
        else:
            gen = lambda s: randn(*s)  # noqa: E731
    gen_a, gen_b = gen if isinstance(gen, tuple) else (gen, gen)

    def fn(*args):
        import tensorflow as tf
        a = args[0]
        b = tf.constant(_const_b) if b_const else args[1]
        y = getattr(tf.math, import_name)(a, b)
        return _act(y, act)

    _const_b = None

    def inputs():
        nonlocal _const_b
        a = gen_a(a_shape)
        b = gen_b(b_shape)
        if b_const:
            _const_b = b
            return [a]
        return [a, b]

    exp = {}
    if op in ("ADD", "SUB", "MUL", "DIV"):
        exp = {op: dict(FusedActivationFunction=_ACT_CODE[act])}
    why = why or (f"{np.dtype(dtype).name} {list(a_shape)} x {list(b_shape)}"
                  f"{' (const rhs)' if b_const else ''}{' fused ' + act if act else ''}")
    T(name, [op], why, inputs, fn, expect=exp)


def unary_case(name, op, tf_fn, gen, why, expect=None, allow_const=False):
    T(name, [op], why, gen, tf_fn, expect=expect, allow_const=allow_const)


# =============================================================================
# Hand-built flatbuffer models
# =============================================================================
_NP2TFL = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int32): 2,
           np.dtype(np.uint8): 3, np.dtype(np.int64): 4, np.dtype(np.bool_): 6,
           np.dtype(np.int16): 7, np.dtype(np.int8): 9}


def _tfl_module(name):
    """A flatbuffers-generated module of the tflite package (tflite.<name> is the class)."""
    return importlib.import_module(f"tflite.{name}")


class HandModel:
    """Minimal writer for a one-subgraph TFLite model (tensors, buffers, ops)."""

    def __init__(self):
        self.tensors = []  # dict(name, shape, dtype, data, quant)
        self.operators = []  # (opname, inputs, outputs, options_name, options_kwargs, version)
        self.inputs, self.outputs = [], []

    def _tensor(self, shape, dtype, data=None, name=None, quant=None, variable=False):
        idx = len(self.tensors)
        self.tensors.append(dict(name=name or f"t{idx}", shape=list(shape), dtype=np.dtype(dtype),
                                 data=data, quant=quant, variable=variable))
        return idx

    def input(self, shape, dtype=np.float32, quant=None):
        t = self._tensor(shape, dtype, name=f"input_{len(self.inputs)}", quant=quant)
        self.inputs.append(t)
        return t

    def const(self, arr, dtype=None):
        arr = np.asarray(arr, dtype=dtype)
        return self._tensor(arr.shape, arr.dtype, data=np.ascontiguousarray(arr))

    def tensor(self, shape, dtype=np.float32):
        return self._tensor(shape, dtype)

    def variable(self, shape, dtype=np.float32):
        """A variable tensor without a buffer (an LSTM's state): TFLite zeroes it."""
        return self._tensor(shape, dtype, variable=True)

    def output(self, t):
        self.outputs.append(t)
        self.tensors[t]["name"] = f"output_{len(self.outputs) - 1}"
        return t

    def op(self, opname, inputs, outputs, opts=None, version=1, **kw):
        """opts: options table name (e.g. "Conv2DOptions"); kw: its fields (Add<Key>)."""
        self.operators.append((opname, list(inputs), list(outputs), opts, kw, version))
        return outputs[0] if len(outputs) == 1 else outputs

    # -- serialisation --------------------------------------------------------
    def build(self):
        import flatbuffers
        import tflite
        # the tflite package re-exports the classes under the module names, so
        # fetch the generated *modules* (with the builder functions) explicitly
        Buffer, Model, Operator, OperatorCode, QuantizationParameters, SubGraph, Tensor = (
            _tfl_module(n) for n in ("Buffer", "Model", "Operator", "OperatorCode",
                                     "QuantizationParameters", "SubGraph", "Tensor"))

        b = flatbuffers.Builder(4096)

        def ivec(vals, dtype=np.int32):
            return b.CreateNumpyVector(np.asarray(vals, dtype=dtype))

        # buffers: 0 is the mandatory empty buffer
        buf_data = [None]
        tensor_buf = []
        for t in self.tensors:
            if t["data"] is None:
                tensor_buf.append(0)
            else:
                tensor_buf.append(len(buf_data))
                buf_data.append(t["data"].tobytes())
        buf_offs = []
        for data in buf_data:
            dvec = None
            if data is not None:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                dvec = b.EndVector()
            Buffer.BufferStart(b)
            if dvec is not None:
                Buffer.BufferAddData(b, dvec)
            buf_offs.append(Buffer.BufferEnd(b))

        ten_offs = []
        for t, bi in zip(self.tensors, tensor_buf):
            name = b.CreateString(t["name"])
            shape = ivec(t["shape"])
            q = None
            if t["quant"] is not None:
                scale, zp = t["quant"]
                sv = b.CreateNumpyVector(np.asarray([scale], np.float32))
                zv = b.CreateNumpyVector(np.asarray([zp], np.int64))
                QuantizationParameters.QuantizationParametersStart(b)
                QuantizationParameters.QuantizationParametersAddScale(b, sv)
                QuantizationParameters.QuantizationParametersAddZeroPoint(b, zv)
                q = QuantizationParameters.QuantizationParametersEnd(b)
            Tensor.TensorStart(b)
            Tensor.TensorAddShape(b, shape)
            Tensor.TensorAddType(b, _NP2TFL[t["dtype"]])
            Tensor.TensorAddBuffer(b, bi)
            Tensor.TensorAddName(b, name)
            if q is not None:
                Tensor.TensorAddQuantization(b, q)
            if t["variable"]:
                Tensor.TensorAddIsVariable(b, True)
            ten_offs.append(Tensor.TensorEnd(b))

        codes = []  # (builtin code, version)
        op_offs = []
        for opname, ins, outs, opts, kw, version in self.operators:
            code = getattr(tflite.BuiltinOperator, opname)
            if (code, version) not in codes:
                codes.append((code, version))
            opt_off, opt_type = None, 0
            if opts is not None:
                mod = _tfl_module(opts)
                vecs = {k: ivec(v) for k, v in kw.items() if isinstance(v, (list, tuple, np.ndarray))}
                getattr(mod, f"{opts}Start")(b)
                for k, v in kw.items():
                    adder = getattr(mod, f"{opts}Add{k}")
                    adder(b, vecs[k] if k in vecs else v)
                opt_off = getattr(mod, f"{opts}End")(b)
                opt_type = getattr(_tfl_module("BuiltinOptions").BuiltinOptions, opts)
            iv, ov = ivec(ins), ivec(outs)
            Operator.OperatorStart(b)
            Operator.OperatorAddOpcodeIndex(b, codes.index((code, version)))
            Operator.OperatorAddInputs(b, iv)
            Operator.OperatorAddOutputs(b, ov)
            if opt_off is not None:
                Operator.OperatorAddBuiltinOptionsType(b, opt_type)
                Operator.OperatorAddBuiltinOptions(b, opt_off)
            op_offs.append(Operator.OperatorEnd(b))

        def table_vec(offs):
            b.StartVector(4, len(offs), 4)
            for o in reversed(offs):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        tv, opv = table_vec(ten_offs), table_vec(op_offs)
        iv, ov = ivec(self.inputs), ivec(self.outputs)
        sname = b.CreateString("main")
        SubGraph.SubGraphStart(b)
        SubGraph.SubGraphAddTensors(b, tv)
        SubGraph.SubGraphAddInputs(b, iv)
        SubGraph.SubGraphAddOutputs(b, ov)
        SubGraph.SubGraphAddOperators(b, opv)
        SubGraph.SubGraphAddName(b, sname)
        sg = SubGraph.SubGraphEnd(b)

        oc_offs = []
        for code, version in codes:
            OperatorCode.OperatorCodeStart(b)
            OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            OperatorCode.OperatorCodeAddBuiltinCode(b, code)
            OperatorCode.OperatorCodeAddVersion(b, version)
            oc_offs.append(OperatorCode.OperatorCodeEnd(b))

        ocv, sgv, bv = table_vec(oc_offs), table_vec([sg]), table_vec(buf_offs)
        desc = b.CreateString("dlcoder hand-built test model")
        Model.ModelStart(b)
        Model.ModelAddVersion(b, 3)
        Model.ModelAddOperatorCodes(b, ocv)
        Model.ModelAddSubgraphs(b, sgv)
        Model.ModelAddDescription(b, desc)
        Model.ModelAddBuffers(b, bv)
        b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def single_op(opname, in_arrays, out_shapes, opts=None, *, consts=(), out_dtypes=None, version=1,
              **kw):
    """Hand-built model with one operator.

    in_arrays: list of np arrays; graph inputs are those at positions not in `consts`
    (constant positions become constant tensors, None means an omitted optional input).
    """
    m = HandModel()
    ins, feeds = [], []
    for i, a in enumerate(in_arrays):
        if a is None:
            ins.append(-1)
        elif i in consts:
            ins.append(m.const(a))
        else:
            ins.append(m.input(a.shape, a.dtype))
            feeds.append(a)
    out_dtypes = out_dtypes or [np.float32] * len(out_shapes)
    outs = [m.output(m.tensor(s, d)) for s, d in zip(out_shapes, out_dtypes)]
    m.op(opname, ins, outs, opts, version=version, **kw)
    return m, feeds


# =============================================================================
# THE CASES
# =============================================================================
def define_cases():  # noqa: C901  (a long, flat table)
    import tensorflow as tf

    # ---------------------------------------------------------------- CONV_2D
    conv_case("conv_3x3_same_s1_bias_relu", (1, 8, 8, 3), 3, 8, act="relu")
    conv_case("conv_3x3_valid_s1_nobias", (1, 7, 7, 4), 3, 6, pad="VALID", bias=False)
    conv_case("conv_3x3_same_s2_relu6", (1, 9, 9, 5), 3, 12, stride=2, act="relu6")
    conv_case("conv_3x3_valid_s2_batch2", (2, 10, 10, 8), 3, 16, stride=2, pad="VALID")
    conv_case("conv_1x1_s1", (1, 5, 5, 16), 1, 24)
    conv_case("conv_5x5_same_s1", (1, 8, 8, 3), 5, 7)
    conv_case("conv_3x5_nonsquare_valid", (1, 7, 9, 6), (3, 5), 10, pad="VALID")
    conv_case("conv_2x3_stride_2x1_same_relu_n1_to_1", (1, 8, 7, 4), (2, 3), 6, stride=(2, 1), act="relu_n1_to_1")
    conv_case("conv_3x3_dil2_same", (1, 9, 9, 4), 3, 5, dil=2)
    conv_case("conv_3x3_same_cin17_cout33", (1, 6, 6, 17), 3, 33)
    conv_case("conv_3x3_same_w40_s1", (1, 5, 40, 8), 3, 20,
              why="rows wider than 32: border pixels gathered, interior read in place (no band)")
    conv_case("conv_5x5_same_w38_s2", (1, 6, 75, 5), 5, 18, stride=2,
              why="wide rows, stride 2, 5x5: the gathered border of two pixels per side")
    conv_case("conv_4x4_same_s2_even_kernel", (1, 8, 8, 3), 4, 8, stride=2)
    # out_c <= 8 with dil_w 1: two taps per register (simd_kernels.h conv2d_pairs)
    conv_case("conv_3x3_same_s2_cin3_cout8_w37", (1, 9, 37, 3), 3, 8, stride=2, act="relu6",
              why="an image stem: padded band, 19 pixels a row (tiles of 10 and 9, an odd pixel "
                  "left to fold alone), 9 taps a window row (an odd last tap)")
    conv_case("conv_5x5_valid_cin1_cout6_w32", (1, 12, 32, 1), 5, 6, pad="VALID",
              why="LeNet's first conv: rows read in place (no padding), 5 taps a window row")
    conv_case("conv_3x3_valid_dil2x1_batch2_cout7", (2, 9, 15, 2), 3, 7, pad="VALID", dil=(2, 1),
              why="dilation 2 down only: window rows 2 input rows apart, read in place; "
                  "6 taps a window row (no odd tap); batch 2")
    grouped_conv_case("conv_grouped_g2", (1, 6, 6, 8), 3, 4, 6,
                      "grouped conv: input channels 8 = 2 x filter input channels 4, cout 6")
    H("conv_3x3_fused_tanh", ["CONV_2D"],
      "3x3 VALID stride 2 with fused TANH activation (converter never fuses TANH)",
      lambda: single_op("CONV_2D", [randn(1, 7, 7, 3), W(4, 3, 3, 3, fan_in=27), W(4, scale=0.5)],
                        [[1, 3, 3, 4]], "Conv2DOptions", consts=(1, 2), Padding=VALID, StrideW=2,
                        StrideH=2, DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=TANH))

    # ------------------------------------------------------- DEPTHWISE_CONV_2D
    dw_case("dw_3x3_same_s1_c17_relu6", (1, 5, 5, 17), 3, act="relu6")
    dw_case("dw_3x3_valid_s2", (1, 9, 9, 6), 3, stride=2, pad="VALID")
    dw_case("dw_3x3_same_s2_relu6", (1, 8, 8, 5), 3, stride=2, act="relu6")
    dw_case("dw_5x5_valid_s2_mult2", (1, 11, 11, 3), 5, mult=2, stride=2, pad="VALID")
    # whole 16-channel blocks at stride 2 (the interior kernel with the stride a constant),
    # a channel tail, and row interiors that are not a multiple of four pixels
    dw_case("dw_3x3_same_s2_c20_relu6", (1, 9, 23, 20), 3, stride=2, act="relu6")
    dw_case("dw_5x5_same_s2_c32", (1, 9, 25, 32), 5, stride=2)
    # inputs shorter than the kernel: every output row has only 1 or 2 rows inside the input
    dw_case("dw_5x5_same_h2_c20", (1, 2, 9, 20), 5)
    dw_case("dw_3x3_same_h1_c20", (1, 1, 9, 20), 3)
    dw_case("dw_5x5_same_h1_c20", (1, 1, 9, 20), 5)
    dw_case("dw_3x3_same_mult2", (1, 6, 6, 4), 3, mult=2)
    dw_case("dw_3x3_same_dil2", (1, 9, 9, 6), 3, dil=2)

    # --------------------------------------------------------- TRANSPOSE_CONV
    tconv_case("tconv_3x3_same_s2_bias", (1, 4, 4, 3), 3, 4, 2, "SAME", True)
    tconv_case("tconv_3x3_same_s2_nobias", (1, 4, 5, 6), 3, 5, 2, "SAME", False)
    tconv_case("tconv_3x3_valid_s2_bias", (1, 3, 4, 4), 3, 3, 2, "VALID", True)
    tconv_case("tconv_3x3_same_s1_bias", (1, 5, 5, 4), 3, 6, 1, "SAME", True)
    tconv_case("tconv_4x4_same_s2_bias", (1, 3, 3, 5), 4, 3, 2, "SAME", True)

    # -------------------------------------------------------- FULLY_CONNECTED
    def fc(bias, act=None):
        def fn(a):
            y = tf.matmul(a, W(a.shape[-1], 12))
            if bias:
                y = y + W(12, scale=0.5)
            return _act(y, act)
        return fn
    T("fc_bias", ["FULLY_CONNECTED"], "[1,20] x [20,12] + bias, keep_num_dims false",
      lambda: [randn(1, 20)], fc(True), expect={"FULLY_CONNECTED": dict(KeepNumDims=False)})
    T("fc_nobias", ["FULLY_CONNECTED"], "[1,20] x [20,12], no bias (bias input -1)",
      lambda: [randn(1, 20)], fc(False))
    T("fc_bias_relu", ["FULLY_CONNECTED"], "[1,33] x [33,12] + bias, fused RELU",
      lambda: [randn(1, 33)], fc(True, "relu"),
      expect={"FULLY_CONNECTED": dict(FusedActivationFunction=RELU)})
    T("fc_batch3_relu6", ["FULLY_CONNECTED"], "batch 3: [3,10] x [10,12] + bias, fused RELU6",
      lambda: [randn(3, 10)], fc(True, "relu6"),
      expect={"FULLY_CONNECTED": dict(FusedActivationFunction=RELU6)})

    def fc_keras3d():
        layer = tf.keras.layers.Dense(7)
        layer.build((None, 5, 6))
        layer.set_weights([W(6, 7), W(7, scale=0.5)])
        return lambda a: layer(a)
    T("fc_keep_num_dims_3d", ["FULLY_CONNECTED"], "3-D input [2,5,6] -> [2,5,7], keep_num_dims true",
      lambda: [randn(2, 5, 6)], make=fc_keras3d,
      expect={"FULLY_CONNECTED": dict(KeepNumDims=True)})
    T("fc_nonconst_weights", ["FULLY_CONNECTED"],
      "both operands are graph inputs: x [3,8] . w[5,8]^T (weights non-constant, no bias)",
      lambda: [randn(3, 8), randn(5, 8)], lambda x, w: tf.matmul(x, w, transpose_b=True))
    H("fc_3d_keep_num_dims_false", ["FULLY_CONNECTED"],
      "3-D input [2,3,8] with keep_num_dims false -> output [6,5] (flattens leading dims)",
      lambda: single_op("FULLY_CONNECTED", [randn(2, 3, 8), W(5, 8, fan_in=8), W(5, scale=0.5)],
                        [[6, 5]], "FullyConnectedOptions", consts=(1, 2),
                        FusedActivationFunction=NONE, KeepNumDims=False))

    # ----------------------------------------------------------- BATCH_MATMUL
    def bmm(adj_x=False, adj_y=False):
        return lambda x, y: tf.matmul(x, y, adjoint_a=adj_x, adjoint_b=adj_y)
    T("bmm_rank2", ["BATCH_MATMUL"], "rank 2 [3,4] x [4,5], both inputs",
      lambda: [randn(3, 4), randn(4, 5)], bmm())
    T("bmm_rank3_adj_x", ["BATCH_MATMUL"], "adj_x: [2,4,3]^T x [2,4,5]",
      lambda: [randn(2, 4, 3), randn(2, 4, 5)], bmm(adj_x=True),
      expect={"BATCH_MATMUL": dict(AdjX=True, AdjY=False)})
    T("bmm_rank3_n32_in_place", ["BATCH_MATMUL"],
      "[2,13,7] x [2,7,32]: whole panels, rhs read in place by the GEMM (no packing)",
      lambda: [randn(2, 13, 7), randn(2, 7, 32)], bmm(),
      expect={"BATCH_MATMUL": dict(AdjX=False, AdjY=False)})
    T("bmm_bcast_adj_x_n16_in_place", ["BATCH_MATMUL"],
      "adj_x, rhs broadcast over the batch: [3,5,4]^T x [5,16], rhs read in place, lhs transposed",
      lambda: [randn(3, 5, 4), randn(5, 16)], bmm(adj_x=True),
      expect={"BATCH_MATMUL": dict(AdjX=True, AdjY=False)})
    T("bmm_rank3_adj_y", ["BATCH_MATMUL"], "adj_y: [2,3,4] x [2,5,4]^T",
      lambda: [randn(2, 3, 4), randn(2, 5, 4)], bmm(adj_y=True),
      expect={"BATCH_MATMUL": dict(AdjX=False, AdjY=True)})
    T("bmm_rank3_adj_xy", ["BATCH_MATMUL"], "adj_x and adj_y: [2,4,3]^T x [2,5,4]^T",
      lambda: [randn(2, 4, 3), randn(2, 5, 4)], bmm(True, True),
      expect={"BATCH_MATMUL": dict(AdjX=True, AdjY=True)})
    T("bmm_broadcast_4d_3d", ["BATCH_MATMUL"], "batch broadcasting [2,1,3,4] x [5,4,6] -> [2,5,3,6]",
      lambda: [randn(2, 1, 3, 4), randn(5, 4, 6)], bmm())
    T("bmm_rank4_adj_y", ["BATCH_MATMUL"], "rank 4 [1,2,3,4] x [1,2,6,4]^T (attention-style)",
      lambda: [randn(1, 2, 3, 4), randn(1, 2, 6, 4)], bmm(adj_y=True))

    def heads_through_transposes(q, k, v):  # [1, 6, 2, 16] each: 2 heads of 16
        att = tf.matmul(tf.transpose(q, [0, 2, 1, 3]), tf.transpose(k, [0, 2, 3, 1]))
        return tf.transpose(tf.matmul(att, tf.transpose(v, [0, 2, 1, 3])), [0, 2, 1, 3])
    T("bmm_transposed_views_heads", ["BATCH_MATMUL", "TRANSPOSE"],
      "attention heads split and merged by TRANSPOSEs, all read and written as strided views: "
      "q per head rows 32 apart, k^T packed from its rows, v in place, the result merged",
      lambda: [randn(1, 6, 2, 16), randn(1, 6, 2, 16), randn(1, 6, 2, 16)], heads_through_transposes)
    T("bmm_transposed_lhs_bcast", ["BATCH_MATMUL", "TRANSPOSE"],
      "transpose([5,3,4], [1,0,2]) x [4,7], the result transposed [1,0,2]: lhs rows 12 apart and "
      "batches 4 apart, the rhs broadcast, the result's rows 21 apart and batches 7 apart",
      lambda: [randn(5, 3, 4), randn(4, 7)],
      lambda a, b: tf.transpose(tf.matmul(tf.transpose(a, [1, 0, 2]), b), [1, 0, 2]))

    # ------------------------------------------------- elementwise binary ops
    binop_case("add_same_shape", "ADD", (2, 3, 4), (2, 3, 4))
    binop_case("add_scalar_input", "ADD", (3, 5), ())
    binop_case("add_row_bcast", "ADD", (4, 6), (1, 6))
    binop_case("add_4d_bcast", "ADD", (1, 3, 4, 5), (2, 1, 4, 1))
    binop_case("add_6d_bcast", "ADD", (2, 1, 3, 1, 2, 2), (1, 2, 1, 3, 1, 2))
    binop_case("add_relu", "ADD", (2, 8), (2, 8), act="relu")
    binop_case("add_relu6_bcast", "ADD", (1, 4, 4, 3), (3,), act="relu6", gen=lambda s: randn(*s, scale=4))
    binop_case("add_int32_bcast", "ADD", (2, 3, 4), (4,), dtype=np.int32)
    binop_case("sub_row_bcast", "SUB", (5, 4), (4,))
    binop_case("sub_4d_bcast_lhs_small", "SUB", (1, 1, 3, 1), (2, 4, 3, 5))
    binop_case("sub_int32_bcast", "SUB", (2, 3), (1, 3), dtype=np.int32)
    binop_case("mul_scalar_const", "MUL", (2, 3, 4), (), b_const=True)
    binop_case("mul_4d_bcast", "MUL", (1, 4, 4, 3), (1, 1, 1, 3))
    binop_case("mul_relu", "MUL", (2, 9), (2, 9), act="relu")
    binop_case("mul_int32_bcast", "MUL", (2, 3, 4), (3, 1), dtype=np.int32)
    div_gen = (lambda s: randn(*s), lambda s: away0(*s))
    binop_case("div_col_bcast", "DIV", (4, 5), (4, 1), gen=div_gen)
    binop_case("div_4d_bcast", "DIV", (2, 3, 1, 4), (1, 3, 5, 1), gen=div_gen)
    H("div_int32", ["DIV"], "int32 DIV (TF only emits FLOOR_DIV / float div), mixed signs",
      lambda: single_op("DIV", [ints(-20, 20, 3, 5),
                                np.where(bools(3, 5), 1, -1).astype(np.int32) * ints(1, 6, 3, 5)],
                        [[3, 5]], "DivOptions", out_dtypes=[np.int32], FusedActivationFunction=NONE))
    binop_case("maximum_same_shape", "MAXIMUM", (3, 6), (3, 6), gen=lambda s: grid(*s))
    binop_case("maximum_4d_bcast", "MAXIMUM", (1, 3, 4, 2), (1, 1, 4, 1))
    binop_case("maximum_int32_bcast", "MAXIMUM", (3, 4), (1, 4), dtype=np.int32)
    binop_case("minimum_same_shape", "MINIMUM", (3, 6), (3, 6), gen=lambda s: grid(*s))
    binop_case("minimum_5d_bcast", "MINIMUM", (2, 1, 3, 1, 2), (1, 2, 1, 2, 1))
    binop_case("minimum_int32", "MINIMUM", (3, 4), (3, 4), dtype=np.int32)
    binop_case("squared_difference_bcast", "SQUARED_DIFFERENCE", (2, 3, 4), (3, 1))
    pow_gen = (lambda s: unif(0.5, 2.0, *s), lambda s: randn(*s))
    binop_case("pow_bcast", "POW", (2, 3, 4), (4,), gen=pow_gen)
    binop_case("pow_scalar_exponent", "POW", (3, 5), (), b_const=True,
               gen=(lambda s: unif(0.5, 2.0, *s), lambda s: np.float32(1.7)))

    # ------------------------------------------------------------------ pools
    def pool(kind, k, s, pad, act=None):
        def fn(a):
            f = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
            return _act(f(a, k, s, pad), act)
        return fn

    for kind, op in (("avg", "AVERAGE_POOL_2D"), ("max", "MAX_POOL_2D")):
        for name, x, k, s, pad, act, why in [
            ("2x2_s2_valid", (1, 8, 8, 3), 2, 2, "VALID", None, "2x2 stride 2 VALID"),
            ("3x3_s2_same_odd", (1, 7, 7, 5), 3, 2, "SAME", None,
             "3x3 stride 2 SAME on 7x7 (partial windows at border)"),
            ("2x2_s2_same_odd_relu", (1, 5, 7, 3), 2, 2, "SAME", "relu",
             "2x2 stride 2 SAME on odd 5x7 (one-sided padding) fused RELU"),
            ("3x2_s1x2_valid", (1, 6, 6, 2), (3, 2), (1, 2), "VALID", None, "non-square 3x2 filter, stride 1x2"),
        ]:
            exp = {op: dict(Padding=SAME if pad == "SAME" else VALID, FusedActivationFunction=_ACT_CODE[act])}
            T(f"{kind}pool_{name}", [op], why, (lambda x=x: [randn(*x)]), pool(kind, k, s, pad, act), expect=exp)
    H("l2pool_2x2_s2_valid", ["L2_POOL_2D"], "L2_POOL_2D 2x2 stride 2 VALID (converter has no L2 pool)",
      lambda: single_op("L2_POOL_2D", [randn(1, 6, 6, 3)], [[1, 3, 3, 3]], "Pool2DOptions",
                        Padding=VALID, StrideW=2, StrideH=2, FilterWidth=2, FilterHeight=2,
                        FusedActivationFunction=NONE))
    H("l2pool_3x3_s2_same", ["L2_POOL_2D"], "L2_POOL_2D 3x3 stride 2 SAME on 7x7 (partial windows)",
      lambda: single_op("L2_POOL_2D", [randn(1, 7, 7, 2)], [[1, 4, 4, 2]], "Pool2DOptions",
                        Padding=SAME, StrideW=2, StrideH=2, FilterWidth=3, FilterHeight=3,
                        FusedActivationFunction=NONE))

    # ------------------------------------------------------------- reductions
    RED = {"MEAN": tf.reduce_mean, "SUM": tf.reduce_sum, "REDUCE_MAX": tf.reduce_max,
           "REDUCE_MIN": tf.reduce_min, "REDUCE_PROD": tf.reduce_prod}
    for name, op, x, axis, keep in [
        ("mean_hw_keepdims", "MEAN", (1, 5, 5, 8), [1, 2], True),
        ("mean_axis_neg1", "MEAN", (3, 7), -1, False),
        ("mean_all", "MEAN", (2, 3, 4), None, False),
        ("sum_axis1", "SUM", (3, 5, 4), 1, False),
        ("sum_axes_0_2_keepdims", "SUM", (2, 3, 4, 5), [0, 2], True),
        ("sum_all_keepdims", "SUM", (3, 4), None, True),
        ("reduce_max_last", "REDUCE_MAX", (4, 6), 1, False),
        ("reduce_max_axes_1_2_keepdims", "REDUCE_MAX", (2, 3, 4, 3), [1, 2], True),
        ("reduce_min_neg1_keepdims", "REDUCE_MIN", (2, 3, 4), -1, True),
        ("reduce_prod_axis1", "REDUCE_PROD", (3, 5), 1, False),
        ("reduce_prod_axes_0_2_keepdims", "REDUCE_PROD", (2, 3, 4), [0, -1], True),
    ]:
        gen = (lambda x=x: [away0(*x, lo=0.6, hi=1.4)]) if op == "REDUCE_PROD" else (lambda x=x: [randn(*x)])
        T(name, [op], f"{op} {list(x)} axis {'all' if axis is None else axis} keep_dims {keep}", gen,
          (lambda a, f=RED[op], axis=axis, keep=keep: f(a, axis=axis, keepdims=keep)),
          expect={op: dict(KeepDims=keep)})

    for name, op, x, axis, odt, tie in [
        ("arg_max_last_int32", "ARG_MAX", (4, 6), -1, tf.int32, False),
        ("arg_max_axis0_int64_ties", "ARG_MAX", (5, 4), 0, tf.int64, True),
        ("arg_max_4d_axis3_int32_ties", "ARG_MAX", (1, 3, 3, 5), 3, tf.int32, True),
        ("arg_min_axis1_int32_ties", "ARG_MIN", (3, 5, 4), 1, tf.int32, True),
        ("arg_min_last_int64", "ARG_MIN", (4, 6), -1, tf.int64, False),
    ]:
        f = tf.math.argmax if op == "ARG_MAX" else tf.math.argmin
        gen = (lambda x=x: [grid(*x, lo=-1, hi=1)]) if tie else (lambda x=x: [randn(*x)])
        T(name, [op], f"{op} {list(x)} axis {axis} -> {odt.name}{' with ties' if tie else ''}", gen,
          (lambda a, f=f, axis=axis, odt=odt: f(a, axis=axis, output_type=odt)),
          expect={op: dict(OutputType=4 if odt == tf.int64 else 2)})

    # ------------------------------------------------------------------ pads
    T("pad_float_4d", ["PAD"], "PAD [1,4,5,3] paddings on H (1,2) and W (2,0)",
      lambda: [randn(1, 4, 5, 3)], lambda a: tf.pad(a, [[0, 0], [1, 2], [2, 0], [0, 0]]))
    T("pad_int32", ["PAD"], "PAD int32 2-D", lambda: [ints(-9, 9, 3, 4)],
      lambda a: tf.pad(a, [[1, 1], [0, 2]]))
    T("padv2_const_value", ["PADV2"], "PADV2 constant_values=1.5 4-D",
      lambda: [randn(1, 3, 4, 2)], lambda a: tf.pad(a, [[0, 0], [1, 1], [2, 1], [0, 0]], constant_values=1.5))
    T("mirror_pad_reflect", ["MIRROR_PAD"], "MIRROR_PAD REFLECT on H and W",
      lambda: [randn(1, 4, 5, 2)], lambda a: tf.pad(a, [[0, 0], [2, 1], [1, 3], [0, 0]], mode="REFLECT"),
      expect={"MIRROR_PAD": dict(Mode=REFLECT)})
    T("mirror_pad_symmetric", ["MIRROR_PAD"], "MIRROR_PAD SYMMETRIC on H and W",
      lambda: [randn(1, 4, 5, 2)], lambda a: tf.pad(a, [[0, 0], [2, 1], [1, 3], [0, 0]], mode="SYMMETRIC"),
      expect={"MIRROR_PAD": dict(Mode=SYMMETRIC)})

    # ------------------------------------------ reshape / squeeze / expand_dims
    T("reshape_between_ops", ["RESHAPE", "MUL", "ADD"], "x*c -> RESHAPE [2,12]->[4,3,2] -> +c",
      lambda: [randn(2, 12)], lambda a: tf.reshape(a * W(12), [4, 3, 2]) + W(2))
    T("reshape_graph_io", ["RESHAPE"], "graph input RESHAPE'd straight to graph output [1,4,6]->[6,4]",
      lambda: [randn(1, 4, 6)], lambda a: tf.reshape(a, [6, 4]))
    T("reshape_output_of_conv", ["CONV_2D", "RESHAPE"], "conv -> RESHAPE as graph output [1,4,4,6]->[16,6]",
      lambda: [randn(1, 4, 4, 3)],
      lambda a: tf.reshape(tf.nn.conv2d(a, W(3, 3, 3, 6), 1, "SAME"), [16, 6]))

    def chain_hand(opname, x_shape, mid_shape, out_shape, opts=None, extra_in=None, **kw):
        def build():
            m = HandModel()
            x = m.input(x_shape)
            a = m.op("MUL", [x, m.const(W(x_shape[-1]))], [m.tensor(x_shape)], "MulOptions",
                     FusedActivationFunction=NONE)
            ins = [a] + ([m.const(extra_in)] if extra_in is not None else [])
            s = m.op(opname, ins, [m.tensor(mid_shape)], opts, **kw)
            m.output(m.op("ADD", [s, m.const(W(mid_shape[-1]))], [m.tensor(out_shape)], "AddOptions",
                          FusedActivationFunction=NONE))
            return m, [randn(*x_shape)]
        return build
    H("squeeze_axis1_between_ops", ["SQUEEZE", "MUL", "ADD"],
      "MUL -> SQUEEZE squeeze_dims [1] [2,1,5]->[2,5] -> ADD (converter turns SQUEEZE into RESHAPE)",
      chain_hand("SQUEEZE", (2, 1, 5), (2, 5), (2, 5), "SqueezeOptions", SqueezeDims=[1]))
    H("squeeze_all_unit_dims", ["SQUEEZE"], "SQUEEZE with empty squeeze_dims [1,3,1,4]->[3,4]",
      lambda: single_op("SQUEEZE", [randn(1, 3, 1, 4)], [[3, 4]], "SqueezeOptions"))
    H("expand_dims_axis1_between_ops", ["EXPAND_DIMS", "MUL", "ADD"],
      "MUL -> EXPAND_DIMS axis 1 [2,5]->[2,1,5] -> ADD (converter turns EXPAND_DIMS into RESHAPE)",
      chain_hand("EXPAND_DIMS", (2, 5), (2, 1, 5), (2, 1, 5), "ExpandDimsOptions",
                 extra_in=np.array(1, np.int32)))
    H("expand_dims_neg_axis", ["EXPAND_DIMS"], "EXPAND_DIMS axis -1 [3,4]->[3,4,1], int32 axis const",
      lambda: single_op("EXPAND_DIMS", [randn(3, 4), np.array([-1], np.int32)], [[3, 4, 1]],
                        "ExpandDimsOptions", consts=(1,)))
    H("reshape_new_shape_option_only", ["RESHAPE"],
      "RESHAPE with a single input and the target shape only in ReshapeOptions.new_shape (old style)",
      lambda: single_op("RESHAPE", [randn(2, 3, 4)], [[4, 6]], "ReshapeOptions", NewShape=[4, -1]))

    # ---------------------------------------------------------- CONCATENATION
    for name, shapes, axis in [
        ("concat_axis0_3in", [(2, 3), (1, 3), (3, 3)], 0),
        ("concat_axis1_3in", [(2, 3), (2, 1), (2, 4)], 1),
        ("concat_4d_axis2", [(1, 2, 3, 2), (1, 2, 1, 2), (1, 2, 2, 2)], 2),
        ("concat_4d_axis3", [(1, 3, 3, 4), (1, 3, 3, 5)], 3),
        ("concat_axis_neg1_3d", [(2, 3, 1), (2, 3, 4), (2, 3, 2)], -1),
    ]:
        T(name, ["CONCATENATION"], f"{len(shapes)} inputs {[list(s) for s in shapes]} axis {axis}",
          (lambda shapes=shapes: [randn(*s) for s in shapes]),
          (lambda *a, axis=axis: tf.concat(list(a), axis)))

    # --------------------------------------------------------- SPLIT / SPLIT_V
    T("split_3way_axis_neg1", ["SPLIT"], "SPLIT [3,6] into 3 on axis -1",
      lambda: [randn(3, 6)], lambda a: tf.split(a, 3, axis=-1), expect={"SPLIT": dict(NumSplits=3)})
    T("split_v_minus1", ["SPLIT_V"], "SPLIT_V sizes [1,-1,2] axis 1 of [3,7]",
      lambda: [randn(3, 7)], lambda a: tf.split(a, [1, -1, 2], axis=1))
    T("split_v_axis0", ["SPLIT_V"], "SPLIT_V sizes [2,3] axis 0 of [5,4]",
      lambda: [randn(5, 4)], lambda a: tf.split(a, [2, 3], axis=0))

    # ---------------------------------------------------------- PACK / UNPACK
    T("pack_axis0_2in", ["PACK"], "PACK 2 x [3,4] axis 0", lambda: [randn(3, 4), randn(3, 4)],
      lambda a, b: tf.stack([a, b], 0), expect={"PACK": dict(Axis=0, ValuesCount=2)})
    T("pack_axis1_3in", ["PACK"], "PACK 3 x [3,4] axis 1",
      lambda: [randn(3, 4), randn(3, 4), randn(3, 4)], lambda a, b, c: tf.stack([a, b, c], 1))
    T("unpack_axis0", ["UNPACK"], "UNPACK [3,4] axis 0", lambda: [randn(3, 4)],
      lambda a: tf.unstack(a, axis=0), expect={"UNPACK": dict(Num=3, Axis=0)})
    T("unpack_axis1", ["UNPACK"], "UNPACK [3,4,2] axis 1", lambda: [randn(3, 4, 2)],
      lambda a: tf.unstack(a, axis=1))

    # ----------------------------------------------------------------- SLICE
    T("slice_2d_minus1", ["SLICE"], "SLICE [3,5] begin [0,1] size [-1,2]", lambda: [randn(3, 5)],
      lambda a: tf.slice(a, [0, 1], [-1, 2]))
    T("slice_4d", ["SLICE"], "SLICE [1,5,6,4] begin [0,1,2,1] size [1,3,-1,2]",
      lambda: [randn(1, 5, 6, 4)], lambda a: tf.slice(a, [0, 1, 2, 1], [1, 3, -1, 2]))

    # --------------------------------------------------------- STRIDED_SLICE
    for name, x, f, why in [
        ("ss_shrink_axis", (4, 5, 6), lambda a: a[:, 2, 1:4], "x[:, 2, 1:4] (shrink_axis_mask)"),
        ("ss_neg_stride", (4, 6), lambda a: a[::-1, 4:0:-2], "x[::-1, 4:0:-2] (negative strides)"),
        ("ss_neg_indices", (5, 6), lambda a: a[-3:-1, -4:], "x[-3:-1, -4:] (negative indices)"),
        ("ss_4d_mixed", (1, 6, 7, 5), lambda a: a[:, 1:5, ::2, 1:], "x[:, 1:5, ::2, 1:] 4-D"),
        ("ss_ellipsis", (2, 3, 4, 5), lambda a: a[..., 1:3],
         "x[..., 1:3] (converter expands the ellipsis into begin/end masks)"),
        ("ss_new_axis", (3, 4), lambda a: a[:, tf.newaxis, 1:3],
         "x[:, newaxis, 1:3] (converter emits RESHAPE + STRIDED_SLICE)"),
    ]:
        T(name, ["STRIDED_SLICE"], why, (lambda x=x: [randn(*x)]), f)

    def ss_hand(x_shape, begin, end, strides, out_shape, **kw):
        return lambda: single_op("STRIDED_SLICE",
                                 [randn(*x_shape), np.array(begin, np.int32), np.array(end, np.int32),
                                  np.array(strides, np.int32)], [out_shape], "StridedSliceOptions",
                                 consts=(1, 2, 3), **kw)
    H("ss_offset", ["STRIDED_SLICE"], "offset=true: end = begin + end; [4,6] begin [1,2] end(offset) [2,3] stride [1,1]",
      ss_hand((4, 6), [1, 2], [2, 3], [1, 1], [2, 3], Offset=True), expect={"STRIDED_SLICE": dict(Offset=True)})
    H("ss_ellipsis_mask", ["STRIDED_SLICE"], "explicit ellipsis_mask: x[1:, ..., ::2] on [3,2,4,5]",
      ss_hand((3, 2, 4, 5), [1, 0, 0], [3, 0, 5], [1, 1, 2], [2, 2, 4, 3], EllipsisMask=2),
      expect={"STRIDED_SLICE": dict(EllipsisMask=2)})
    H("ss_new_axis_mask", ["STRIDED_SLICE"], "explicit new_axis_mask: x[newaxis, 1:3, :] on [4,5]",
      ss_hand((4, 5), [0, 1, 0], [0, 3, 5], [1, 1, 1], [1, 2, 5], NewAxisMask=1, EndMask=4),
      expect={"STRIDED_SLICE": dict(NewAxisMask=1)})

    # ------------------------------------------------------------- TRANSPOSE
    for name, x, perm in [
        ("transpose_2d", (3, 5), [1, 0]),
        ("transpose_3d", (2, 3, 4), [2, 0, 1]),
        ("transpose_4d_nhwc_to_nchw", (1, 3, 4, 5), [0, 3, 1, 2]),
        ("transpose_5d", (2, 3, 1, 4, 2), [4, 1, 0, 3, 2]),
    ]:
        T(name, ["TRANSPOSE"], f"{list(x)} perm {perm}", (lambda x=x: [randn(*x)]),
          (lambda a, perm=perm: tf.transpose(a, perm)))

    # ---------------------------------------------------------------- GATHER
    T("gather_axis0_int32", ["GATHER"], "params [5,4], indices int32 [3] (repeats), axis 0",
      lambda: [randn(5, 4), np.array([4, 0, 4], np.int32)], lambda p, i: tf.gather(p, i, axis=0),
      expect={"GATHER": dict(Axis=0)})
    T("gather_axis1_int64", ["GATHER"], "params [3,6,2], indices int64 [4], axis 1",
      lambda: [randn(3, 6, 2), ints(0, 5, 4, dtype=np.int64)], lambda p, i: tf.gather(p, i, axis=1),
      expect={"GATHER": dict(Axis=1)})
    T("gather_batch_dims1", ["GATHER"], "params [2,5,3], indices int32 [2,4], axis 1, batch_dims 1",
      lambda: [randn(2, 5, 3), ints(0, 4, 2, 4)], lambda p, i: tf.gather(p, i, axis=1, batch_dims=1),
      expect={"GATHER": dict(Axis=1, BatchDims=1)})
    T("gather_2d_indices", ["GATHER"], "params [6,4], indices int32 [2,3], axis 0 -> [2,3,4]",
      lambda: [randn(6, 4), ints(0, 5, 2, 3)], lambda p, i: tf.gather(p, i, axis=0))

    # ------------------------------------------------- TILE / BROADCAST_TO
    T("tile_2d", ["TILE"], "[2,3] multiples [2,3]", lambda: [randn(2, 3)], lambda a: tf.tile(a, [2, 3]))
    T("broadcast_to_rank_up", ["BROADCAST_TO"], "[2,1] -> [3,2,4]", lambda: [randn(2, 1)],
      lambda a: tf.broadcast_to(a, [3, 2, 4]))
    T("broadcast_to_4d", ["BROADCAST_TO"], "[1,3,1,2] -> [2,3,4,2]", lambda: [randn(1, 3, 1, 2)],
      lambda a: tf.broadcast_to(a, [2, 3, 4, 2]))

    # ------------------------------------ DEPTH_TO_SPACE / SPACE_TO_DEPTH
    T("depth_to_space_b2", ["DEPTH_TO_SPACE"], "block 2 [1,2,3,8] -> [1,4,6,2]", lambda: [randn(1, 2, 3, 8)],
      lambda a: tf.nn.depth_to_space(a, 2), expect={"DEPTH_TO_SPACE": dict(BlockSize=2)})
    T("depth_to_space_b3", ["DEPTH_TO_SPACE"], "block 3 [1,2,2,18] -> [1,6,6,2]",
      lambda: [randn(1, 2, 2, 18)], lambda a: tf.nn.depth_to_space(a, 3))
    T("space_to_depth_b2", ["SPACE_TO_DEPTH"], "block 2 [1,4,6,3] -> [1,2,3,12]", lambda: [randn(1, 4, 6, 3)],
      lambda a: tf.nn.space_to_depth(a, 2), expect={"SPACE_TO_DEPTH": dict(BlockSize=2)})
    T("space_to_depth_b3", ["SPACE_TO_DEPTH"], "block 3 [1,6,3,2] -> [1,2,1,18]", lambda: [randn(1, 6, 3, 2)],
      lambda a: tf.nn.space_to_depth(a, 3))

    # ------------------------------------------------------------- resizing
    for op, tfop in (("RESIZE_BILINEAR", tf.compat.v1.image.resize_bilinear),
                     ("RESIZE_NEAREST_NEIGHBOR", tf.compat.v1.image.resize_nearest_neighbor)):
        short = "resize_bilinear" if op == "RESIZE_BILINEAR" else "resize_nearest"
        for tag, x, size, ac, hp in [
            ("up2x_plain", (1, 3, 4, 2), (6, 8), False, False),
            ("up_align_corners", (1, 3, 4, 2), (7, 5), True, False),
            ("up_half_pixel_nonint", (1, 3, 4, 2), (5, 7), False, True),
            ("down_plain_nonint", (1, 6, 8, 2), (4, 5), False, False),
            ("down_half_pixel", (1, 8, 8, 3), (3, 5), False, True),
        ]:
            T(f"{short}_{tag}", [op],
              f"{list(x[1:3])} -> {list(size)} align_corners={ac} half_pixel_centers={hp}",
              (lambda x=x: [randn(*x)]),
              (lambda a, tfop=tfop, size=size, ac=ac, hp=hp: tfop(a, size, align_corners=ac, half_pixel_centers=hp)),
              expect={op: dict(AlignCorners=ac, HalfPixelCenters=hp)})

    # ------------------------------------------------------------ activations
    T("softmax_2d", ["SOFTMAX"], "SOFTMAX [3,7] beta 1", lambda: [randn(3, 7, scale=2)], tf.nn.softmax,
      expect={"SOFTMAX": dict(Beta=1.0)})
    H("softmax_2d_beta", ["SOFTMAX"], "SOFTMAX [3,7] beta 0.7 (converter keeps a separate MUL)",
      lambda: single_op("SOFTMAX", [randn(3, 7, scale=2)], [[3, 7]], "SoftmaxOptions", Beta=0.7),
      expect={"SOFTMAX": dict(Beta=np.float32(0.7))})
    H("softmax_4d_beta", ["SOFTMAX"], "SOFTMAX [1,2,3,6] beta 2.5 on the last axis",
      lambda: single_op("SOFTMAX", [randn(1, 2, 3, 6)], [[1, 2, 3, 6]], "SoftmaxOptions", Beta=2.5))
    T("log_softmax_2d", ["LOG_SOFTMAX"], "LOG_SOFTMAX [3,7]", lambda: [randn(3, 7, scale=2)], tf.nn.log_softmax)
    T("logistic", ["LOGISTIC"], "sigmoid [4,8]", lambda: [randn(4, 8, scale=3)], tf.math.sigmoid)
    T("tanh", ["TANH"], "tanh [4,8]", lambda: [randn(4, 8, scale=2)], tf.math.tanh)
    T("relu", ["RELU"], "standalone RELU", lambda: [randn(4, 8)], tf.nn.relu)
    T("relu6", ["RELU6"], "standalone RELU6 (inputs span [-8,8])", lambda: [randn(4, 8, scale=4)], tf.nn.relu6)
    T("relu_n1_to_1", ["RELU_N1_TO_1"], "clip(x,-1,1) -> RELU_N1_TO_1", lambda: [randn(4, 8, scale=2)],
      lambda a: tf.clip_by_value(a, -1.0, 1.0))
    H("relu_0_to_1", ["RELU_0_TO_1"], "RELU_0_TO_1 (converter emits MINIMUM+RELU instead)",
      lambda: single_op("RELU_0_TO_1", [randn(4, 8, scale=1.5)], [[4, 8]]))
    T("leaky_relu_0p2", ["LEAKY_RELU"], "LEAKY_RELU alpha 0.2", lambda: [randn(4, 8)],
      lambda a: tf.nn.leaky_relu(a, 0.2), expect={"LEAKY_RELU": dict(Alpha=np.float32(0.2))})

    def prelu(shared_axes, shape):
        def make():
            layer = tf.keras.layers.PReLU(shared_axes=shared_axes)
            layer.build((None,) + shape[1:])
            (alpha,) = layer.get_weights()
            layer.set_weights([Wpos(*alpha.shape)])
            return lambda a: layer(a)
        return make
    T("prelu_per_channel", ["PRELU"], "PRELU alpha [1,1,C] (shared over H,W) via Keras PReLU",
      lambda: [randn(1, 4, 4, 3)], make=prelu([1, 2], (1, 4, 4, 3)))
    T("prelu_all_shared", ["PRELU"], "PRELU alpha [1,1,1] (shared over all axes)",
      lambda: [randn(1, 4, 4, 3)], make=prelu([1, 2, 3], (1, 4, 4, 3)))
    T("hard_swish", ["HARD_SWISH"], "x*relu6(x+3)/6 pattern -> HARD_SWISH (inputs span [-6,6])",
      lambda: [randn(4, 8, scale=3)], lambda a: a * tf.nn.relu6(a + 3.0) / 6.0)
    T("elu", ["ELU"], "ELU", lambda: [randn(4, 8)], tf.nn.elu)
    T("gelu_approx", ["GELU"], "GELU approximate=true (tanh)", lambda: [randn(4, 8, scale=2)],
      lambda a: tf.nn.gelu(a, approximate=True), expect={"GELU": dict(Approximate=True)})
    T("gelu_exact", ["GELU"], "GELU approximate=false (erf)", lambda: [randn(4, 8, scale=2)],
      lambda a: tf.nn.gelu(a, approximate=False), expect={"GELU": dict(Approximate=False)})

    # --------------------------------------------------------- unary math ops
    unary_case("exp", "EXP", tf.math.exp, lambda: [randn(3, 8)], "exp")
    unary_case("log", "LOG", tf.math.log, lambda: [unif(0.05, 5.0, 3, 8)], "log of positive inputs")
    unary_case("sqrt", "SQRT", tf.math.sqrt, lambda: [unif(0.0, 5.0, 3, 8)], "sqrt of non-negative inputs")
    unary_case("rsqrt", "RSQRT", tf.math.rsqrt, lambda: [unif(0.1, 5.0, 3, 8)], "rsqrt of positive inputs")
    unary_case("abs", "ABS", tf.math.abs, lambda: [randn(3, 8)], "abs")
    unary_case("abs_int32", "ABS", tf.math.abs, lambda: [ints(-9, 9, 3, 8)], "abs int32")
    unary_case("neg", "NEG", tf.math.negative, lambda: [randn(3, 8)], "neg")
    unary_case("square", "SQUARE", tf.math.square, lambda: [randn(3, 8)], "square")
    unary_case("sin", "SIN", tf.math.sin, lambda: [randn(3, 8, scale=3)], "sin")
    unary_case("cos", "COS", tf.math.cos, lambda: [randn(3, 8, scale=3)], "cos")
    unary_case("floor", "FLOOR", tf.math.floor, lambda: [randn(3, 8, scale=3)], "floor (no integral inputs)")
    unary_case("ceil", "CEIL", tf.math.ceil, lambda: [randn(3, 8, scale=3)], "ceil (no integral inputs)")
    unary_case("round_half_even", "ROUND", tf.math.round,
               lambda: [np.concatenate([np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.5], np.float32),
                                        randn(16, scale=3)]).reshape(3, 8)],
               "round incl. exact .5 values (half-to-even)")

    # ----------------------------------------------------------- comparisons
    CMP = {"GREATER": tf.math.greater, "GREATER_EQUAL": tf.math.greater_equal, "LESS": tf.math.less,
           "LESS_EQUAL": tf.math.less_equal, "EQUAL": tf.math.equal, "NOT_EQUAL": tf.math.not_equal}
    for op, (fa, fb), ints_shapes in [
        ("GREATER", ((3, 5), (3, 5)), ((2, 3, 4), (4,))),
        ("GREATER_EQUAL", ((4, 5), (1, 5)), None),
        ("LESS", ((2, 3, 4), (3, 1)), ((3, 4), (1, 4))),
        ("LESS_EQUAL", ((1, 3, 4, 2), (2, 1, 1, 2)), None),
        ("EQUAL", ((4, 5), (4, 1)), ((3, 5), (5,))),
        ("NOT_EQUAL", ((3, 5), (3, 5)), None),
    ]:
        low = op.lower()
        T(f"{low}_float", [op], f"float {list(fa)} vs {list(fb)} with exactly-equal elements, bool out",
          (lambda fa=fa, fb=fb: [grid(*fa, lo=-1, hi=1), grid(*fb, lo=-1, hi=1)]), CMP[op])
        if ints_shapes is not None:
            ia, ib = ints_shapes
            T(f"{low}_int32", [op], f"int32 {list(ia)} vs {list(ib)}, bool out",
              (lambda ia=ia, ib=ib: [ints(-2, 2, *ia), ints(-2, 2, *ib)]), CMP[op])

    T("select_same_shape", ["SELECT"], "tf.where(c,x,y) same shapes -> SELECT",
      lambda: [bools(3, 4), randn(3, 4), randn(3, 4)], tf.where)
    T("select_v2_bcast", ["SELECT_V2"], "SELECT_V2 cond [2,1] x [2,3] y [1,3] (broadcasting)",
      lambda: [bools(2, 1), randn(2, 3), randn(1, 3)], tf.where)
    T("select_v2_4d_bcast", ["SELECT_V2"], "SELECT_V2 cond [1,3,1,4] x [2,1,2,4] y [4]",
      lambda: [bools(1, 3, 1, 4), randn(2, 1, 2, 4), randn(4)], tf.where)
    H("select_int32", ["SELECT"], "SELECT (v1) on int32 values, same shapes",
      lambda: single_op("SELECT", [bools(3, 5), ints(-9, 9, 3, 5), ints(-9, 9, 3, 5)], [[3, 5]],
                        "SelectOptions", out_dtypes=[np.int32]))
    T("logical_and", ["LOGICAL_AND"], "bool [3,4] & [3,4]", lambda: [bools(3, 4), bools(3, 4)], tf.math.logical_and)
    T("logical_or_bcast", ["LOGICAL_OR"], "bool [3,4] | [4]", lambda: [bools(3, 4), bools(4)], tf.math.logical_or)
    T("logical_not", ["LOGICAL_NOT"], "bool [3,4]", lambda: [bools(3, 4)], tf.math.logical_not)

    # ---------------------------------------------------------- normalisation
    T("l2_normalization_4d", ["L2_NORMALIZATION"], "l2_normalize [1,3,3,8] axis -1",
      lambda: [randn(1, 3, 3, 8)], lambda a: tf.math.l2_normalize(a, -1))
    T("lrn_r2_b1p5_a0p3_b0p6", ["LOCAL_RESPONSE_NORMALIZATION"], "radius 2 bias 1.5 alpha 0.3 beta 0.6",
      lambda: [randn(1, 3, 3, 12)], lambda a: tf.nn.local_response_normalization(a, 2, 1.5, 0.3, 0.6),
      expect={"LOCAL_RESPONSE_NORMALIZATION": dict(Radius=2)})

    # ----------------------------------------------------- CAST / misc tensor
    T("cast_float_to_int32", ["CAST"], "float -> int32 (truncation, mixed signs)",
      lambda: [randn(3, 6, scale=4)], lambda a: tf.cast(a, tf.int32))
    T("cast_int32_to_float", ["CAST"], "int32 -> float", lambda: [ints(-50, 50, 3, 6)],
      lambda a: tf.cast(a, tf.float32))
    T("cast_bool_to_float", ["CAST"], "bool -> float", lambda: [bools(3, 6)], lambda a: tf.cast(a, tf.float32))
    T("cast_float_to_bool", ["CAST"], "float -> bool (some exact zeros)", lambda: [grid(3, 6, lo=-1, hi=1)],
      lambda a: tf.cast(a, tf.bool))
    H("shape_int32", ["SHAPE"], "SHAPE of a [2,3,5] graph input, out_type int32 (converter folds SHAPE)",
      lambda: single_op("SHAPE", [randn(2, 3, 5)], [[3]], "ShapeOptions", out_dtypes=[np.int32], OutType=2),
      allow_const=True)
    H("shape_int64", ["SHAPE"], "SHAPE of a [1,4,3,2] graph input, out_type int64",
      lambda: single_op("SHAPE", [randn(1, 4, 3, 2)], [[4]], "ShapeOptions", out_dtypes=[np.int64], OutType=4),
      allow_const=True)
    T("fill_float", ["FILL"], "FILL constant dims [2,3,4] with a scalar float graph input (output inherently constant)",
      lambda: [np.array(1.25, np.float32)], lambda v: tf.fill([2, 3, 4], v), allow_const=True)
    H("zeros_like_float", ["ZEROS_LIKE"], "ZEROS_LIKE of a graph input (converter folds it); output inherently 0",
      lambda: single_op("ZEROS_LIKE", [randn(3, 4)], [[3, 4]], "ZerosLikeOptions"), allow_const=True)

    def zeros_like_add():
        m = HandModel()
        x = m.input((2, 5))
        z = m.op("ZEROS_LIKE", [x], [m.tensor((2, 5))], "ZerosLikeOptions")
        m.output(m.op("ADD", [z, m.const(W(5))], [m.tensor((2, 5))], "AddOptions", FusedActivationFunction=NONE))
        return m, [randn(2, 5)]
    H("zeros_like_then_add", ["ZEROS_LIKE", "ADD"], "ZEROS_LIKE(x) + const (zeros feed a later op)",
      zeros_like_add)

    def dequant(dtype):
        def build():
            m = HandModel()
            if dtype == np.float16:
                x = m.input((3, 8), np.float16)
                feed = randn(3, 8).astype(np.float16)
            else:
                x = m.input((3, 8), np.int8, quant=(0.05, 3))
                feed = ints(-128, 127, 3, 8, dtype=np.int8)
            m.output(m.op("DEQUANTIZE", [x], [m.tensor((3, 8))]))
            return m, [feed]
        return build
    H("dequantize_float16_input", ["DEQUANTIZE"], "DEQUANTIZE of a non-constant float16 graph input",
      dequant(np.float16))
    H("dequantize_int8_input", ["DEQUANTIZE"], "DEQUANTIZE of a non-constant int8 input (scale 0.05, zp 3)",
      dequant(np.int8))

    # --------------------------------------------------------- mini networks
    def net_residual(a):
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 3, 8), 1, "SAME"), W(8, scale=0.3)))
        z = tf.nn.relu6(tf.nn.bias_add(tf.nn.depthwise_conv2d(y, W(3, 3, 8, 1, fan_in=9), [1, 1, 1, 1], "SAME"),
                                       W(8, scale=0.3)))
        z = tf.nn.bias_add(tf.nn.conv2d(z, W(1, 1, 8, 8), 1, "SAME"), W(8, scale=0.3))
        r = y + z
        g = tf.reduce_mean(r, [1, 2])
        return tf.nn.softmax(tf.matmul(g, W(8, 5)) + W(5, scale=0.3))
    T("net_conv_dw_residual_fc", ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"],
      "mini net: conv3x3+relu -> dw3x3+relu6 -> conv1x1 -> residual add -> mean -> FC -> softmax",
      lambda: [randn(1, 8, 8, 3)], net_residual)

    def net_attention(a):  # a: [1, 6, 8], 2 heads of 4
        def layer_norm(t):
            mu = tf.reduce_mean(t, -1, keepdims=True)
            var = tf.reduce_mean(tf.math.squared_difference(t, mu), -1, keepdims=True)
            return (t - mu) * tf.math.rsqrt(var + 1e-5) * (1.0 + W(8, scale=0.1)) + W(8, scale=0.1)
        h = layer_norm(a)

        def heads(t):
            return tf.transpose(tf.reshape(t, [1, 6, 2, 4]), [0, 2, 1, 3])
        q = heads(tf.matmul(tf.reshape(h, [6, 8]), W(8, 8)))
        k = heads(tf.matmul(tf.reshape(h, [6, 8]), W(8, 8)))
        v = heads(tf.matmul(tf.reshape(h, [6, 8]), W(8, 8)))
        att = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * 0.5)
        o = tf.reshape(tf.transpose(tf.matmul(att, v), [0, 2, 1, 3]), [6, 8])
        return a + tf.reshape(tf.matmul(o, W(8, 8)) + W(8, scale=0.1), [1, 6, 8])
    T("net_attention_block", ["BATCH_MATMUL", "SOFTMAX", "TRANSPOSE", "FULLY_CONNECTED", "RSQRT", "MEAN"],
      "mini net: layer-norm -> q/k/v FC -> heads reshape/transpose -> BATCH_MATMUL -> softmax -> "
      "BATCH_MATMUL -> FC -> residual", lambda: [randn(1, 6, 8)], net_attention)

    def keras_layer_norm(center, depth):
        def make():
            layer = tf.keras.layers.LayerNormalization(epsilon=1e-3, center=center)
            layer.build((None, 5, depth))
            layer.set_weights([1.0 + W(depth, scale=0.3)] + ([W(depth, scale=0.3)] if center else []))
            return lambda a: layer(a + 0.5)   # rows with a mean away from 0
        return make
    T("layer_norm_keras_beta", ["MEAN", "SQUARED_DIFFERENCE", "RSQRT"],
      "Keras LayerNormalization (gamma and beta) over 40 channels: fused into one op",
      lambda: [randn(2, 5, 40)], make=keras_layer_norm(True, 40))
    T("layer_norm_keras_no_center", ["MEAN", "SQUARED_DIFFERENCE", "RSQRT"],
      "Keras LayerNormalization without beta over 19 channels (a vector tail): fused into one op",
      lambda: [randn(2, 5, 19)], make=keras_layer_norm(False, 19))

    def squeeze_excite_project(h, w):
        def fn(a):  # a: [1, h, w, 24]
            s = tf.nn.sigmoid(tf.nn.conv2d(tf.reduce_mean(a, [1, 2], keepdims=True), W(1, 1, 24, 24), 1,
                                           "VALID") + W(24, scale=0.5))
            return tf.nn.conv2d(a * s, W(1, 1, 24, 32), 1, "VALID") + W(32, scale=0.3)
        return fn
    T("net_se_project", ["MEAN", "LOGISTIC", "MUL", "CONV_2D"],
      "squeeze-excite gate, then a 1x1 projection: the MUL over the 10x10 map goes into the "
      "projection's weights", lambda: [randn(1, 10, 10, 24)], squeeze_excite_project(10, 10))
    T("net_se_project_small_map", ["MEAN", "LOGISTIC", "MUL", "CONV_2D"],
      "the same on a 3x3 map with 32 outputs: scaling the weights would cost more, the MUL stays",
      lambda: [randn(1, 3, 3, 24)], squeeze_excite_project(3, 3))

    def net_fc_gelu(a):  # a: [1, 6, 16]
        y = tf.nn.gelu(tf.matmul(a, W(16, 32)) + W(32, scale=0.3), approximate=False)
        return tf.nn.gelu(tf.matmul(y, W(32, 16)) + W(16, scale=0.3), approximate=True)
    T("net_fc_gelu_epilogues", ["FULLY_CONNECTED", "GELU"],
      "FC -> GELU (exact) -> FC -> GELU (tanh approximation): both GELUs go into the FC epilogues",
      lambda: [randn(1, 6, 16)], net_fc_gelu)

    def lstm_cell(order, expose_forget=False):
        """One hand-written LSTM step on batch 2, 20 units; `order`: the quarter of z that
        holds each of the (input, forget, cell, output) gates."""
        def fn(x, c0):  # x: [2, 12], c0: [2, 20]
            z = tf.matmul(x, W(12, 80)) + W(80, scale=0.5)
            q = tf.split(z, 4, axis=-1)
            i, f = tf.sigmoid(q[order[0]]), tf.sigmoid(q[order[1]])
            g, o = tf.tanh(q[order[2]]), tf.sigmoid(q[order[3]])
            c = f * c0 + i * g
            h = o * tf.tanh(c)
            return (h, c, f) if expose_forget else (h, c)
        return fn
    T("net_lstm_cell_gates_3021", ["FULLY_CONNECTED", "SPLIT", "LOGISTIC", "TANH", "MUL", "ADD"],
      "a hand-written LSTM step (gates in quarters 3, 0, 2, 1; c also an output): the gate "
      "arithmetic becomes one op", lambda: [randn(2, 12), randn(2, 20)], lstm_cell((3, 0, 2, 1)))
    T("net_lstm_cell_forget_gate_visible", ["FULLY_CONNECTED", "SPLIT", "LOGISTIC", "TANH", "MUL", "ADD"],
      "the same with the forget gate an output too: it must stay unfused",
      lambda: [randn(2, 12), randn(2, 20)], lstm_cell((0, 1, 2, 3), expose_forget=True))

    def net_conv3x3_c12_residual(a):  # a: [1, 9, 10, 20]
        y = tf.nn.relu(tf.nn.conv2d(a, W(1, 1, 20, 12), 1, "SAME"))
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 12, 20), 1, "SAME"), W(20, scale=0.3))
        return tf.nn.relu(y + a)
    T("net_conv3x3_c12_residual", ["CONV_2D", "ADD"],
      "1x1 conv to 12 channels, then a 3x3 conv 12 -> 20 (implicit GEMM: too few input channels "
      "for Winograd) whose residual ADD + relu goes into the GEMM epilogue",
      lambda: [randn(1, 9, 10, 20)], net_conv3x3_c12_residual,
      expect={"ADD": {"FusedActivationFunction": 1}})

    # a dense NHWC tensor and a short per-channel vector: the periodic SIMD path
    T("sub_nhwc_c3_channel_mean", ["SUB"], "x[1,13,11,3] - mean[3], as an input normalisation",
      lambda: [randn(1, 13, 11, 3)], lambda a: a - W(3, scale=1.0))
    T("sub_c5_vector_minus_nhwc", ["SUB"], "v[5] - x[1,7,9,5]: the short operand first",
      lambda: [randn(1, 7, 9, 5)], lambda a: W(5, scale=1.0) - a)
    T("mul_nhwc_c7_relu", ["MUL"], "relu(x[2,5,6,7] * s[7]) with the fused clamp",
      lambda: [randn(2, 5, 6, 7)], lambda a: tf.nn.relu(a * W(7, scale=1.0)),
      expect={"MUL": {"FusedActivationFunction": 1}})

    def net_expand_dw(a):  # a: [1, 6, 7, 16]; expand -> dw, no projection after it
        y = tf.nn.relu6(tf.nn.bias_add(tf.nn.conv2d(a, W(1, 1, 16, 136), 1, "SAME"), W(136, scale=0.3)))
        y = tf.nn.relu6(tf.nn.bias_add(tf.nn.depthwise_conv2d(y, W(3, 3, 136, 1, fan_in=9), [1, 1, 1, 1], "SAME"),
                                       W(136, scale=0.3)))
        return tf.reduce_mean(y, [1, 2])
    T("net_expand_dw_c136", ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN"],
      "expand 1x1 16->136 -> dw3x3 with no projection after it (as before a squeeze-excite): "
      "tasks split its channels (8.5 panels), not its 6 rows",
      lambda: [randn(1, 6, 7, 16)], net_expand_dw)

    def net_resnet_basic(a):  # a: [2, 9, 11, 20]; ResNet basic block, batch 2
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 20, 20), 1, "SAME"), W(20, scale=0.3)))
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 20, 20), 1, "SAME"), W(20, scale=0.3))
        return tf.nn.relu(y + a)
    T("net_resnet_basic_batch2", ["CONV_2D", "ADD"],
      "ResNet basic block, batch 2: conv3x3+relu -> conv3x3 -> ADD(conv, x)+relu, the ADD fused "
      "into the implicit-GEMM conv's epilogue (20 channels: a partial panel)",
      lambda: [randn(2, 9, 11, 20)], net_resnet_basic, expect={"ADD": {"FusedActivationFunction": 1}})

    def net_resnet_bottleneck(a):  # a: [1, 7, 9, 24]
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(1, 1, 24, 12), 1, "SAME"), W(12, scale=0.3)))
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 12, 12), 1, "SAME"), W(12, scale=0.3)))
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(1, 1, 12, 24), 1, "SAME"), W(24, scale=0.3))
        z = tf.nn.relu6(a + y)
        return z + W(24, scale=0.3)   # a broadcast ADD: not a residual, stays an ADD
    T("net_resnet_bottleneck", ["CONV_2D", "ADD"],
      "ResNet bottleneck: 1x1 -> 3x3 -> 1x1, ADD(x, conv)+relu6 fused into the 1x1 GEMM epilogue "
      "(residual as the ADD's first operand), then a broadcast ADD that must stay",
      lambda: [randn(1, 7, 9, 24)], net_resnet_bottleneck, expect={"ADD": {"FusedActivationFunction": 3}})

    def net_multi_io(x, y):
        a = tf.nn.relu(x * y + W(6, scale=0.3))
        b = tf.math.tanh(tf.matmul(a, W(6, 4)))
        c = tf.reduce_sum(b * y[:, :4], axis=-1)
        return a, b, c
    T("net_two_in_three_out", ["MUL", "ADD", "FULLY_CONNECTED", "TANH", "SUM"],
      "mini net: 2 inputs, 3 outputs; outputs a and b are also consumed by later ops",
      lambda: [randn(3, 6), randn(3, 6)], net_multi_io)

    def net_reshape_out(a):
        y = tf.nn.relu(tf.nn.conv2d(a, W(3, 3, 2, 4), 2, "SAME"))
        z = tf.reshape(y, [1, 36])
        return z, tf.matmul(z, W(36, 3))
    T("net_reshape_intermediate_output", ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"],
      "mini net: conv -> RESHAPE (graph output, also feeds FC) -> FC", lambda: [randn(1, 6, 6, 2)],
      net_reshape_out)

    def net_fp16(a):
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 4, 16), 1, "SAME"), W(16, scale=0.3)))
        y = tf.reduce_mean(y, [1, 2])
        return tf.matmul(y, W(16, 32)) + W(32, scale=0.3)
    T("net_fp16_weights", ["DEQUANTIZE", "CONV_2D", "MEAN", "FULLY_CONNECTED"],
      "mini net with float16 weights: constant DEQUANTIZE(fp16->fp32) ops feeding conv and FC",
      lambda: [randn(1, 6, 6, 4)], net_fp16, fp16=True)

    def net_pad(a):
        p = tf.pad(a, [[0, 0], [1, 2], [2, 1], [0, 0]])
        c = tf.nn.conv2d(p, W(3, 3, 3, 4), 1, "VALID")
        m = tf.nn.max_pool2d(tf.pad(c, [[0, 0], [1, 0], [0, 1], [0, 0]]), 2, 2, "VALID")
        v = tf.nn.avg_pool2d(tf.pad(c, [[0, 0], [0, 1], [1, 1], [0, 0]]), 3, 2, "VALID")
        return m, v
    T("net_pad_conv_pools", ["PAD", "CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"],
      "mini net: explicit PAD -> VALID conv; PAD -> max pool; PAD -> avg pool", lambda: [randn(1, 6, 6, 3)],
      net_pad)

    def net_se(a):  # MobileNetV3-style block with hard-swish and squeeze-excite
        y = tf.nn.conv2d(a, W(1, 1, 4, 8), 1, "SAME") + W(8, scale=0.3)
        y = y * tf.nn.relu6(y + 3.0) / 6.0
        s = tf.reduce_mean(y, [1, 2], keepdims=True)
        s = tf.nn.relu(tf.nn.conv2d(s, W(1, 1, 8, 4), 1, "SAME"))
        s = tf.math.sigmoid(tf.nn.conv2d(s, W(1, 1, 4, 8), 1, "SAME"))
        return y * s
    T("net_hardswish_squeeze_excite", ["CONV_2D", "HARD_SWISH", "MEAN", "LOGISTIC", "MUL"],
      "mini net: conv -> hard-swish -> squeeze-excite (mean, 1x1 convs, sigmoid, mul)",
      lambda: [randn(1, 5, 5, 4)], net_se)

    def net_branches(a):
        b1 = tf.nn.relu(tf.nn.conv2d(a, W(1, 1, 6, 4), 1, "SAME"))
        s1, s2 = tf.split(a, [2, 4], axis=3)
        b2 = tf.nn.max_pool2d(s1, 3, 1, "SAME")
        b3 = tf.nn.conv2d(s2, W(3, 3, 4, 3), 1, "SAME")
        c = tf.concat([b1, b2, b3], axis=3)
        return tf.compat.v1.image.resize_bilinear(c, [8, 8], half_pixel_centers=True)
    T("net_split_branches_concat", ["SPLIT_V", "CONV_2D", "MAX_POOL_2D", "CONCATENATION", "RESIZE_BILINEAR"],
      "mini net: split into branches (conv/max-pool), concat, bilinear upsample",
      lambda: [randn(1, 4, 4, 6)], net_branches)


# =============================================================================
# Conversion, inspection and verification
# =============================================================================
_OPNAMES = None
_OPTNAMES = None


def _enum_names():
    global _OPNAMES, _OPTNAMES
    if _OPNAMES is None:
        ops = _tfl_module("BuiltinOperator").BuiltinOperator
        opts = _tfl_module("BuiltinOptions").BuiltinOptions
        _OPTNAMES = {v: k for k, v in vars(opts).items() if not k.startswith("_")}
        _OPNAMES = {v: k for k, v in vars(ops).items() if not k.startswith("_")}
    return _OPNAMES, _OPTNAMES


def _read_options(op):
    """Builtin options of a tflite.Operator as a {Field: value} dict (scalars / numpy arrays)."""
    _, optnames = _enum_names()
    t = op.BuiltinOptionsType()
    if t == 0:
        return {}
    name = optnames[t]
    cls = getattr(_tfl_module(name), name)
    obj = cls()
    tab = op.BuiltinOptions()
    obj.Init(tab.Bytes, tab.Pos)
    d = {}
    for attr in dir(cls):
        if not attr[0].isupper() or attr.startswith("GetRootAs") or attr in ("Init",) \
                or attr.endswith(("Length", "IsNone", "BufferHasIdentifier")):
            continue
        try:
            d[attr.replace("AsNumpy", "")] = getattr(obj, attr)()
        except TypeError:  # vector element accessors need an index
            pass
    return d


def inspect_model(model_bytes):
    """-> (sorted distinct op names, [(op name, options dict)], [(input name, shape, dtype code)])."""
    import tflite
    opnames, _ = _enum_names()
    m = tflite.Model.GetRootAsModel(model_bytes, 0)
    sg = m.Subgraphs(0)
    ops = []
    for i in range(sg.OperatorsLength()):
        o = sg.Operators(i)
        oc = m.OperatorCodes(o.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        ops.append((opnames[code], _read_options(o)))
    tensors = [sg.Tensors(i) for i in range(sg.TensorsLength())]
    for t in tensors:
        n = int(np.prod(t.ShapeAsNumpy())) if t.ShapeLength() else 1
        if n > MAX_TENSOR_ELEMS:
            raise CaseError(f"tensor {t.Name().decode()} has {n} elements (> {MAX_TENSOR_ELEMS})")
        if t.ShapeSignatureLength() and (t.ShapeSignatureAsNumpy() < 0).any():
            raise CaseError(f"tensor {t.Name().decode()} has a dynamic shape signature")
    inputs = [tensors[sg.Inputs(i)].Name().decode() for i in range(sg.InputsLength())]
    return sorted({n for n, _ in ops}), ops, inputs


class CaseError(RuntimeError):
    pass


def convert_tf(case, arrays):
    """Trace case.fn with static specs and convert. Returns (model bytes, arrays in model input order)."""
    import tensorflow as tf
    specs = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype), name=f"input_{i}") for i, a in enumerate(arrays)]
    fn = case.make() if case.make is not None else case.fn
    tfn = tf.function(lambda *args: fn(*args), input_signature=specs)
    cf = tfn.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([cf], tf.Module())
    if case.fp16:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    model = conv.convert()
    _, _, in_names = inspect_model(model)
    order = []
    for n in in_names:
        mt = re.search(r"input_(\d+)", n)
        if mt:
            order.append(int(mt.group(1)))
        elif len(arrays) == 1:
            order.append(0)
        else:
            raise CaseError(f"cannot map model input {n!r} to a function argument")
    if sorted(order) != list(range(len(arrays))):
        raise CaseError(f"model inputs {in_names} do not match the {len(arrays)} function args")
    return model, [arrays[i] for i in order]


def _opt_equal(got, want):
    if isinstance(want, (bool, np.bool_)):
        return bool(got) == bool(want)
    if isinstance(want, (float, np.floating)):
        return np.isclose(float(got), float(want), rtol=1e-6)
    return got == want


def run_case(case):
    """Build, write and verify one case; returns (ops, summary string)."""
    _seed(case.name)
    if case.hand is not None:
        model, feeds = case.hand()
        model_bytes = model.build()
    else:
        arrays = [np.asarray(a) for a in case.inputs()]
        model_bytes, feeds = convert_tf(case, arrays)

    ops, op_list, _ = inspect_model(model_bytes)
    missing = [o for o in case.ops if o not in ops]
    if missing:
        raise CaseError(f"target op(s) {missing} not in converted model (got {ops})")
    for opname, want in case.expect.items():
        cands = [o for n, o in op_list if n == opname]
        if not any(all(k in o and _opt_equal(o[k], v) for k, v in want.items()) for o in cands):
            raise CaseError(f"no {opname} with options {want}; got {cands}")

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{case.name}.tflite"
    path.write_bytes(model_bytes)
    np.savez(OUT_DIR / f"{case.name}.npz", **{f"input_{i}": a for i, a in enumerate(feeds)})

    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    interp = Interpreter(model_path=str(path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    ins = interp.get_input_details()
    if len(ins) != len(feeds):
        raise CaseError(f"model has {len(ins)} inputs, npz has {len(feeds)}")
    for d, a in zip(ins, feeds):
        if np.dtype(d["dtype"]) != a.dtype or tuple(d["shape"]) != a.shape:
            raise CaseError(f"input {d['name']}: model {d['dtype']} {d['shape']} vs npz {a.dtype} {a.shape}")
        interp.set_tensor(d["index"], a)
    interp.invoke()
    outs = [(d, interp.get_tensor(d["index"])) for d in interp.get_output_details()]
    descr = []
    for d, y in outs:
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise CaseError(f"output {d['name']} has non-finite values")
        if not case.allow_const and y.size > 1 and np.all(y == y.flat[0]):
            raise CaseError(f"output {d['name']} is trivially constant ({y.flat[0]})")
        if not case.allow_const and y.size == 1 and y.dtype.kind == "f" and y.flat[0] == 0:
            raise CaseError(f"scalar output {d['name']} is exactly 0")
        descr.append(f"{y.dtype.name}{list(y.shape)}")
    return ops, f"in={[f'{a.dtype.name}{list(a.shape)}' for a in feeds]} out={descr} ops={ops}"


def build_into(out_dir, define, argv=None):
    """Build the cases that `define()` registers into `out_dir` (another script's folder),
    keeping the entries of cases it does not rebuild: the extra/ and more/ scripts use it."""
    global OUT_DIR
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    filters = list(sys.argv[1:] if argv is None else argv)
    OUT_DIR = out_dir   # run_case writes into OUT_DIR
    CASES.clear()
    define()
    index_path = out_dir / "cases.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    failures = []
    for case in CASES.values():
        if filters and not any(f in case.name for f in filters):
            continue
        try:
            ops, summary = run_case(case)
        except Exception as e:  # noqa: BLE001 -- report every failing case, then fail
            failures.append(case.name)
            print(f"FAIL {case.name}: {type(e).__name__}: {e}", flush=True)
            continue
        index[case.name] = {"ops": ops, "why": case.why}
        print(f"ok   {case.name:40s} {summary}", flush=True)
    index_path.write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")
    return 1 if failures else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("filters", nargs="*", help="only cases whose name contains one of these substrings")
    ap.add_argument("--list", action="store_true", help="list case names and exit")
    args = ap.parse_args(argv)

    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    define_cases()
    selected = [c for n, c in CASES.items() if not args.filters or any(f in n for f in args.filters)]
    if args.list:
        for c in CASES.values():
            print(f"{c.name:40s} {','.join(c.ops):40s} {c.why}")
        print(f"{len(CASES)} cases")
        return 0
    if not selected:
        print("no case matches", args.filters)
        return 1

    index_path = OUT_DIR / "cases.json"
    index = {}
    if args.filters and index_path.exists():
        index = json.loads(index_path.read_text())
    failures = []
    t0 = time.time()
    for c in selected:
        try:
            ops, summary = run_case(c)
        except Exception as e:  # noqa: BLE001 -- report every failing case, then fail
            failures.append(c.name)
            print(f"FAIL {c.name}: {type(e).__name__}: {e}", flush=True)
            for ext in (".tflite", ".npz"):  # never leave a broken model behind
                (OUT_DIR / f"{c.name}{ext}").unlink(missing_ok=True)
            index.pop(c.name, None)
            continue
        index[c.name] = {"ops": ops, "why": c.why}
        print(f"ok   {c.name:40s} {summary}", flush=True)

    if not args.filters:  # full rebuild: drop stale files
        for p in list(OUT_DIR.glob("*.tflite")) + list(OUT_DIR.glob("*.npz")):
            if p.stem not in CASES:
                p.unlink()
        index = {k: v for k, v in index.items() if k in CASES}
    index_path.write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")

    total = sum(p.stat().st_size for p in OUT_DIR.glob("*.tflite"))
    print(f"\n{len(selected) - len(failures)}/{len(selected)} cases ok in {time.time() - t0:.0f}s; "
          f"{len(index)} entries in cases.json; model files total {total / 1024:.0f} KiB")
    if failures:
        print("FAILED:", " ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
