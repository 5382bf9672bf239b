"""Float SUM and MEAN (reduce.h) on the paths of their loop: rows each summed into one
output (the last axis, one kernel call for all rows, output stride 1 or 0), dense runs
added into dense runs (inner axes kept), and MEAN's vectorised division with its scalar
tail, on two x86 ISAs, against TFLite's builtin kernels. One model, one library per ISA.
"""
from __future__ import annotations

import numpy as np
import pytest

from models.op_hand import HandModel
from support import check_against_tflite
from test_isa import x86_isa

CASES = [  # op, input shape, axes
    ("MEAN", (3, 5, 37), [2]),         # last axis: 15 rows of 37 into 15 outputs
    ("MEAN", (2, 4, 300), [-1]),       # rows longer than two vectors
    ("SUM", (3, 4, 5), [0, 2]),        # rows of 5 into 4 outputs, the outer axis again
    ("MEAN", (4, 6, 40), [1]),         # a middle axis: dense runs into dense runs
    ("MEAN", (2, 3, 7, 19), [0, 1, 2, 3]),  # everything into one value
    ("SUM", (5, 33), [1]),
]


def _model():
    m = HandModel()
    for op, shape, axes in CASES:
        x = m.input(shape)
        kept = [d for i, d in enumerate(shape) if i not in {a % len(shape) for a in axes}]
        y = m.output(m.tensor(tuple(kept)))
        m.op(op, [x, m.const(np.array(axes, np.int32))], [y], "ReducerOptions", KeepDims=False)
    return m


@pytest.mark.parametrize("isa", ["avx512", "sse2"])
def test_sum_and_mean_paths_match_tflite(isa, tmp_path):
    path = tmp_path / "reduce.tflite"
    path.write_bytes(_model().build())
    rng = np.random.default_rng(5)
    inputs = [rng.standard_normal(shape).astype(np.float32) for _, shape, _ in CASES]
    check_against_tflite(path, str(tmp_path), inputs=inputs,
                         flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))
