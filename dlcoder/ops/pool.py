"""AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D (float32, NHWC)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import Fusion, register
from dlcoder.ops._common import check_activation, clamp_init, shape, spatial_padding
from dlcoder.ops._shapes import (activation, arity, in_shape, positive, rank_between, same_dtype,
                                 window)

_KINDS = {"AVERAGE_POOL_2D": "kAverage", "MAX_POOL_2D": "kMax", "L2_POOL_2D": "kL2"}
# a max pool's own padding contributes -inf (passes/fuse_pad); an average pool's is left
# out of the average, which an explicit zero would not be
_FUSION = {"AVERAGE_POOL_2D": Fusion(takes_clamp=True),
           "MAX_POOL_2D": Fusion(takes_clamp=True, pad_value=-np.inf),
           "L2_POOL_2D": Fusion()}


def _pool(node, g, e, kind: str) -> str:
    x, out = node.inputs[0], node.outputs[0]
    n, ih, iw, c = shape(g, x)
    _, oh, ow, _ = shape(g, out)
    kh, kw = node.attrs["filter_height"], node.attrs["filter_width"]
    top, left = spatial_padding(node, ih, iw, oh, ow, kh, kw)
    params = e.param("dlcoder_rt::PoolParams", cgen.struct_init("PoolParams", {
        "batch": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
        "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "pad_top": top, "pad_left": left, "act": clamp_init(node)}))
    return (f"dlcoder_rt::pool_f32<dlcoder_rt::PoolKind::{kind}>({params}, {e.src(x)}, "
            f"{e.dst(out)});")


def _pool_shape(node, g):
    """NHWC in, NHWC out of the same dtype: the window slides over H and W (TFLite's
    pooling GenericPrepare)."""
    arity(node, 1)
    activation(node)
    x = in_shape(g, node, 0)
    rank_between(x, 4, 4)
    positive(node, "filter_height", "filter_width")
    oh, ow = window(node, x[1:3], (node.attrs["filter_height"], node.attrs["filter_width"]))
    same_dtype(g, node)
    return [(x[0], oh, ow, x[3])]


for _name, _kind in _KINDS.items():
    register(_name, header="pool.h", check=check_activation, shape=_pool_shape,
             fusion=_FUSION[_name])(
        lambda node, g, e, k=_kind: _pool(node, g, e, k))
