#!/usr/bin/env python3
"""(Re)build the reduction cases of tests/models/ops/: MEAN, SUM, REDUCE_MAX, REDUCE_MIN,
REDUCE_PROD, ARG_MAX and ARG_MIN.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names mean_*, sum_*, reduce_*, arg_max_* and arg_min_*
(op_build.FAMILIES): an unfiltered run rewrites their cases.json entries and deletes only
their stale files.

Usage
  python3 tests/models/make_reduce_models.py          # rebuild this family
  python3 tests/models/make_reduce_models.py arg_     # only cases whose name contains one of these
  python3 tests/models/make_reduce_models.py --list   # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import T, away0, grid, randn  # noqa: E402

FAMILY = "reduce"


def define():
    import tensorflow as tf
    _reductions(tf)
    _arg_max_min(tf)


def _reductions(tf):
    RED = {"MEAN": tf.reduce_mean, "SUM": tf.reduce_sum, "REDUCE_MAX": tf.reduce_max,
           "REDUCE_MIN": tf.reduce_min, "REDUCE_PROD": tf.reduce_prod}
    for name, op, x, axis, keep in [
        ("mean_hw_keepdims", "MEAN", (1, 5, 5, 8), [1, 2], True),
        ("mean_axis_neg1", "MEAN", (3, 7), -1, False),
        ("mean_all", "MEAN", (2, 3, 4), None, False),
        ("sum_axis1", "SUM", (3, 5, 4), 1, False),
        ("sum_axes_0_2_keepdims", "SUM", (2, 3, 4, 5), [0, 2], True),
        ("sum_all_keepdims", "SUM", (3, 4), None, True),
        ("reduce_max_last", "REDUCE_MAX", (4, 6), 1, False),
        ("reduce_max_axes_1_2_keepdims", "REDUCE_MAX", (2, 3, 4, 3), [1, 2], True),
        ("reduce_min_neg1_keepdims", "REDUCE_MIN", (2, 3, 4), -1, True),
        ("reduce_prod_axis1", "REDUCE_PROD", (3, 5), 1, False),
        ("reduce_prod_axes_0_2_keepdims", "REDUCE_PROD", (2, 3, 4), [0, -1], True),
    ]:
        gen = (lambda x=x: [away0(*x, lo=0.6, hi=1.4)]) if op == "REDUCE_PROD" else (lambda x=x: [randn(*x)])
        T(name, [op], f"{op} {list(x)} axis {'all' if axis is None else axis} keep_dims {keep}", gen,
          (lambda a, f=RED[op], axis=axis, keep=keep: f(a, axis=axis, keepdims=keep)),
          expect={op: dict(KeepDims=keep)})


def _arg_max_min(tf):
    for name, op, x, axis, odt, tie in [
        ("arg_max_last_int32", "ARG_MAX", (4, 6), -1, tf.int32, False),
        ("arg_max_axis0_int64_ties", "ARG_MAX", (5, 4), 0, tf.int64, True),
        ("arg_max_4d_axis3_int32_ties", "ARG_MAX", (1, 3, 3, 5), 3, tf.int32, True),
        ("arg_min_axis1_int32_ties", "ARG_MIN", (3, 5, 4), 1, tf.int32, True),
        ("arg_min_last_int64", "ARG_MIN", (4, 6), -1, tf.int64, False),
    ]:
        f = tf.math.argmax if op == "ARG_MAX" else tf.math.argmin
        gen = (lambda x=x: [grid(*x, lo=-1, hi=1)]) if tie else (lambda x=x: [randn(*x)])
        T(name, [op], f"{op} {list(x)} axis {axis} -> {odt.name}{' with ties' if tie else ''}", gen,
          (lambda a, f=f, axis=axis, odt=odt: f(a, axis=axis, output_type=odt)),
          expect={op: dict(OutputType=4 if odt == tf.int64 else 2)})


if __name__ == "__main__":
    sys.exit(family_main(__name__))
