"""Float pooling (simd_pool.h) on every channel path: four whole vector blocks at once,
single whole blocks, and the masked partial block, on each x86 ISA (their vectors are
16, 8 and 4 floats wide, so 83 channels take all three paths on each), against TFLite's
builtin kernels. One model holds the pools, so each ISA compiles one library.
"""
from __future__ import annotations

import numpy as np
import pytest

from models.op_hand import HandModel
from support import check_against_tflite
from test_isa import x86_isa

SAME, VALID = 0, 1
POOLS = [  # op, padding, window, stride
    ("AVERAGE_POOL_2D", SAME, 3, 1), ("AVERAGE_POOL_2D", VALID, 3, 2), ("MAX_POOL_2D", SAME, 3, 2),
    ("MAX_POOL_2D", VALID, 2, 2), ("L2_POOL_2D", SAME, 2, 1),
]
CHANNELS = 83


def _out(size, k, stride, padding):
    return -(-size // stride) if padding == SAME else -(-(size - k + 1) // stride)


def _model(h=9, w=10):
    m = HandModel()
    x = m.input((1, h, w, CHANNELS))
    for op, padding, k, stride in POOLS:
        y = m.output(m.tensor((1, _out(h, k, stride, padding), _out(w, k, stride, padding), CHANNELS)))
        m.op(op, [x], [y], "Pool2DOptions", Padding=padding, StrideW=stride, StrideH=stride,
             FilterWidth=k, FilterHeight=k, FusedActivationFunction=0)
    return m


@pytest.mark.parametrize("isa", ["avx512", "avx2", "sse2"])
def test_every_channel_path_matches_tflite(isa, tmp_path):
    path = tmp_path / "pools.tflite"
    path.write_bytes(_model().build())
    x = np.random.default_rng(3).standard_normal((1, 9, 10, CHANNELS)).astype(np.float32)
    check_against_tflite(path, str(tmp_path), inputs=[x],
                         flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))
