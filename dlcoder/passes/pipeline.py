"""The pass pipeline, top to bottom."""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.passes.alias_reshape import alias_reshape
from dlcoder.passes.dead_code import dead_code
from dlcoder.passes.fold_channel_pad import fold_channel_pad
from dlcoder.passes.fold_constants import fold_constants
from dlcoder.passes.fold_dequantize import fold_dequantize
from dlcoder.passes.fuse_activation import fuse_activation
from dlcoder.passes.fuse_epilogue import fuse_epilogue
from dlcoder.passes.fuse_input_scale import fuse_input_scale
from dlcoder.passes.fuse_layer_norm import fuse_layer_norm
from dlcoder.passes.fuse_lstm_cell import fuse_lstm_cell
from dlcoder.passes.fuse_pad import fuse_pad
from dlcoder.passes.fuse_pw_dw import fuse_pw_dw
from dlcoder.passes.fuse_residual import fuse_residual
from dlcoder.passes.fuse_swish import fuse_swish
from dlcoder.passes.fuse_tconv_bias import fuse_tconv_bias
from dlcoder.passes.fuse_transpose_matmul import fuse_transpose_matmul

PASSES = (
    fold_dequantize,    # float16 / sparse weights -> dense float32 constants
    fold_constants,     # anything else computable at generation time
    dead_code,          # constants' producers and unread results
    fuse_lstm_cell,     # an unfused LSTM cell's SPLIT, LOGISTIC, TANH, MUL, ADD -> one op
    fuse_pad,           # PAD -> convolution / max-pool padding
    fuse_activation,    # RELU* -> producer epilogue
    fold_channel_pad,   # ADD(PAD(x) with zero channels, a) -> one op reading x
    fuse_tconv_bias,    # ADD(TRANSPOSE_CONV(x), bias[C]) -> its bias and activation
    fuse_swish,         # MUL(x, LOGISTIC(x)) -> one op
    fuse_layer_norm,    # MEAN, SQUARED_DIFFERENCE, RSQRT, ... over the last axis -> one op
    fuse_epilogue,      # HARD_SWISH / swish -> conv or FULLY_CONNECTED epilogue
    fuse_pw_dw,         # 1x1 conv -> depthwise conv through a ring of rows
    fuse_residual,      # ADD(gemm(x), r) -> the GEMM's epilogue
    fuse_input_scale,   # MUL(x, s[C]) -> the weights of the 1x1 conv that reads it
    fuse_transpose_matmul,  # TRANSPOSE -> BATCH_MATMUL operand / result as a strided view
    alias_reshape,      # RESHAPE/SQUEEZE/EXPAND_DIMS -> shared storage
    dead_code,
)


def run(g: Graph, passes=PASSES) -> Graph:
    """The passes over the graph and over each of the model's other subgraphs (the cond and
    body of control flow). A subgraph keeps its inputs and outputs, so the nodes that run
    it still fit it; no pass folds or fuses a control-flow node."""
    return _run(g, passes).replace(subgraphs=tuple(_run(s, passes) for s in g.subgraphs))


def _run(g: Graph, passes) -> Graph:
    for p in passes:
        g = p(g)
    return g
