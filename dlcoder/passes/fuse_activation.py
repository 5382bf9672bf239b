"""Fuse a standalone RELU / RELU6 / RELU_N1_TO_1 into the op that produces its input.

Only when that op supports a fused activation, has none yet, and its output is read by
the activation alone (and is not a graph output): then the clamp moves into the
producer's epilogue and the intermediate tensor disappears.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.passes.rewrite import absorb_activations

ACTIVATIONS = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1"}
FUSIBLE = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "ADD", "SUB",
           "MUL", "DIV", "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION"}


def fuse_activation(g: Graph) -> Graph:
    return absorb_activations(g, ACTIVATIONS, FUSIBLE, "fused_activation_function",
                              lambda attrs: attrs.get("fused_activation_function", "NONE") == "NONE")
