"""Ops that exist only inside dlcoder: patterns that passes fuse into one kernel.
Their names are not TFLite builtin names, so no model can contain them directly."""
from __future__ import annotations

from dlcoder.ops import register


@register("DLCODER_SWISH", header="elementwise.h")
def swish(node, g, e):
    """x * logistic(x) (from passes/fuse_swish.py), one pass over memory instead of two."""
    x, out = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::unary_f32(dlcoder_rt::UnaryKind::kSwish, {g.tensors[out].size}, "
            f"{e.src(x)}, {e.dst(out)});")
