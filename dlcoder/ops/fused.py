"""Ops that exist only inside dlcoder: patterns that passes fuse into one kernel.
Their names are not TFLite builtin names, so no model can contain them directly."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen, runtime_facts
from dlcoder.ir import Node
from dlcoder.ops import Fusion, lookup, register
from dlcoder.ops._common import bind_slope, residual, shape
from dlcoder.ops._gemm import padded_bias
from dlcoder.ops.conv import (IMPLICIT_MAX_CONST_STRIDE, conv_params, depthwise_params, depthwise_spec, gemm_filter,
                              is_pointwise_gemm)
# the standalone CONV_2D's choice of kernel and of its tap offsets, which a KxK head repeats
from dlcoder.ops.conv import _conv_is_gemm, _input_scale, _is_narrow, _is_winograd, _narrow_width, _uses_band


@register("DLCODER_SWISH", header="elementwise.h", fusion=Fusion(as_epilogue="DLCODER_SWISH"))
def swish(node, g, e):
    """x * logistic(x) (from passes/fuse_swish.py), one pass over memory instead of two."""
    x, out = node.inputs[0], node.outputs[0]
    return (f"dlcoder_rt::unary_f32(par, dlcoder_rt::UnaryKind::kSwish, {g.tensors[out].size}, "
            f"{e.src(x)}, {e.dst(out)});")


def split_chain(node):
    """The (expand CONV_2D or None, DEPTHWISE_CONV_2D, project CONV_2D or None) that a
    DLCODER_CONV_DW node was made of (passes/fuse_pw_dw.py). Its inputs are
    (x, pw filter, pw bias, dw filter, dw bias, pj filter, pj bias[, residual]), -1 where a
    stage is absent (residual: passes/fuse_residual.py)."""
    x, pw_w, pw_b, dw_w, dw_b, pj_w, pj_b = node.inputs[:7]
    a = node.attrs
    pw = (Node(op="CONV_2D", inputs=(x, pw_w, pw_b), outputs=(a["mid"],), attrs=a["pw"])
          if "pw" in a else None)
    dw_in = a["mid"] if pw is not None else x
    dw_out = a["mid2"] if "pj" in a else node.outputs[0]
    dw = Node(op="DEPTHWISE_CONV_2D", inputs=(dw_in, dw_w, dw_b), outputs=(dw_out,), attrs=a["dw"])
    pj = (Node(op="CONV_2D", inputs=(dw_out, pj_w, pj_b), outputs=node.outputs, attrs=a["pj"])
          if "pj" in a else None)
    return pw, dw, pj


def implicit_head(node, g) -> bool:
    """A CONV_2D that is not a plain 1x1 GEMM and that runs alone on the implicit GEMM
    kernel (ops/conv.py: conv2d): one group, no input scale, 16 output channels or more (the
    narrow kernel sums in another order), no Winograd. A chain can start from it: its rows
    computed into the ring by that same kernel (simd_depthwise.h: conv_rows_at), so the same
    bits."""
    return (_conv_is_gemm(node, g) and not is_pointwise_gemm(node, g) and _input_scale(node) < 0
            and not _is_narrow(node, g) and not _is_winograd(node, g))


def _head_offsets(conv, g, e) -> tuple:
    """(kRS, koff, band_koff) of a KxK head, as ops/conv.py's conv2d emits them for
    conv2d_implicit_f32."""
    ic, iw = shape(g, conv.inputs[0])[3], shape(g, conv.inputs[0])[2]
    _, kh, kw, _ = shape(g, conv.inputs[1])
    dh, dw = conv.attrs.get("dilation_h_factor", 1), conv.attrs.get("dilation_w_factor", 1)
    ky, kx, ci = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(ic), indexing="ij")
    if _uses_band(conv, g):
        koff = "nullptr"
        band_koff = e.weights(((ky * _narrow_width(conv, g) + kx * dw) * ic + ci).astype(np.int32).ravel())
    else:
        koff, band_koff = e.weights(((ky * dh * iw + kx * dw) * ic + ci).astype(np.int32).ravel()), "nullptr"
    rs = conv.attrs["stride_w"] * ic
    return (rs if rs <= IMPLICIT_MAX_CONST_STRIDE else 0), koff, band_koff


# Rows of the chain's GEMMs per step: a few whole tiles (kMR is 12 on AVX-512)
CHAIN_GEMM_ROWS = 48
MAX_CHAIN_SLOTS = runtime_facts.constant("kMaxChainSlots")   # the ring's bound (params.h)


def chain_steps(node, g) -> tuple:
    """(output rows per step, ring rows) of a DLCODER_CONV_DW (ChainSteps in params.h):
    enough rows per step for CHAIN_GEMM_ROWS GEMM rows, and a ring that holds a step's
    window of expanded rows (never more rows than the input has)."""
    _, dw, _ = split_chain(node)
    _, in_h, _, _ = shape(g, dw.inputs[0])
    _, out_h, out_w, _ = shape(g, dw.outputs[0])
    k_h, stride = shape(g, dw.inputs[1])[1], dw.attrs["stride_h"]
    rows = max(1, min(out_h, -(-CHAIN_GEMM_ROWS // out_w)))
    while (rows - 1) * stride + k_h > MAX_CHAIN_SLOTS:
        rows -= 1
    return rows, min((rows - 1) * stride + k_h, in_h)


def _chain_scratch(node, g) -> int:
    """The ring of expanded rows, the buffer of a step's depthwise rows before the
    projection, and a KxK head's scratch (its CONV_2D's)."""
    pw, dw, pj = split_chain(node)
    rows, slots = chain_steps(node, g)
    _, _, in_w, in_c = shape(g, dw.inputs[0])
    _, _, out_w, out_c = shape(g, dw.outputs[0])
    floats = (slots * in_w * in_c if pw else 0) + (rows * out_w * out_c if pj else 0)
    head = lookup(pw, g).scratch(pw, g) if pw and not is_pointwise_gemm(pw, g) else 0
    return floats * 4 + head


def _fuse_residual(node, g, other: int, act: str):
    """The chain adding a residual (input 7) in its projection's GEMM epilogue
    (Fusion.residual): only with a projection, without an epilogue or a residual yet."""
    pj = node.attrs.get("pj")
    if len(node.inputs) > 7 or pj is None or "epilogue" in pj:
        return None
    return node.replace(inputs=node.inputs + (other,),
                        attrs=dict(node.attrs, pj=dict(pj, residual_act=act)))


@register("DLCODER_CONV_DW", header="conv.h", scratch=_chain_scratch, task_scratch=_chain_scratch,
          fusion=Fusion(residual=_fuse_residual))
def conv_chain(node, g, e):
    """A DEPTHWISE_CONV_2D with the CONV_2D before (1x1, or KxK: implicit_head) and/or
    the 1x1 CONV_2D after it fused."""
    pw, dw, pj = split_chain(node)
    lines = []
    half = node.attrs.get("weights_f16", False)   # both conv filters as float16

    def stage(conv):
        if conv is None:
            return "nullptr", "nullptr", "nullptr"
        bias = padded_bias(conv, g, e, 2, shape(g, conv.inputs[1])[0])
        params = conv_params(conv, g, e)
        bound = bind_slope(conv, g, e, params)
        if bound != params:   # the kernel takes a pointer: name the params with their slope
            lines.append(f"const dlcoder_rt::ConvParams {params}_s = {bound};")
            params += "_s"
        return "&" + params, gemm_filter(conv, g, e, half), bias
    rows, slots = chain_steps(node, g)
    steps = cgen.struct_init("ChainSteps", {"rows": rows, "slots": slots})
    pw_p, pw_w, pw_b = stage(pw)
    pj_p, pj_w, pj_b = stage(pj)
    dw_p = bind_slope(dw, g, e, depthwise_params(dw, g, e))
    kernel, head = "conv_chain_f32<", ""
    if pw is not None and not is_pointwise_gemm(pw, g):
        rs, koff, band_koff = _head_offsets(pw, g, e)
        kernel, head = f"conv_chain_kxk_f32<{rs}, ", f"{koff}, {band_koff}, "
    return lines + [
        f"dlcoder_rt::{kernel}{'uint16_t' if half else 'float'}, {depthwise_spec(dw, g)}>({e.par()}, "
        f"{pw_p}, {dw_p}, {pj_p}, "
        f"{e.src(node.inputs[0])}, {pw_w}, {pw_b}, {head}{e.src(dw.inputs[1])}, {e.src(dw.inputs[2])}, "
        f"{pj_w}, {pj_b}, {residual(node, e, 7)}, {e.dst(node.outputs[0])}, {e.scratch('float')}, "
        f"dlcoder_rt::ChainSteps{steps});"]
