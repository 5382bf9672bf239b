"""The int8 variant of BATCH_MATMUL: two int8 operands with per-tensor scales and zero
points, one multiplier for the whole output; kernel in qbatchmatmul.h.
"""
from __future__ import annotations

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops.matmul import batch_matmul_params


# ---- BATCH_MATMUL ----------------------------------------------------------------------
def _check_bmm(node, g):
    out = g.tensors[node.outputs[0]]
    if out.dtype != g.tensors[node.inputs[0]].dtype:
        return f"a {out.dtype} output of {g.tensors[node.inputs[0]].dtype} operands is not supported"
    if any(k in node.attrs for k in ("a_perm", "b_perm", "out_perm")):
        return "a fused transpose is not supported on quantized data"
    return QP.per_tensor(g, node, (0, 1))


def _batch_matmul_q(node, g, e):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    (sa, za), (sb, zb), (so, zo) = QP.params(g, a), QP.params(g, b), QP.params(g, y)
    mult, shift = Q.quantize_multiplier(float(Q.effective_scales(sa, [sb], so)[0]))
    lo, hi = Q.INT_RANGE[g.tensors[y].dtype]
    q = QP.struct(e, "QMatMulParams", {"a_zp": za, "b_zp": zb, "multiplier": mult, "shift": shift,
                                       "out_zp": zo, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::batch_matmul_q({batch_matmul_params(node, g, e)}, {q}, {e.src(a)}, "
            f"{e.src(b)}, {e.dst(y)});")


register("BATCH_MATMUL", header="qbatchmatmul.h", dtypes={"int8"}, check=_check_bmm,
         variant="int8")(_batch_matmul_q)
