"""Fuse a standalone RELU / RELU6 / RELU_N1_TO_1 into the op that produces its input.

Only when that op's kernel clamps (Fusion.takes_clamp), it has no activation yet, and its
output is read by the activation alone (and is not a graph output): then the clamp moves
into the producer's epilogue and the intermediate tensor disappears. Which activations are
clamps, and which clamp, is the activation op's Fusion.as_clamp.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.passes.rewrite import absorb_activations, plain


def fuse_activation(g: Graph) -> Graph:
    return absorb_activations(g, "clamp", "fused_activation_function", plain)
