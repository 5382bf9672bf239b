"""The dynamic-range ("hybrid") variant of BATCH_MATMUL: float32 lhs, constant int8 rhs
quantized per tensor (symmetric), float32 output; kernel in qhybrid_bmm.h.

As TFLite's batch_matmul.cc EvalHybrid (what the converter emits for a matmul by a large
constant under dynamic-range quantization): each lhs row is quantized to int8 at run time
(asymmetrically when the option asymmetric_quantize_inputs is set, else symmetrically;
the quantizer of qhybrid.h), multiplied in integers with the int8 rhs, and scaled back by
row scale * weight scale, the zero point's share taken off in float as TFLite does.

Generation time packs the rhs column by column and computes the column sums as TFLite's
Prepare-time ReductionSumVector does on x86 (dlcoder/quant.py hybrid_sse_row_sums: int16
lanes that wrap for long columns of one sign), and the kernel takes the zero point's
share off in float32 as TFLite does, which rounds once a product passes 2^24. The rhs keeps one scale: TFLite reads only the
tensor's scalar scale, so per-channel rhs scales are refused.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops.matmul import batch_matmul_params


def _check(node, g):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    ta, tb = g.tensors[a], g.tensors[b]
    if ta.dtype != "float32" or g.tensors[y].dtype != "float32":
        return "a dynamic-range BATCH_MATMUL takes a float32 lhs and gives float32"
    if not tb.is_const or tb.dtype != "int8":
        return "a dynamic-range BATCH_MATMUL needs a constant int8 rhs"
    if any(k in node.attrs for k in ("a_perm", "b_perm", "out_perm")):
        return "a fused transpose is not supported with dynamic-range quantization"
    why = QP.weight_scheme(g, node, 1, len(tb.shape) - 1)
    if why is not None:
        return why
    if tb.quant.per_channel:
        return (f"rhs '{tb.name}' has {len(tb.quant.scale)} scales; TFLite's hybrid BATCH_MATMUL "
                "reads one")
    return None


def _packed(g, node) -> np.ndarray:
    """The rhs as [matrices][n][k]: column j of each matrix contiguous."""
    w = g.tensors[node.inputs[1]].data
    k_n = w.shape[-2:]
    mats = w.reshape((-1,) + tuple(k_n))
    if not node.attrs.get("adj_y"):
        mats = mats.transpose(0, 2, 1)          # [.., k, n] -> [.., n, k]
    return np.ascontiguousarray(mats, np.int8)


def _scratch(node, g) -> int:
    w = g.tensors[node.inputs[1]].data
    k = w.shape[-1] if node.attrs.get("adj_y") else w.shape[-2]
    return 4 * k + (k + 3) // 4 * 4


def _batch_matmul_h(node, g, e):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    packed = _packed(g, node)
    sums = Q.hybrid_sse_row_sums(packed.reshape(-1, packed.shape[-1]))
    h = QP.struct(e, "HybridBatchMatMulParams", {
        "asymmetric": int(bool(node.attrs.get("asymmetric_quantize_inputs", False))),
        "w_scale": float(np.float32(g.tensors[b].quant.scale[0]))})
    return (f"dlcoder_rt::batch_matmul_hybrid({batch_matmul_params(node, g, e)}, {h}, {e.src(a)}, "
            f"{e.weights(packed.ravel())}, {e.weights(sums)}, {e.dst(y)}, {e.scratch('float')});")


register("BATCH_MATMUL", header="qhybrid_bmm.h", dtypes={"float32", "int8"}, check=_check,
         scratch=_scratch, variant="hybrid")(_batch_matmul_h)
