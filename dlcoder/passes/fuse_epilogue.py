"""Move a HARD_SWISH, swish or GELU that follows a convolution or FULLY_CONNECTED into that
op's epilogue (attrs["epilogue"]), so the activation is applied while the tile is still in
cache instead of in another pass over memory.

Same conditions as fuse_activation: the producer's output is read by the activation alone
and is not a graph output. Runs after fuse_swish, which makes the swish ops.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.passes.rewrite import absorb_activations

PRODUCERS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def _gelu(node) -> str:
    return "GELU_TANH" if node.attrs.get("approximate", False) else "GELU"


def fuse_epilogue(g: Graph) -> Graph:
    # values: names in ops._common.EPILOGUES
    activations = {"HARD_SWISH": "HARD_SWISH", "DLCODER_SWISH": "DLCODER_SWISH", "GELU": _gelu}
    return absorb_activations(g, activations, PRODUCERS, "epilogue",
                              lambda attrs: "epilogue" not in attrs)
