"""Move a HARD_SWISH, swish, GELU, ELU, LEAKY_RELU or PRELU (a constant alpha that
broadcasts to the output as its trailing dims: _common.slope_period) that follows a
convolution or FULLY_CONNECTED into that op's epilogue (attrs["epilogue"]), so the
activation is applied while the tile is still in cache instead of in another pass over
memory. The epilogue comes after the producer's own clamp (a fused RELU), as in the model.

Which ops can be an epilogue is their Fusion.as_epilogue; which kernels apply one, their
Fusion.takes_epilogue. Same conditions as fuse_activation: the producer's output is read by
the activation alone and is not a graph output. Runs after fuse_swish, which makes the
swish ops.
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.passes.rewrite import absorb_activations


def fuse_epilogue(g: Graph) -> Graph:
    return absorb_activations(g, "epilogue", "epilogue", lambda node: "epilogue" not in node.attrs)
