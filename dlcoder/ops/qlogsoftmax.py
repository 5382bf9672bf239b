"""The int8 and uint8 variants of LOG_SOFTMAX; kernel in qlogsoftmax.h.

The pip build of TFLite runs its optimized kernel's float-table path for both dtypes
(found by experiment, tests/test_quantized_misc.py): the 256-entry float32 table of glibc
expf values SOFTMAX uses (dlcoder/quant.py softmax_table, beta 1), then per row a logf of
the sum and a rint of each output in float32. Its fixed-point reference kernel
(PreprocessLogSoftmaxScalingExp) is not what runs.

TFLite's Prepare takes only an output of scale 16/256 and zero point 127 (int8) or 255
(uint8); so do we.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import shape

_OUT_ZP = {"int8": 127, "uint8": 255}


def _check(node, g):
    why = QP.per_tensor(g, node, (0,))
    if why:
        return why
    x, y = node.inputs[0], node.outputs[0]
    dt, odt = g.tensors[x].dtype, g.tensors[y].dtype
    if dt not in _OUT_ZP or odt != dt:
        return f"LOG_SOFTMAX from {dt} to {odt} is not supported (only int8 to int8 and uint8 to uint8)"
    so, zo = QP.params(g, y)
    if np.float32(so) != np.float32(16 / 256) or zo != _OUT_ZP[dt]:
        return (f"{dt} LOG_SOFTMAX output quantization scale {so:g} zp {zo}: TFLite's Prepare "
                f"takes only scale 16/256 and zero point {_OUT_ZP[dt]}")
    if not np.isfinite(np.float32(QP.params(g, x)[0])):
        return "the input scale is not finite"
    return None


def _log_softmax_q(node, g, e) -> str:
    x, y = node.inputs[0], node.outputs[0]
    depth = shape(g, x)[-1]
    si, _ = QP.params(g, x)
    so, zo = QP.params(g, y)
    params = QP.struct(e, "QLogSoftmaxParams", {
        "rows": g.tensors[x].size // max(depth, 1), "depth": depth,
        "in_scale": float(np.float32(si)), "out_scale": float(np.float32(so)), "out_zp": zo})
    return (f"dlcoder_rt::log_softmax_q<{CTYPES[g.tensors[x].dtype]}>({params}, {e.src(x)}, "
            f"{e.dst(y)}, {e.weights(Q.softmax_table(si, 1.0))});")


for _kind in ("int8", "uint8"):
    register("LOG_SOFTMAX", header="qlogsoftmax.h", dtypes={"int8", "uint8"}, check=_check,
             variant=_kind)(_log_softmax_q)
