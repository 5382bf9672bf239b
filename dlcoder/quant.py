"""Quantization arithmetic shared by the ops and the passes, in numpy.

A pure module: it reads Tensors (dlcoder.ir) and returns arrays, and knows nothing of the
op table, the passes or the emitter, so both layers can import it.
"""
from __future__ import annotations

import numpy as np


def dequantize(t) -> np.ndarray:
    """The float32 value of a constant float16 or affine-quantized tensor."""
    if t.dtype == "float16":
        return t.data.astype(np.float32)
    q = t.quant
    values = t.data.astype(np.float32)
    if q is None:
        return values
    scale, zp = q.scale.astype(np.float32), q.zero_point.astype(np.float32)
    if scale.size > 1:
        shape = [1] * values.ndim
        shape[q.axis] = scale.size
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((values - zp) * scale).astype(np.float32)
