"""The int8 variant of BATCH_MATMUL: two int8 operands with per-tensor scales and zero
points, one multiplier for the whole output; kernel in qbatchmatmul.h.
"""
from __future__ import annotations

from dlcoder import quant as Q
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import shape
from dlcoder.ops.matmul import batch_matmul_params

# the kernel's packing (qbatchmatmul.h): rhs columns in blocks of 16
_COLS = 16


# ---- BATCH_MATMUL ----------------------------------------------------------------------
def _check_bmm(node, g):
    out = g.tensors[node.outputs[0]]
    if out.dtype != g.tensors[node.inputs[0]].dtype:
        return f"a {out.dtype} output of {g.tensors[node.inputs[0]].dtype} operands is not supported"
    if any(k in node.attrs for k in ("a_perm", "b_perm", "out_perm")):
        return "a fused transpose is not supported on quantized data"
    return QP.per_tensor(g, node, (0, 1))


def _scratch(node, g) -> int:
    """One batch of both operands packed, in the larger of the kernel's two layouts
    (batch_matmul_q_scratch in the header): int16 pairs of k, or bytes in groups of 4 k
    with an int32 term per row and per column."""
    sa, sb = shape(g, node.inputs[0]), shape(g, node.inputs[1])
    m, k = (sa[-1], sa[-2]) if node.attrs.get("adj_x") else (sa[-2], sa[-1])
    n = sb[-2] if node.attrs.get("adj_y") else sb[-1]
    np_ = -(-n // _COLS) * _COLS
    return max(2 * (-(-k // 2) * 2) * (m + np_), -(-k // 4) * 4 * (m + np_) + 4 * (np_ + m))


def _batch_matmul_q(node, g, e):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    (sa, za), (sb, zb), (so, zo) = QP.params(g, a), QP.params(g, b), QP.params(g, y)
    mult, shift = Q.quantize_multiplier(float(Q.effective_scales(sa, [sb], so)[0]))
    lo, hi = Q.INT_RANGE[g.tensors[y].dtype]
    q = QP.struct(e, "QMatMulParams", {"a_zp": za, "b_zp": zb, "multiplier": mult, "shift": shift,
                                       "out_zp": zo, "lo": lo, "hi": hi})
    params = batch_matmul_params(node, g, e)
    e.static_assert(f"dlcoder_rt::batch_matmul_q_scratch({params}) == {_scratch(node, g)}",
                    "BATCH_MATMUL int8: the generator's scratch size is the kernel's")
    return (f"dlcoder_rt::batch_matmul_q({e.par()}, {params}, {q}, {e.src(a)}, {e.src(b)}, {e.dst(y)}, "
            f"{e.scratch('uint8_t')});")


register("BATCH_MATMUL", header="qbatchmatmul.h", dtypes={"int8"}, check=_check_bmm, scratch=_scratch,
         variant="int8")(_batch_matmul_q)
