"""Shape hooks of the compute ops (elementwise, reductions, pooling, convolutions, matmuls,
signal, misc, the LSTM) on hand-built nodes: each computes what TFLite's Prepare
computes, and each refuses hostile inputs (bad attributes, missing inputs, shapes that do
not fit together) with an error that says what is wrong."""
import numpy as np
import pytest

from dlcoder.errors import InvalidModelError, UnsupportedError
from dlcoder.ir import Tensor
from dlcoder.ops import TABLE
from support import const_tensor, single_op_graph


def t(*shape, dtype="float32"):
    return Tensor("t", tuple(shape), dtype)


def f32(*shape):
    """A float constant (weights, biases) of this shape."""
    return const_tensor(np.zeros(shape), "float32")


def shapes(op, tensors, attrs=None, inputs=None):
    """The op's shape hook on a one-node graph; `inputs` replaces the node's input list
    (to give -1 for an absent input)."""
    g = single_op_graph(op, tensors, attrs)
    node = g.nodes[0] if inputs is None else g.nodes[0].replace(inputs=tuple(inputs))
    return TABLE[op].shape(node, g)


def refused(error, match, op, tensors, attrs=None, inputs=None):
    with pytest.raises(error, match=match):
        shapes(op, tensors, attrs, inputs)


POOL = {"padding": "VALID", "stride_h": 1, "stride_w": 1, "filter_height": 2, "filter_width": 2,
        "fused_activation_function": "NONE"}
CONV = {"padding": "VALID", "stride_h": 1, "stride_w": 1, "dilation_h_factor": 1,
        "dilation_w_factor": 1, "fused_activation_function": "NONE"}


def with_(base, **kw):
    return {**base, **kw}


# ---- what TFLite computes ---------------------------------------------------------------
@pytest.mark.parametrize("op, tensors, attrs, want", [
    ("ADD", [t(2, 1, 3), t(4, 1), t(0)], {}, (2, 4, 3)),
    ("LESS", [t(3), t(), t(0, dtype="bool")], {}, (3,)),
    ("PRELU", [t(1, 4, 4, 3), f32(1, 1, 3), t(0)], {}, (1, 4, 4, 3)),
    ("CAST", [t(2, 5), t(0)], {}, (2, 5)),
    # duplicate axes count once, negative ones count from the end
    ("MEAN", [t(2, 3, 4, 5), const_tensor([1, -3, 3]), t(0)], {"keep_dims": True}, (2, 1, 4, 1)),
    ("SUM", [t(2, 3, 4, 5), const_tensor([1, -3, 3]), t(0)], {"keep_dims": False}, (2, 4)),
    ("REDUCE_MAX", [t(), const_tensor([0]), t(0)], {"keep_dims": True}, ()),
    ("ARG_MAX", [t(2, 3, 4), const_tensor([-1]), t(0, dtype="int64")], {"output_type": 4},
     (2, 3)),
    ("SOFTMAX", [t(7), t(0)], {"beta": 1.0}, (7,)),
    ("MAX_POOL_2D", [t(1, 7, 7, 3), t(0)], with_(POOL, padding="SAME", stride_h=2, stride_w=2),
     (1, 4, 4, 3)),
    ("AVERAGE_POOL_2D", [t(2, 5, 6, 3), t(0)], with_(POOL, filter_height=3), (2, 3, 5, 3)),
    # dilation 2 makes a 3x3 filter span 5
    ("CONV_2D", [t(1, 7, 7, 8), f32(16, 3, 3, 8), f32(16), t(0)],
     with_(CONV, dilation_h_factor=2, dilation_w_factor=2), (1, 3, 3, 16)),
    ("CONV_2D", [t(1, 7, 7, 8), f32(16, 3, 3, 8), t(0)], with_(CONV, padding="SAME", stride_h=2),
     (1, 4, 7, 16)),
    ("CONV_2D", [t(1, 5, 5, 8), f32(4, 3, 3, 2), t(0)], CONV, (1, 3, 3, 4)),   # 4 groups
    ("DEPTHWISE_CONV_2D", [t(1, 5, 5, 3), f32(1, 3, 3, 6), f32(6), t(0)],
     with_(CONV, padding="SAME", depth_multiplier=2), (1, 5, 5, 6)),
    ("TRANSPOSE_CONV", [const_tensor([1, 8, 8, 4]), f32(4, 3, 3, 2), t(1, 4, 4, 2), t(0)],
     with_(CONV, padding="SAME", stride_h=2, stride_w=2), (1, 8, 8, 4)),
    ("FULLY_CONNECTED", [t(2, 3, 4), f32(5, 4), f32(5), t(0)], {}, (6, 5)),
    ("FULLY_CONNECTED", [t(2, 3, 4), f32(5, 4), t(0)], {"keep_num_dims": True}, (2, 3, 5)),
    # adj_x: lhs [.., 3, 4] is read transposed, 4 rows of 3
    ("BATCH_MATMUL", [t(2, 1, 3, 4), t(5, 3, 6), t(0)], {"adj_x": True}, (2, 5, 4, 6)),
    ("BATCH_MATMUL", [t(3, 4), t(6, 4), t(0)], {"adj_y": True}, (3, 6)),
    ("RFFT2D", [t(2, 6, 10), const_tensor([8, 16]), t(0, dtype="complex64")], {}, (2, 8, 9)),
    ("COMPLEX_ABS", [t(2, 8, 9, dtype="complex64"), t(0)], {}, (2, 8, 9)),
    ("SELECT", [t(2, dtype="bool"), t(2, 3), t(2, 3), t(0)], {}, (2, 3)),
    ("SELECT_V2", [t(1, 3, dtype="bool"), t(2, 1), t(), t(0)], {}, (2, 3)),
    ("L2_NORMALIZATION", [t(2, 8), t(0)], {}, (2, 8)),
    ("SHAPE", [t(2, 3, 4), t(0, dtype="int32")], {"out_type": 2}, (3,)),
    ("FILL", [const_tensor([2, 0, 3]), const_tensor(1.5, "float32"), t(0)], {}, (2, 0, 3)),
    ("DEQUANTIZE", [t(4, 2, dtype="int8"), t(0)], {}, (4, 2)),
])
def test_computes_what_tflite_computes(op, tensors, attrs, want):
    assert shapes(op, tensors, attrs) == [want]


# ---- hostile nodes ----------------------------------------------------------------------
@pytest.mark.parametrize("error, match, op, tensors, attrs, inputs", [
    (InvalidModelError, "required input 1 is missing", "ADD", [t(2), t(2), t(0)], {}, (0, -1)),
    (InvalidModelError, "has 1 inputs, the op takes 2", "MUL", [t(2), t(0)], {}, None),
    (InvalidModelError, r"shapes \[2, 3\] and \[4\] do not broadcast", "SUB",
     [t(2, 3), t(4), t(0)], {}, None),
    (InvalidModelError, "fused activation GELU is not one TFLite defines", "ADD",
     [t(2), t(2), t(0)], {"fused_activation_function": "GELU"}, None),
    (InvalidModelError, "alpha of shape", "PRELU", [t(2, 1), f32(3), t(0)], {}, None),
    (InvalidModelError, "axis 4 is out of range for rank 4", "MEAN",
     [t(1, 2, 3, 4), const_tensor([1, 4]), t(0)], {"keep_dims": True}, None),
    (InvalidModelError, "axis -5 is out of range", "SUM",
     [t(1, 2, 3, 4), const_tensor([-5]), t(0)], {}, None),
    (UnsupportedError, "needs a constant axis", "MEAN", [t(2, 3), t(1, dtype="int32"), t(0)], {},
     None),
    (InvalidModelError, "not an integer type", "MEAN",
     [t(2, 3), const_tensor([1.0], "float32"), t(0)], {}, None),
    (InvalidModelError, "the axis input has 2 values", "ARG_MAX",
     [t(2, 3), const_tensor([0, 1]), t(0)], {}, None),
    (InvalidModelError, "has rank 0, the op takes rank 1 or more", "SOFTMAX", [t(), t(0)], {},
     None),
    (InvalidModelError, "stride_h = -1 must be a positive", "MAX_POOL_2D",
     [t(1, 4, 4, 1), t(0)], with_(POOL, stride_h=-1), None),
    (InvalidModelError, "filter_width = 0 must be a positive", "AVERAGE_POOL_2D",
     [t(1, 4, 4, 1), t(0)], with_(POOL, filter_width=0), None),
    (InvalidModelError, "padding FULL is neither", "L2_POOL_2D", [t(1, 4, 4, 1), t(0)],
     with_(POOL, padding="FULL"), None),
    (InvalidModelError, "input has rank 3, the op takes rank 4", "MAX_POOL_2D",
     [t(4, 4, 1), t(0)], POOL, None),
    (InvalidModelError, "the filter has 3 input channels, the input has 8", "CONV_2D",
     [t(1, 5, 5, 8), f32(4, 3, 3, 3), t(0)], CONV, None),
    (InvalidModelError, "6 output channels do not split into 4 groups", "CONV_2D",
     [t(1, 5, 5, 8), f32(6, 3, 3, 2), t(0)], CONV, None),
    (InvalidModelError, "the bias has 3 values for 4 output channels", "CONV_2D",
     [t(1, 5, 5, 8), f32(4, 3, 3, 8), f32(3), t(0)], CONV, None),
    (InvalidModelError, "dilation factors 0x1", "CONV_2D",
     [t(1, 5, 5, 8), f32(4, 3, 3, 8), t(0)], with_(CONV, dilation_h_factor=0), None),
    (InvalidModelError, "has 4 inputs, the op takes 2 to 3", "CONV_2D",
     [t(1, 5, 5, 8), f32(4, 3, 3, 8), f32(4), t(1, 3, 3, 4), t(0)], CONV, None),
    (InvalidModelError, "filter has rank 2", "CONV_2D", [t(1, 5, 5, 8), f32(4, 8), t(0)], CONV,
     None),
    (InvalidModelError, r"a depthwise filter is \[1, h, w, channels\]", "DEPTHWISE_CONV_2D",
     [t(1, 5, 5, 3), f32(2, 3, 3, 3), t(0)], CONV, None),
    (InvalidModelError, "the filter has 5 channels, not a multiple of the input's 3",
     "DEPTHWISE_CONV_2D", [t(1, 5, 5, 3), f32(1, 3, 3, 5), t(0)], CONV, None),
    (InvalidModelError, "the filter's 4 output channels", "TRANSPOSE_CONV",
     [const_tensor([1, 8, 8, 5]), f32(4, 3, 3, 2), t(1, 4, 4, 2), t(0)],
     with_(CONV, padding="SAME", stride_h=2, stride_w=2), None),
    (InvalidModelError, "comes from a 3x3 input, not 4x4", "TRANSPOSE_CONV",
     [const_tensor([1, 6, 6, 4]), f32(4, 3, 3, 2), t(1, 4, 4, 2), t(0)],
     with_(CONV, padding="SAME", stride_h=2, stride_w=2), None),
    (InvalidModelError, "not 4 sizes", "TRANSPOSE_CONV",
     [const_tensor([1, -8, 8, 4]), f32(4, 3, 3, 2), t(1, 4, 4, 2), t(0)], CONV, None),
    (UnsupportedError, "needs a constant output_shape", "TRANSPOSE_CONV",
     [t(4, dtype="int32"), f32(4, 3, 3, 2), t(1, 4, 4, 2), t(0)], CONV, None),
    (InvalidModelError, "weights has rank 3", "FULLY_CONNECTED",
     [t(2, 4), f32(5, 4, 1), t(0)], {}, None),
    (InvalidModelError, "the input's 10 values do not make rows of the weights' 4",
     "FULLY_CONNECTED", [t(2, 5), f32(3, 4), t(0)], {}, None),
    (InvalidModelError, "the bias has 4 values for 3 output channels", "FULLY_CONNECTED",
     [t(2, 4), f32(3, 4), f32(4), t(0)], {}, None),
    (InvalidModelError, "the input's last dim 2 must be the weights' 4", "FULLY_CONNECTED",
     [t(4, 2), f32(3, 4), t(0)], {"keep_num_dims": True}, None),
    (InvalidModelError, r"\(after adj_x / adj_y\): 4 != 5", "BATCH_MATMUL",
     [t(3, 4), t(5, 6), t(0)], {}, None),
    (InvalidModelError, "lhs has rank 6", "BATCH_MATMUL",
     [t(1, 1, 1, 1, 3, 4), t(4, 6), t(0)], {}, None),
    (InvalidModelError, "do not broadcast", "BATCH_MATMUL", [t(2, 3, 4), t(3, 4, 6), t(0)], {},
     None),
    (InvalidModelError, "is not two positive lengths", "RFFT2D",
     [t(2, 6, 10), const_tensor([8, 0]), t(0)], {}, None),
    (InvalidModelError, "input has rank 1", "RFFT2D", [t(10), const_tensor([8, 16]), t(0)], {},
     None),
    (InvalidModelError, "SELECT takes them alike", "SELECT",
     [t(2, 3, dtype="bool"), t(2, 3), t(3, 2), t(0)], {}, None),
    (InvalidModelError, "the condition's shape", "SELECT",
     [t(3, dtype="bool"), t(2, 3), t(2, 3), t(0)], {}, None),
    (InvalidModelError, "fused activation RELU: the op takes none", "L2_NORMALIZATION",
     [t(2, 8), t(0)], {"fused_activation_function": "RELU"}, None),
    (InvalidModelError, "input has rank 5", "L2_NORMALIZATION", [t(1, 1, 1, 2, 8), t(0)], {},
     None),
    (InvalidModelError, "radius None", "LOCAL_RESPONSE_NORMALIZATION", [t(1, 2, 2, 8), t(0)], {},
     None),
    (InvalidModelError, r"dims \[2, -1\] has a negative size", "FILL",
     [const_tensor([2, -1]), const_tensor(0.0, "float32"), t(0)], {}, None),
    (InvalidModelError, "value has rank 1", "FILL",
     [const_tensor([2, 3]), const_tensor([0.0], "float32"), t(0)], {}, None),
    (InvalidModelError, "out_type 0 is neither", "SHAPE", [t(2), t(0)], {"out_type": 0}, None),
    (InvalidModelError, "output_type 1 is neither", "ARG_MIN", [t(2), const_tensor([0]), t(0)],
     {"output_type": 1}, None),
])
def test_refuses(error, match, op, tensors, attrs, inputs):
    refused(error, match, op, tensors, attrs, inputs)


# ---- UNIDIRECTIONAL_SEQUENCE_LSTM -------------------------------------------------------
B, T, N_IN, N_CELL, N_OUT = 2, 3, 4, 5, 6


def lstm(change=None):
    """Tensors and input list of a peephole-free LSTM with projection (n_output != n_cell)
    and 24 inputs, no layer norm; `change` maps an input position to another tensor, or to
    None for an absent input."""
    ts = {0: t(B, T, N_IN)}
    ts.update({i: f32(N_CELL, N_IN) for i in range(1, 5)})
    ts.update({i: f32(N_CELL, N_OUT) for i in range(5, 9)})
    ts.update({i: f32(N_CELL) for i in range(12, 16)})
    ts.update({16: f32(N_OUT, N_CELL), 18: f32(B, N_OUT), 19: f32(B, N_CELL)})
    ts.update(change or {})
    order = sorted(i for i, v in ts.items() if v is not None)
    inputs = [order.index(i) if i in order else -1 for i in range(24)]
    return [ts[i] for i in order] + [t(0)], inputs


LSTM = {"fused_activation_function": "TANH", "cell_clip": 0.0, "proj_clip": 0.0,
        "time_major": False}


@pytest.mark.parametrize("change, attrs, want", [
    ({}, {}, (B, T, N_OUT)),
    ({0: t(T, B, N_IN)}, {"time_major": True}, (T, B, N_OUT)),
    ({1: None, 5: None, 12: None}, {}, (B, T, N_OUT)),                          # CIFG
    ({i: f32(N_CELL) for i in (9, 10, 11, 20, 21, 22, 23)}, {}, (B, T, N_OUT)),  # peepholes, norm
])
def test_lstm_output_is_the_input_with_n_output_last(change, attrs, want):
    tensors, inputs = lstm(change)
    assert shapes("UNIDIRECTIONAL_SEQUENCE_LSTM", tensors, {**LSTM, **attrs}, inputs) == [want]


@pytest.mark.parametrize("change, attrs, match", [
    ({2: f32(N_CELL, N_IN + 1)}, {},
     r"input-to-forget weights of shape \[5, 5\], expected \[5, 4\]"),
    ({16: f32(N_CELL, N_CELL)}, {}, "projection weights of shape"),
    ({1: None}, {}, "the input gate's weights must be given together"),
    ({1: None, 5: None}, {}, "the input gate bias must be given exactly when"),
    ({10: f32(N_CELL)}, {}, "peephole weights must be given for every gate or for none"),
    ({17: f32(N_OUT), 16: None}, {}, "a projection bias without projection weights"),
    ({18: f32(B, N_CELL)}, {}, "the output state has 10 values, not 2 x 6"),
    ({0: t(B, T)}, {}, "input has rank 2, the op takes rank 3"),
    ({3: None}, {}, "required input 3 is missing"),
    ({}, {"cell_clip": -1.0}, "cell_clip -1.0 is negative"),
    ({21: f32(N_CELL)}, {}, "the input gate's layer-norm coefficients must be given"),
])
def test_lstm_refuses(change, attrs, match):
    tensors, inputs = lstm(change)
    refused(InvalidModelError, match, "UNIDIRECTIONAL_SEQUENCE_LSTM", tensors,
            {**LSTM, **attrs}, inputs)


def test_lstm_takes_20_or_24_inputs():
    tensors, inputs = lstm()
    refused(InvalidModelError, "has 22 inputs, the op takes 20 or 24",
            "UNIDIRECTIONAL_SEQUENCE_LSTM", tensors, LSTM, inputs[:22])


# ---- dtypes -----------------------------------------------------------------------------
def c(*shape, dtype):
    """A constant of zeros (weights, biases) of this shape and dtype."""
    return const_tensor(np.zeros(shape), dtype)


I8, I16, I32, I64, U8 = "int8", "int16", "int32", "int64", "uint8"
F16, BOOL, C64 = "float16", "bool", "complex64"


@pytest.mark.parametrize("op, tensors, attrs", [
    ("ADD", [t(2, dtype=I32), t(2, dtype=I32), t(0, dtype=I32)], {}),
    ("EQUAL", [t(2), t(2), t(0, dtype=BOOL)], {}),
    ("LOGICAL_AND", [t(2, dtype=BOOL), t(2, dtype=BOOL), t(0, dtype=BOOL)], {}),
    ("CAST", [t(2), t(0, dtype=BOOL)], {}),
    ("REDUCE_ANY", [t(2, 3, dtype=BOOL), const_tensor([1]), t(0, dtype=BOOL)], {}),
    ("ARG_MIN", [t(2, 3, dtype=BOOL), const_tensor([1], I64), t(0, dtype=I64)],
     {"output_type": 4}),
    ("SOFTMAX", [t(2, 3, dtype=I8), t(0, dtype=I16)], {}),
    # hybrid (dynamic-range) weights, and the quantized ops' int32 / int64 biases
    ("CONV_2D", [t(1, 5, 5, 8), c(4, 3, 3, 8, dtype=I8), f32(4), t(0)], CONV),
    ("CONV_2D", [t(1, 5, 5, 8, dtype=I8), c(4, 3, 3, 8, dtype=I8), c(4, dtype=I32),
                 t(0, dtype=I8)], CONV),
    ("CONV_2D", [t(1, 5, 5, 8, dtype=I16), c(4, 3, 3, 8, dtype=I8), c(4, dtype=I64),
                 t(0, dtype=I16)], CONV),
    ("DEPTHWISE_CONV_2D", [t(1, 5, 5, 3), c(1, 3, 3, 3, dtype=I8), f32(3), t(0)], CONV),
    ("TRANSPOSE_CONV", [const_tensor([1, 4, 4, 4]), c(4, 3, 3, 2, dtype=U8),
                        t(1, 4, 4, 2, dtype=U8), c(4, dtype=I32), t(0, dtype=U8)],
     with_(CONV, padding="SAME")),
    ("FULLY_CONNECTED", [t(2, 4), c(3, 4, dtype=U8), f32(3), t(0)], {}),
    ("FULLY_CONNECTED", [t(2, 4, dtype=I8), c(3, 4, dtype=I8), c(3, dtype=I32),
                         t(0, dtype=I16)], {}),
    ("BATCH_MATMUL", [t(2, 3), c(3, 4, dtype=I8), t(0)], {}),
    ("BATCH_MATMUL", [t(2, 3, dtype=I8), t(3, 4, dtype=I8), t(0, dtype=I32)], {}),
    ("DEQUANTIZE", [t(4, dtype=F16), t(0)], {}),
    ("QUANTIZE", [t(4, dtype=I16), t(0, dtype=I32)], {}),
    ("FILL", [const_tensor([2], I64), t(dtype=BOOL), t(0, dtype=BOOL)], {}),
    ("SELECT_V2", [t(2, dtype=BOOL), t(2, dtype=BOOL), t(2, dtype=BOOL), t(0, dtype=BOOL)], {}),
])
def test_takes_the_dtypes_tflite_takes(op, tensors, attrs):
    assert len(shapes(op, tensors, attrs)) == 1


@pytest.mark.parametrize("match, op, tensors, attrs", [
    # binary arithmetic: operands and result alike
    ("dtypes differ: input 0 int32, input 1 float32, output 0 float32", "ADD",
     [t(2, dtype=I32), t(2), t(0)], {}),
    ("dtypes differ: input 0 int32, input 1 int32, output 0 int64", "MUL",
     [t(2, dtype=I32), t(2, dtype=I32), t(0, dtype=I64)], {}),
    # comparisons: operands alike, a bool result; logical ops all bool
    ("output 0 has dtype float32, the op takes bool", "LESS", [t(2), t(2), t(0)], {}),
    (r"dtypes differ: input 0 int32, input 1 float32$", "EQUAL",
     [t(2, dtype=I32), t(2), t(0, dtype=BOOL)], {}),
    ("input 0 has dtype float32, the op takes bool", "LOGICAL_AND",
     [t(2), t(2), t(0, dtype=BOOL)], {}),
    ("output 0 has dtype float32, the op takes bool", "LOGICAL_OR",
     [t(2, dtype=BOOL), t(2, dtype=BOOL), t(0)], {}),
    # unary ops and activations keep the dtype; PRELU's alpha is the input's
    ("dtypes differ: input 0 float32, output 0 int32", "EXP", [t(2), t(0, dtype=I32)], {}),
    ("dtypes differ: input 0 bool, output 0 float32", "LOGICAL_NOT", [t(2, dtype=BOOL), t(0)],
     {}),
    ("dtypes differ: input 0 float32, output 0 int8", "GELU", [t(2), t(0, dtype=I8)], {}),
    ("dtypes differ: input 0 float32, input 1 int32, output 0 float32", "PRELU",
     [t(2, 3), c(3, dtype=I32), t(0)], {}),
    # reductions
    ("dtypes differ: input 0 float32, output 0 int32", "MEAN",
     [t(2, 3), const_tensor([1]), t(0, dtype=I32)], {}),
    (r"the axis \(input 1\) has dtype int64, the op takes int32$", "SUM",
     [t(2, 3), const_tensor([1], I64), t(0)], {}),
    ("input 0 has dtype int32, the op takes bool", "REDUCE_ANY",
     [t(2, 3, dtype=I32), const_tensor([1]), t(0, dtype=I32)], {}),
    ("output 0 has dtype float32, but output_type says int32", "ARG_MAX",
     [t(2, 3), const_tensor([1]), t(0)], {"output_type": 2}),
    ("output 0 has dtype int32, but output_type says int64", "ARG_MIN",
     [t(2, 3), const_tensor([1]), t(0, dtype=I32)], {"output_type": 4}),
    (r"the axis \(input 1\) has dtype int16", "ARG_MAX",
     [t(2, 3), const_tensor([1], I16), t(0, dtype=I32)], {}),
    ("input 0 has dtype int64, the op takes bool or float32 or int32 or int8 or uint8",
     "ARG_MAX", [t(2, 3, dtype=I64), const_tensor([1]), t(0, dtype=I32)], {}),
    ("output 0 has dtype int32: for input 0 of dtype float32 the op takes float32", "SOFTMAX",
     [t(2, 3), t(0, dtype=I32)], {}),
    ("output 0 has dtype int8: for input 0 of dtype uint8 the op takes int16 or uint8",
     "SOFTMAX", [t(2, 3, dtype=U8), t(0, dtype=I8)], {}),
    ("dtypes differ: input 0 float32, output 0 int32", "LOG_SOFTMAX",
     [t(2, 3), t(0, dtype=I32)], {}),
    ("dtypes differ: input 0 float32, output 0 int8", "MAX_POOL_2D",
     [t(1, 4, 4, 1), t(0, dtype=I8)], POOL),
    # convolutions: the data's dtype decides the filter's, the bias's and the output's
    ("input 2 has dtype int32: for input 0 of dtype float32 the op takes float32", "CONV_2D",
     [t(1, 5, 5, 8), f32(4, 3, 3, 8), c(4, dtype=I32), t(0)], CONV),
    ("input 1 has dtype float16: for input 0 of dtype float32 the op takes float32 or int8 or "
     "uint8", "CONV_2D", [t(1, 5, 5, 8), c(4, 3, 3, 8, dtype=F16), f32(4), t(0)], CONV),
    ("output 0 has dtype int8: for input 0 of dtype float32 the op takes float32", "CONV_2D",
     [t(1, 5, 5, 8), f32(4, 3, 3, 8), t(0, dtype=I8)], CONV),
    ("input 0 has dtype int32, the op takes float32 or int16 or int8 or uint8", "CONV_2D",
     [t(1, 5, 5, 8, dtype=I32), c(4, 3, 3, 8, dtype=I32), t(0, dtype=I32)], CONV),
    ("input 2 has dtype float32: for input 0 of dtype int8 the op takes int32", "CONV_2D",
     [t(1, 5, 5, 8, dtype=I8), c(4, 3, 3, 8, dtype=I8), f32(4), t(0, dtype=I8)], CONV),
    ("input 1 has dtype uint8: for input 0 of dtype float32 the op takes float32 or int8$",
     "DEPTHWISE_CONV_2D", [t(1, 5, 5, 3), c(1, 3, 3, 3, dtype=U8), t(0)], CONV),
    ("input 2 has dtype int32: for input 0 of dtype int16 the op takes int64",
     "DEPTHWISE_CONV_2D", [t(1, 5, 5, 3, dtype=I16), c(1, 3, 3, 3, dtype=I8),
                           c(3, dtype=I32), t(0, dtype=I16)], CONV),
    ("input 0 has dtype int64, the op takes int32", "TRANSPOSE_CONV",
     [const_tensor([1, 4, 4, 4], I64), f32(4, 3, 3, 2), t(1, 4, 4, 2), t(0)],
     with_(CONV, padding="SAME")),
    ("input 3 has dtype int32: for input 2 of dtype float32 the op takes float32",
     "TRANSPOSE_CONV", [const_tensor([1, 4, 4, 4]), f32(4, 3, 3, 2), t(1, 4, 4, 2),
                        c(4, dtype=I32), t(0)], with_(CONV, padding="SAME")),
    # matmuls
    ("input 1 has dtype float16: for input 0 of dtype float32 the op takes float32 or int8 or "
     "uint8", "FULLY_CONNECTED", [t(2, 4), c(3, 4, dtype=F16), t(0)], {}),
    ("output 0 has dtype float32: for input 0 of dtype int8 the op takes int16 or int8 or uint8",
     "FULLY_CONNECTED", [t(2, 4, dtype=I8), c(3, 4, dtype=I8), c(3, dtype=I32), t(0)], {}),
    ("input 2 has dtype int32: for input 0 of dtype float32 the op takes float32",
     "FULLY_CONNECTED", [t(2, 4), f32(3, 4), c(3, dtype=I32), t(0)], {}),
    ("output 0 has dtype int32: for input 0 of dtype float32 the op takes float32",
     "BATCH_MATMUL", [t(2, 3), t(3, 4), t(0, dtype=I32)], {}),
    ("input 1 has dtype float32: for input 0 of dtype int8 the op takes int8", "BATCH_MATMUL",
     [t(2, 3, dtype=I8), t(3, 4), t(0, dtype=I8)], {}),
    # signal
    ("input 0 has dtype int32, the op takes float32", "RFFT2D",
     [t(2, 6, 10, dtype=I32), const_tensor([8, 16]), t(0, dtype=C64)], {}),
    (r"fft_length \(input 1\) has dtype int64, the op takes int32", "RFFT2D",
     [t(2, 6, 10), const_tensor([8, 16], I64), t(0, dtype=C64)], {}),
    ("output 0 has dtype float32, the op takes complex64", "RFFT2D",
     [t(2, 6, 10), const_tensor([8, 16]), t(0)], {}),
    ("input 0 has dtype float32, the op takes complex64", "REAL", [t(2), t(0)], {}),
    ("output 0 has dtype complex64, the op takes float32", "COMPLEX_ABS",
     [t(2, dtype=C64), t(0, dtype=C64)], {}),
    ("output 0 has dtype int32, the op takes float32", "IMAG",
     [t(2, dtype=C64), t(0, dtype=I32)], {}),
    # misc
    ("input 0 has dtype int32, the op takes bool", "SELECT",
     [t(2, dtype=I32), t(2), t(2), t(0)], {}),
    ("dtypes differ: input 1 float32, input 2 int32, output 0 float32", "SELECT_V2",
     [t(2, dtype=BOOL), t(2), t(2, dtype=I32), t(0)], {}),
    ("dtypes differ: input 1 float32, input 2 float32, output 0 int32", "SELECT",
     [t(2, dtype=BOOL), t(2), t(2), t(0, dtype=I32)], {}),
    ("dtypes differ: input 0 float32, output 0 int32", "L2_NORMALIZATION",
     [t(2, 8), t(0, dtype=I32)], {}),
    ("dtypes differ: input 0 float32, output 0 int32", "LOCAL_RESPONSE_NORMALIZATION",
     [t(1, 2, 2, 8), t(0, dtype=I32)], {"radius": 1, "bias": 1.0, "alpha": 1.0, "beta": 0.5}),
    ("output 0 has dtype float32, but out_type says int32", "SHAPE", [t(2, 3), t(0)],
     {"out_type": 2}),
    (r"dims \(input 0\) has dtype int16, the op takes int32 or int64", "FILL",
     [const_tensor([2], I16), t(), t(0)], {}),
    ("dtypes differ: input 1 float32, output 0 int32", "FILL",
     [const_tensor([2]), t(), t(0, dtype=I32)], {}),
    ("dtypes differ: input 0 float32, output 0 int32", "ZEROS_LIKE", [t(2), t(0, dtype=I32)],
     {}),
    ("input 0 has dtype float32, the op takes float16 or int16 or int8 or uint8", "DEQUANTIZE",
     [t(2), t(0)], {}),
    ("output 0 has dtype int32, the op takes float32", "DEQUANTIZE",
     [t(2, dtype=I8), t(0, dtype=I32)], {}),
    ("output 0 has dtype int32: for input 0 of dtype float32 the op takes int16 or int8 or "
     "uint8", "QUANTIZE", [t(2), t(0, dtype=I32)], {}),
    ("input 0 has dtype bool, the op takes float32 or int16 or int32 or int8 or uint8",
     "QUANTIZE", [t(2, dtype=BOOL), t(0, dtype=I8)], {}),
])
def test_refuses_dtypes(match, op, tensors, attrs):
    refused(InvalidModelError, match, op, tensors, attrs)


def test_lstm_takes_hybrid_weights():
    """int8 weights and peepholes, float32 everything else (TFLite's hybrid LSTM)."""
    weights = {i: c(N_CELL, N_IN, dtype=I8) for i in range(1, 5)}
    weights.update({i: c(N_CELL, N_OUT, dtype=I8) for i in range(5, 9)})
    weights.update({i: c(N_CELL, dtype=I8) for i in (9, 10, 11)})
    weights[16] = c(N_OUT, N_CELL, dtype=I8)
    tensors, inputs = lstm(weights)
    assert shapes("UNIDIRECTIONAL_SEQUENCE_LSTM", tensors, LSTM, inputs) == [(B, T, N_OUT)]


@pytest.mark.parametrize("change, output, match", [
    ({13: c(N_CELL, dtype=I32)}, "float32",
     "input 13 has dtype int32: for input 0 of dtype float32 the op takes float32"),
    ({2: c(N_CELL, N_IN, dtype=I8)}, "float32", "dtypes differ: input 1 float32, input 2 int8"),
    ({1: c(N_CELL, N_IN, dtype=F16)}, "float32", "input 1 has dtype float16"),
    ({19: c(B, N_CELL, dtype=I32)}, "float32", "input 19 has dtype int32"),
    ({21: c(N_CELL, dtype=I8), 20: f32(N_CELL), 22: f32(N_CELL), 23: f32(N_CELL)}, "float32",
     "input 21 has dtype int8"),
    ({}, "int32", "output 0 has dtype int32: for input 0 of dtype float32 the op takes float32"),
    ({0: t(B, T, N_IN, dtype=I32)}, "int32",
     "input 0 has dtype int32, the op takes float32 or int8"),
])
def test_lstm_refuses_dtypes(change, output, match):
    tensors, inputs = lstm(change)
    tensors[-1] = t(0, dtype=output)
    refused(InvalidModelError, match, "UNIDIRECTIONAL_SEQUENCE_LSTM", tensors, LSTM, inputs)
