#!/usr/bin/env python3
"""(Re)build the pooling cases of tests/models/ops/: AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names avgpool_*, maxpool_* and l2pool_* (op_build.FAMILIES): an
unfiltered run rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_pool_models.py            # rebuild this family
  python3 tests/models/make_pool_models.py l2pool     # only cases whose name contains one of these
  python3 tests/models/make_pool_models.py --list     # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import ACT_CODE, NONE, SAME, VALID, H, T, apply_act, randn  # noqa: E402
from op_hand import single_op  # noqa: E402

FAMILY = "pool"


def define():
    import tensorflow as tf
    _avg_max(tf)
    _l2()


def _avg_max(tf):
    def pool(kind, k, s, pad, act=None):
        def fn(a):
            f = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
            return apply_act(f(a, k, s, pad), act)
        return fn

    for kind, op in (("avg", "AVERAGE_POOL_2D"), ("max", "MAX_POOL_2D")):
        for name, x, k, s, pad, act, why in [
            ("2x2_s2_valid", (1, 8, 8, 3), 2, 2, "VALID", None, "2x2 stride 2 VALID"),
            ("3x3_s2_same_odd", (1, 7, 7, 5), 3, 2, "SAME", None,
             "3x3 stride 2 SAME on 7x7 (partial windows at border)"),
            ("2x2_s2_same_odd_relu", (1, 5, 7, 3), 2, 2, "SAME", "relu",
             "2x2 stride 2 SAME on odd 5x7 (one-sided padding) fused RELU"),
            ("3x2_s1x2_valid", (1, 6, 6, 2), (3, 2), (1, 2), "VALID", None, "non-square 3x2 filter, stride 1x2"),
        ]:
            exp = {op: dict(Padding=SAME if pad == "SAME" else VALID, FusedActivationFunction=ACT_CODE[act])}
            T(f"{kind}pool_{name}", [op], why, (lambda x=x: [randn(*x)]), pool(kind, k, s, pad, act), expect=exp)


def _l2():
    H("l2pool_2x2_s2_valid", ["L2_POOL_2D"], "L2_POOL_2D 2x2 stride 2 VALID (converter has no L2 pool)",
      lambda: single_op("L2_POOL_2D", [randn(1, 6, 6, 3)], [[1, 3, 3, 3]], "Pool2DOptions",
                        Padding=VALID, StrideW=2, StrideH=2, FilterWidth=2, FilterHeight=2,
                        FusedActivationFunction=NONE))
    H("l2pool_3x3_s2_same", ["L2_POOL_2D"], "L2_POOL_2D 3x3 stride 2 SAME on 7x7 (partial windows)",
      lambda: single_op("L2_POOL_2D", [randn(1, 7, 7, 2)], [[1, 4, 4, 2]], "Pool2DOptions",
                        Padding=SAME, StrideW=2, StrideH=2, FilterWidth=3, FilterHeight=3,
                        FusedActivationFunction=NONE))


if __name__ == "__main__":
    sys.exit(family_main(__name__))
