"""Elementwise ops: binary arithmetic and comparisons with broadcasting, unary math and
activations, CAST. One kernel template per arity, one functor per op (elementwise.h)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import ANY, FLOAT, NUMERIC, register
from dlcoder.ops._common import (broadcast_strides, check_activation, clamp_init,
                                 ctype, loop6, loop6_init, shape)
from dlcoder.ops._shapes import (activation, alike, arity, broadcast, dtypes_in, fail, in_shape,
                                 same_as, same_dtype)


def _all_const(fn):
    """An evaluate hook that folds only when every present input is constant."""
    def evaluate(node, g, values):
        if any(v is None for t, v in zip(node.inputs, values) if t >= 0):
            return None
        return fn(node, *values)
    return evaluate


# ---- binary -------------------------------------------------------------------------------
_ARITH = {  # op -> (functor, numpy, dtypes)
    "ADD": ("AddOp", np.add, NUMERIC),
    "SUB": ("SubOp", np.subtract, NUMERIC),
    "MUL": ("MulOp", np.multiply, NUMERIC),
    "DIV": ("DivOp", None, frozenset({"float32", "int32"})),
    "MAXIMUM": ("MaxOp", np.maximum, NUMERIC),
    "MINIMUM": ("MinOp", np.minimum, NUMERIC),
    "SQUARED_DIFFERENCE": ("SquaredDifferenceOp", lambda a, b: (a - b) * (a - b), NUMERIC),
    "POW": ("PowOp", None, frozenset({"float32", "int32"})),
    "FLOOR_DIV": ("FloorDivOp", None, frozenset({"float32", "int32"})),
    "FLOOR_MOD": ("FloorModOp", None, frozenset({"float32", "int32", "int64"})),
}
_COMPARE = {
    "GREATER": ("GreaterOp", np.greater), "GREATER_EQUAL": ("GreaterEqualOp", np.greater_equal),
    "LESS": ("LessOp", np.less), "LESS_EQUAL": ("LessEqualOp", np.less_equal),
    "EQUAL": ("EqualOp", np.equal), "NOT_EQUAL": ("NotEqualOp", np.not_equal),
}
_LOGICAL = {"LOGICAL_AND": ("LogicalAndOp", np.logical_and), "LOGICAL_OR": ("LogicalOrOp", np.logical_or)}
_FUSED_ACT = {"ADD", "SUB", "MUL", "DIV"}


# float ops with a vectorised kernel (simd_math.h: BinaryKind)
_SIMD_BINARY = {"ADD": "kAdd", "SUB": "kSub", "MUL": "kMul", "DIV": "kDiv", "MAXIMUM": "kMax",
                "MINIMUM": "kMin", "SQUARED_DIFFERENCE": "kSquaredDifference"}


def _float_clamp_init(node) -> str:
    """The clamp of a float binary op. TFLite clamps ADD/SUB/MUL/DIV to the fused
    activation's range and, without one, to [lowest, max] (clamp_init): an overflow or
    x / 0 gives +-FLT_MAX there, not inf. The other ops are not clamped at all."""
    if node.op in _FUSED_ACT:
        return clamp_init(node)
    return "{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()}"


def _binary_call(node, g, e, functor: str) -> str:
    a, b = node.inputs[:2]
    out = node.outputs[0]
    so = shape(g, out)
    loop = loop6(so or (1,), broadcast_strides(shape(g, a), so) or [0],
                 broadcast_strides(shape(g, b), so) or [0])
    params = e.param("dlcoder_rt::Loop6", loop6_init(loop))
    if node.op in _SIMD_BINARY and g.tensors[out].dtype == "float32":
        kind = f"dlcoder_rt::BinaryKind::{_SIMD_BINARY[node.op]}"
        return (f"dlcoder_rt::binary_f32(par, {params}, {kind}, {e.src(a)}, {e.src(b)}, {e.dst(out)}, "
                f"{_float_clamp_init(node)});")
    op = f"dlcoder_rt::{functor}{{}}"
    if node.op in _FUSED_ACT and node.attrs.get("fused_activation_function", "NONE") != "NONE":
        ct = ctype(g, a)
        op = f"dlcoder_rt::Clamped<{ct}, dlcoder_rt::{functor}>{{{{}}, {clamp_init(node, ct)}}}"
    return f"dlcoder_rt::binary({params}, {e.src(a)}, {e.src(b)}, {e.dst(out)}, {op});"


def _np_arith(name):
    fn = _ARITH[name][1]

    def evaluate(node, a, b):
        if fn is None or node.attrs.get("fused_activation_function", "NONE") != "NONE":
            return None
        with np.errstate(over="ignore"):
            r = fn(a, b)
        if name in _FUSED_ACT and r.dtype == np.float32:   # as _float_clamp_init
            r = np.clip(r, np.finfo(np.float32).min, np.finfo(np.float32).max)
        return [r]
    return evaluate


def _binary_shape(node, g):
    """Numpy broadcasting, as TFLite's CalculateShapeForBroadcast."""
    arity(node, 2)
    activation(node)
    return [broadcast(in_shape(g, node, 0), in_shape(g, node, 1))]


def _arith_shape(node, g):
    """Both operands and the result of one dtype: TFLite's Prepare refuses operands that
    differ and gives the output their dtype, whatever the model stores."""
    out = _binary_shape(node, g)
    same_dtype(g, node, inputs=(0, 1), outputs=(0,))
    return out


def _compare_shape(node, g):
    """Operands of one dtype, a bool result (which TFLite gives the output)."""
    out = _binary_shape(node, g)
    same_dtype(g, node, inputs=(0, 1), outputs=())
    dtypes_in(g, node, {"bool"}, positions=(), outputs=(0,))
    return out


def _logical_shape(node, g):
    """bool operands and result (TFLite: "Logical ops only support bool type")."""
    out = _binary_shape(node, g)
    dtypes_in(g, node, {"bool"}, outputs=(0,))
    return out


def _check_binary(node, g):
    a, b = node.inputs[:2]
    if g.tensors[a].dtype != g.tensors[b].dtype:
        return "operands of different dtypes"
    return check_activation(node, g)


for _name, (_functor, _fn, _dtypes) in _ARITH.items():
    register(_name, header="elementwise.h", dtypes=_dtypes, check=_check_binary,
             evaluate=_all_const(_np_arith(_name)), shape=_arith_shape)(
        lambda node, g, e, f=_functor: _binary_call(node, g, e, f))

for _table, _dtypes, _shape in ((_COMPARE, NUMERIC | {"bool"}, _compare_shape),
                                (_LOGICAL, {"bool"}, _logical_shape)):
    for _name, (_functor, _fn) in _table.items():
        register(_name, header="elementwise.h", dtypes=_dtypes, check=_check_binary,
                 evaluate=_all_const(lambda node, a, b, f=_fn: [f(a, b)]), shape=_shape)(
            lambda node, g, e, f=_functor: _binary_call(node, g, e, f))


# ---- unary --------------------------------------------------------------------------------
_UNARY = {  # op -> (functor, numpy or None, dtypes)
    "ABS": ("AbsOp", np.abs, NUMERIC),
    "NEG": ("NegOp", np.negative, NUMERIC),
    "SQUARE": ("SquareOp", np.square, NUMERIC),
    "SIGN": ("SignOp", np.sign, NUMERIC),
    "EXP": ("ExpOp", None, FLOAT),
    "LOG": ("LogOp", None, FLOAT),
    "SQRT": ("SqrtOp", None, FLOAT),
    "RSQRT": ("RsqrtOp", None, FLOAT),
    "SIN": ("SinOp", None, FLOAT),
    "COS": ("CosOp", None, FLOAT),
    "FLOOR": ("FloorOp", np.floor, FLOAT),
    "CEIL": ("CeilOp", np.ceil, FLOAT),
    "ROUND": ("RoundOp", np.round, FLOAT),
    "LOGICAL_NOT": ("LogicalNotOp", np.logical_not, {"bool"}),
    "RELU": ("ReluOp", None, FLOAT),
    "RELU6": ("Relu6Op", None, FLOAT),
    "RELU_N1_TO_1": ("ReluN1To1Op", None, FLOAT),
    "RELU_0_TO_1": ("Relu0To1Op", None, FLOAT),
    "LOGISTIC": ("LogisticOp", None, FLOAT),
    "TANH": ("TanhOp", None, FLOAT),
    "ELU": ("EluOp", None, FLOAT),
    "HARD_SWISH": ("HardSwishOp", None, FLOAT),
}


# float ops with a vectorised kernel (simd_math.h: UnaryKind)
_SIMD_UNARY = {"LOGISTIC": "kLogistic", "TANH": "kTanh", "HARD_SWISH": "kHardSwish", "ELU": "kElu",
               "EXP": "kExp", "RELU": "kRelu", "RELU6": "kRelu6", "RELU_N1_TO_1": "kReluN1To1",
               "RELU_0_TO_1": "kRelu0To1", "ABS": "kAbs", "NEG": "kNeg", "SQUARE": "kSquare",
               "SQRT": "kSqrt", "RSQRT": "kRsqrt"}


def _unary_call(node, g, e, functor: str) -> str:
    x, out = node.inputs[0], node.outputs[0]
    if node.op in _SIMD_UNARY and g.tensors[out].dtype == "float32":
        return (f"dlcoder_rt::unary_f32(par, dlcoder_rt::UnaryKind::{_SIMD_UNARY[node.op]}, "
                f"{g.tensors[out].size}, {e.src(x)}, {e.dst(out)});")
    return f"dlcoder_rt::unary({g.tensors[out].size}, {e.src(x)}, {e.dst(out)}, {functor});"


for _name, (_functor, _fn, _dtypes) in _UNARY.items():
    register(_name, header="elementwise.h", dtypes=_dtypes, shape=alike(),
             evaluate=_all_const(lambda node, x, f=_fn: None if f is None else [f(x)]))(
        lambda node, g, e, f=_functor: _unary_call(node, g, e, f"dlcoder_rt::{f}{{}}"))


@register("LEAKY_RELU", header="elementwise.h", shape=alike())
def leaky_relu(node, g, e):
    alpha = cgen.float_literal(node.attrs.get("alpha", 0.2))
    return _unary_call(node, g, e, f"dlcoder_rt::LeakyReluOp{{{alpha}}}")


@register("GELU", header="elementwise.h", shape=alike())
def gelu(node, g, e):
    kind = "kGeluTanh" if node.attrs.get("approximate", False) else "kGelu"
    x, out = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::unary_f32(par, dlcoder_rt::UnaryKind::{kind}, {g.tensors[out].size}, "
            f"{e.src(x)}, {e.dst(out)});")


def _prelu_shape(node, g):
    """alpha broadcasts to the input, whose shape and dtype the output keeps (TFLite's
    PreluPrepare). alpha has the input's dtype: TFLite does not check it, but its kernels
    read alpha as the input's type."""
    arity(node, 2)
    x, alpha = in_shape(g, node, 0), in_shape(g, node, 1)
    if broadcast(x, alpha) != tuple(x):
        fail(f"alpha of shape {list(alpha)} does not broadcast to the input's {list(x)}")
    same_dtype(g, node, inputs=(0, 1), outputs=(0,))
    return [tuple(x)]


@register("PRELU", header="elementwise.h", check=_check_binary, shape=_prelu_shape)
def prelu(node, g, e):
    return _binary_call(node, g, e, "PreluOp")


def _cast_eval(node, g, values):
    (x,) = values[:1]
    if x is None:
        return None
    return [x.astype(g.tensors[node.outputs[0]].dtype)]


# any dtype to any other: the one unary op whose output need not be its input's dtype
@register("CAST", header="elementwise.h", dtypes=ANY, evaluate=_cast_eval, shape=same_as())
def cast(node, g, e):
    return _unary_call(node, g, e, f"dlcoder_rt::CastOp<{ctype(g, node.outputs[0])}>{{}}")
