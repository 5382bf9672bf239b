"""Elementwise ops: binary arithmetic and comparisons with broadcasting, unary math and
activations, CAST. One kernel template per arity, one functor per op (elementwise.h).
Also SELECT / SELECT_V2 (select.h), and ADD_N: a copy of its first input, then one
accumulating pass per further input (TFLite's summation order; no broadcasting).

A division whose divisor TFLite checks (FLOOR_DIV, integer DIV and FLOOR_MOD) fails
TFLite's Invoke on a divisor of 0: the generated run checks every divisor first and
returns kStatusDivisionByZero (status.h), having written nothing. None of them folds."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import ANY, FLOAT, NUMERIC, NO_FUSION, Fusion, register
from dlcoder.ops._common import (MAX_DIMS, broadcast_strides, check_activation, clamp_init,
                                 collapse, ctype, loop6, loop6_init, shape, slope_period)
from dlcoder.ops._hooks import all_known, checked
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
    "MUL": ("MulOp", np.multiply, NUMERIC | {"complex64"}),
    "DIV": ("DivOp", None, frozenset({"float32", "int32"})),
    "MAXIMUM": ("MaxOp", np.maximum, NUMERIC),
    "MINIMUM": ("MinOp", np.minimum, NUMERIC),
    "SQUARED_DIFFERENCE": ("SquaredDifferenceOp", lambda a, b: (a - b) * (a - b), NUMERIC),
    "POW": ("PowOp", None, frozenset({"float32", "int32"})),
    "FLOOR_DIV": ("FloorDivOp", lambda a, b: _floor_div_int(a, b), frozenset({"float32", "int32"})),
    "FLOOR_MOD": ("FloorModOp", None, frozenset({"float32", "int32", "int64"})),
}
_COMPARE = {
    "GREATER": ("GreaterOp", np.greater), "GREATER_EQUAL": ("GreaterEqualOp", np.greater_equal),
    "LESS": ("LessOp", np.less), "LESS_EQUAL": ("LessEqualOp", np.less_equal),
    "EQUAL": ("EqualOp", np.equal), "NOT_EQUAL": ("NotEqualOp", np.not_equal),
}
_LOGICAL = {"LOGICAL_AND": ("LogicalAndOp", np.logical_and), "LOGICAL_OR": ("LogicalOrOp", np.logical_or)}
_FUSED_ACT = {"ADD", "SUB", "MUL", "DIV"}


# float ops with a vectorised kernel (simd_binary.h: BinaryKind)
_SIMD_BINARY = {"ADD": "kAdd", "SUB": "kSub", "MUL": "kMul", "DIV": "kDiv", "MAXIMUM": "kMax",
                "MINIMUM": "kMin", "SQUARED_DIFFERENCE": "kSquaredDifference"}


def _float_clamp_init(node) -> str:
    """The clamp of a float binary op. TFLite clamps ADD/SUB/MUL/DIV to the fused
    activation's range and, without one, to [lowest, max] (clamp_init): an overflow or
    x / 0 gives +-FLT_MAX there, not inf. The other ops are not clamped at all."""
    if node.op in _FUSED_ACT:
        return clamp_init(node)
    return "{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()}"


def _checks_divisor(node, g) -> bool:
    """TFLite's FLOOR_DIV checks its divisor for 0 in every dtype, DIV and FLOOR_MOD only in
    integer ones (floats give inf or NaN there)."""
    dtype = g.tensors[node.inputs[1]].dtype
    return node.op == "FLOOR_DIV" or (node.op in ("DIV", "FLOOR_MOD") and dtype != "float32")


def _divisor_check(node, g, e) -> list:
    """The line that returns kStatusDivisionByZero for a divisor of 0, unless the divisor is
    a constant without one."""
    b = node.inputs[1]
    const = g.const(b)
    if not _checks_divisor(node, g) or (const is not None and np.all(const != 0)):
        return []
    return [f"if (const int status = dlcoder_rt::check_divisors({g.tensors[b].size}, "
            f"{e.src(b)})) return status;"]


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


def _floor_div_int(a, b):
    """Integer FLOOR_DIV at generation time, where it is exact: the frame counts of audio
    front ends ((samples - frame) // step) must fold for the slices after them. A zero
    divisor is left to the kernel (status 7), float division to the float kernel."""
    if a.dtype.kind != "i" or np.any(b == 0):
        return None
    return np.floor_divide(a, b)


def _np_arith(name):
    fn = _ARITH[name][1]

    def evaluate(node, a, b):
        if fn is None or node.attrs.get("fused_activation_function", "NONE") != "NONE":
            return None
        with np.errstate(over="ignore"):
            r = fn(a, b)
        if r is None:
            return None
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
             evaluate=_all_const(_np_arith(_name)), shape=_arith_shape,
             fusion=Fusion(takes_clamp=True) if _name in _FUSED_ACT else NO_FUSION)(
        lambda node, g, e, f=_functor: _divisor_check(node, g, e) + [_binary_call(node, g, e, f)])

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
# what a unary op is inside another op's kernel: the fused activation (passes/fuse_activation)
# or the epilogue (_common.EPILOGUES, passes/fuse_epilogue) that does the same
_UNARY_FUSION = {"RELU": Fusion(as_clamp="RELU"), "RELU6": Fusion(as_clamp="RELU6"),
                 "RELU_N1_TO_1": Fusion(as_clamp="RELU_N1_TO_1"),
                 "HARD_SWISH": Fusion(as_epilogue="HARD_SWISH"), "ELU": Fusion(as_epilogue="ELU")}


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
             evaluate=_all_const(lambda node, x, f=_fn: None if f is None else [f(x)]),
             fusion=_UNARY_FUSION.get(_name, NO_FUSION))(
        lambda node, g, e, f=_functor: _unary_call(node, g, e, f"dlcoder_rt::{f}{{}}"))


def _leaky_epilogue(node, g):
    """LEAKY_RELU as a slope epilogue: one alpha for every element (_common.slope_of)."""
    return ("LEAKY_RELU", float(node.attrs.get("alpha", 0.2)))


@register("LEAKY_RELU", header="elementwise.h", shape=alike(), fusion=Fusion(as_epilogue=_leaky_epilogue))
def leaky_relu(node, g, e):
    """Float32 only (the op's dtypes): vectorised as a PRELU of one slope."""
    x, out = node.inputs[0], node.outputs[0]
    alpha = cgen.float_literal(node.attrs.get("alpha", 0.2))
    return (f"dlcoder_rt::prelu_f32(par, dlcoder_rt::Slope{{nullptr, 1, {alpha}}}, {g.tensors[out].size}, "
            f"{e.src(x)}, {e.dst(out)});")


def _gelu_epilogue(node, g) -> str:
    return "GELU_TANH" if node.attrs.get("approximate", False) else "GELU"


@register("GELU", header="elementwise.h", shape=alike(), fusion=Fusion(as_epilogue=_gelu_epilogue))
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


def _prelu_period(node, g):
    """The Slope period of the PRELU's alpha (_common.slope_period), or None."""
    return slope_period(shape(g, node.inputs[1]), shape(g, node.outputs[0]))


def _prelu_epilogue(node, g):
    """The PRELU as a slope epilogue (_common.slope_of): a float32 constant alpha that
    broadcasts as the output's trailing dims; else None (it stays an op)."""
    alpha = node.inputs[1]
    if (g.tensors[alpha].dtype != "float32" or g.const(alpha) is None
            or _prelu_period(node, g) is None):
        return None
    return ("PRELU", alpha)


@register("PRELU", header="elementwise.h", check=_check_binary, shape=_prelu_shape,
          fusion=Fusion(as_epilogue=_prelu_epilogue))
def prelu(node, g, e):
    period = _prelu_period(node, g)
    x, alpha, out = node.inputs[0], node.inputs[1], node.outputs[0]
    if g.tensors[out].dtype != "float32" or period is None:
        return _binary_call(node, g, e, "PreluOp")
    # alpha repeats every `period` elements: vector loads of it, nothing broadcast per element
    return (f"dlcoder_rt::prelu_f32(par, dlcoder_rt::Slope{{{e.src(alpha)}, {period}, 0.0f}}, "
            f"{g.tensors[out].size}, {e.src(x)}, {e.dst(out)});")


def _saturate(x: np.ndarray, dtype: str) -> np.ndarray:
    """Float -> integer as CastOp (elementwise.h) and TFLite: toward zero, beyond the range
    to its nearest end, NaN to the largest value (numpy's astype is undefined there)."""
    info = np.iinfo(dtype)
    x = x.astype(np.float64)
    high = np.isnan(x) | (x >= float(info.max) + 1)     # max + 1: a power of two
    low = x < float(info.min)
    inside = np.trunc(np.where(high | low, 0.0, x)).astype(dtype)
    return np.where(high, info.max, np.where(low, info.min, inside)).astype(dtype)


def _cast_values(x: np.ndarray, dtype: str) -> np.ndarray:
    """TFLite's cast: of a complex64, the real part (unless to complex64); to complex64, the
    value with imaginary part 0 (numpy's too)."""
    if np.iscomplexobj(x) and dtype != "complex64":
        x = x.real
    if x.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
        return _saturate(x, dtype)
    return x.astype(dtype)


def _cast_eval(node, g, values):
    (x,) = values[:1]
    if x is None:
        return None
    return [_cast_values(np.asarray(x), g.tensors[node.outputs[0]].dtype)]


# any dtype to any other: the one unary op whose output need not be its input's dtype
@register("CAST", header="elementwise.h", dtypes=ANY | {"complex64"}, evaluate=_cast_eval,
          shape=same_as())
def cast(node, g, e):
    return _unary_call(node, g, e, f"dlcoder_rt::CastOp<{ctype(g, node.outputs[0])}>{{}}")


# ---- SELECT / SELECT_V2 ---------------------------------------------------------------
def _cond_strides(node, g) -> list:
    """Strides that read the condition at each output position.

    SELECT (v1) accepts, besides equal shapes, a scalar condition or a rank-1 condition
    that picks whole slices along dim 0; SELECT_V2 broadcasts numpy-style."""
    sc, so = shape(g, node.inputs[0]), shape(g, node.outputs[0])
    if node.op == "SELECT" and len(sc) == 1 and len(so) > 1:
        return [1 if sc[0] != 1 else 0] + [0] * (len(so) - 1)
    return broadcast_strides(sc, so)


def _select_values(node, g, cond, x, y):
    so = shape(g, node.outputs[0])
    if node.op == "SELECT" and cond.ndim == 1 and len(so) > 1:
        cond = cond.reshape(cond.shape + (1,) * (len(so) - 1))
    return np.where(cond, x, y)


def _check_select(node, g):
    c, x, y = node.inputs
    if g.tensors[c].dtype != "bool":
        return "the condition must be bool"
    if g.tensors[x].dtype != g.tensors[y].dtype:
        return "x and y have different dtypes"
    return None


def _select_eval(node, g, values):
    if any(v is None for v in values):
        return None
    return [_select_values(node, g, *values)]


def _select_shape(node, g):
    """TFLite's select Prepare: SELECT_V2 broadcasts all three; SELECT takes x and y of one
    shape and a condition of that shape, a scalar, or a vector along x's first dim. The
    condition is bool, x, y and the output of one dtype (TFLite gives the output x's)."""
    arity(node, 3)
    dtypes_in(g, node, {"bool"}, positions=(0,))
    same_dtype(g, node, inputs=(1, 2), outputs=(0,))
    c, x, y = (in_shape(g, node, k) for k in range(3))
    if node.op == "SELECT_V2":
        return [broadcast(c, x, y)]
    if x != y:
        fail(f"x has shape {list(x)} and y {list(y)}: SELECT takes them alike")
    if c not in (x, ()) and not (len(c) == 1 and x and c[0] == x[0]):
        fail(f"the condition's shape {list(c)} is neither x's {list(x)}, a scalar, nor "
             f"x's first dim")
    return [x]


@register("SELECT", "SELECT_V2", header="select.h", dtypes=ANY, check=_check_select,
          evaluate=_select_eval, shape=_select_shape)
def select(node, g, e):
    c, x, y = node.inputs
    out = node.outputs[0]
    so = shape(g, out) or (1,)
    sets = [_cond_strides(node, g), broadcast_strides(shape(g, x), so),
            broadcast_strides(shape(g, y), so)]
    dims, sets = collapse(list(so), *[s or [0] for s in sets])
    if len(dims) > MAX_DIMS:
        raise UnsupportedError(f"{node.op} over a broadcast space of rank {len(dims)}")
    pad = MAX_DIMS - len(dims)
    fields = [[1] * pad + dims] + [[0] * pad + s for s in sets]
    params = e.param("dlcoder_rt::SelectParams",
                     "{" + ", ".join(cgen.array_init(f, "int32_t") for f in fields) + "}")
    return (f"dlcoder_rt::select<{ctype(g, out)}>({params}, {e.src(c)}, {e.src(x)}, "
            f"{e.src(y)}, {e.dst(out)});")


# ---- ADD_N ----------------------------------------------------------------------------
def _add_n_check(node, g):
    if any(shape(g, t) != shape(g, node.outputs[0]) for t in node.inputs):
        raise UnsupportedError("ADD_N inputs differ in shape (TFLite does not broadcast)")


def _add_n_eval(node, g, values):
    if not all_known(values, node) or checked(_add_n_check)(node, g):
        return None
    acc = np.array(values[0], copy=True)
    with np.errstate(over="ignore"):
        for v in values[1:]:
            acc = acc + v        # one input at a time, in order, in the tensors' dtype
    return [acc]


def _add_n_shape(node, g):
    """Two or more inputs of one shape and dtype: TFLite's ADD_N does not broadcast."""
    arity(node, (2, max(2, len(node.inputs))))
    same_dtype(g, node, inputs=range(len(node.inputs)))
    first = in_shape(g, node, 0)
    for k in range(1, len(node.inputs)):
        if in_shape(g, node, k) != first:
            fail(f"input {k} of shape {list(in_shape(g, node, k))} differs from input 0's "
                   f"{list(first)}")
    return [first]


@register("ADD_N", header="elementwise.h", dtypes={"float32", "int32"}, check=checked(_add_n_check),
          evaluate=_add_n_eval, shape=_add_n_shape)
def add_n(node, g, e):
    out = node.outputs[0]
    n = g.tensors[out].size
    lines = [f"dlcoder_rt::copy({n}, {e.src(node.inputs[0])}, {e.dst(out)});"]
    lines += [f"dlcoder_rt::accumulate({n}, {e.src(t)}, {e.dst(out)});" for t in node.inputs[1:]]
    return lines
