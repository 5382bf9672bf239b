"""AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D (float32, NHWC)."""
from __future__ import annotations

from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops._common import check_activation, clamp_init, shape, spatial_padding

_KINDS = {"AVERAGE_POOL_2D": "kAverage", "MAX_POOL_2D": "kMax", "L2_POOL_2D": "kL2"}


def _pool(node, g, e, kind: str) -> str:
    x, out = node.inputs[0], node.outputs[0]
    n, ih, iw, c = shape(g, x)
    _, oh, ow, _ = shape(g, out)
    kh, kw = node.attrs["filter_height"], node.attrs["filter_width"]
    top, left = spatial_padding(node, ih, iw, oh, ow, kh, kw)
    params = e.param("dlcoder_rt::PoolParams", cgen.struct_init({
        "batch": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
        "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "pad_top": top, "pad_left": left, "act": clamp_init(node)}))
    return (f"dlcoder_rt::pool_f32<dlcoder_rt::PoolKind::{kind}>({params}, {e.src(x)}, "
            f"{e.dst(out)});")


for _name, _kind in _KINDS.items():
    register(_name, header="pool.h", check=check_activation)(
        lambda node, g, e, k=_kind: _pool(node, g, e, k))
