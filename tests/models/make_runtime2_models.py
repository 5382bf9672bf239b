#!/usr/bin/env python3
"""(Re)build tests/models/runtime2/: divisions whose divisor is read at run time, and
RANGEs whose start, limit or delta is (tests/test_runtime_errors2.py).

- FLOOR_DIV (int32 and float32), FLOOR_MOD (int32 and int64) and int32 DIV with the divisor
  an input: TFLite's invoke fails on a divisor of 0 ("Division by 0"), and the generated
  run returns kStatusDivisionByZero; a constant divisor without 0 is not checked. A float
  FLOOR_MOD, which TFLite does not check, gives NaN. (A constant divisor holding a 0, which
  fails every run, the test builds itself: this script runs every model it writes.)
- RANGE with its scalars inputs of the model (int32, int64, float32; only the limit). The
  converter stores such an output as [-1], so they are hand-built with the stored length
  that the generated library takes: other values make TFLite resize its output, and the
  run return kStatusShapeMismatch; a delta of 0, or one leading away from the limit, fails
  TFLite's invoke.

The machinery is make_op_models.py's `T` (converted with TF), `H` (hand-built) and
`build_into`; each case writes <case>.tflite, <case>.npz and an entry in
runtime2/cases.json. The sample inputs are valid (no 0 divisor); the tests vary them.

Usage
  python3 tests/models/make_runtime2_models.py            # rebuild every case
  python3 tests/models/make_runtime2_models.py range      # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import H, T, away0, randn  # noqa: E402
from op_hand import single_op  # noqa: E402

OUT_DIR = HERE / "runtime2"
I32, I64, F32 = np.int32, np.int64, np.float32


def nonzero(lo, hi, *shape, dtype=I32):
    """Integers in [lo, hi] without 0 (divisors)."""
    x = mop.ints(lo, hi, *shape, dtype=dtype)
    return np.where(x == 0, 1, x).astype(dtype)


def define_cases():
    import tensorflow as tf
    _divisions(tf)
    _ranges()


def _divisions(tf):
    T("floor_div_int32_bcast", ["FLOOR_DIV"], "int32 [3,4] // [4], the divisor an input",
      lambda: [mop.ints(-50, 50, 3, 4), nonzero(-6, 6, 4)], lambda a, b: tf.math.floordiv(a, b))
    T("floor_div_float", ["FLOOR_DIV"], "float [2,3] // [2,3] (TFLite checks floats too)",
      lambda: [randn(2, 3, scale=4), away0(2, 3)], lambda a, b: tf.math.floordiv(a, b))
    T("floor_mod_int32", ["FLOOR_MOD"], "int32 [3,4] mod [3,4]",
      lambda: [mop.ints(-50, 50, 3, 4), nonzero(-7, 7, 3, 4)], lambda a, b: tf.math.floormod(a, b))
    T("floor_mod_int64", ["FLOOR_MOD"], "int64 [5] mod [5]",
      lambda: [mop.ints(-10**12, 10**12, 5, dtype=I64), nonzero(-9, 9, 5, dtype=I64)],
      lambda a, b: tf.math.floormod(a, b))
    T("floor_mod_float", ["FLOOR_MOD"], "float [2,3] mod [2,3]: a 0 divisor is not checked",
      lambda: [randn(2, 3, scale=4), away0(2, 3)], lambda a, b: tf.math.floormod(a, b))
    T("div_int32", ["DIV"], "int32 [2,3] / [2,3], truncating (tf.raw_ops.Div)",
      lambda: [mop.ints(-100, 100, 2, 3), nonzero(-9, 9, 2, 3)],
      lambda a, b: tf.raw_ops.Div(x=a, y=b))
    T("div_int32_const", ["DIV"], "int32 [2,3] / a constant [3] without 0: not checked",
      lambda: [mop.ints(-100, 100, 2, 3)],
      lambda a: tf.raw_ops.Div(x=a, y=tf.constant([3, -2, 7], tf.int32)))


def _ranges():
    def scalars(dtype, *values):
        return [np.array(v, dtype) for v in values]
    H("range_int32", ["RANGE"], "int32 RANGE(start, limit, delta), all inputs, stored [5]",
      lambda: single_op("RANGE", scalars(I32, 10, -5, -3), [[5]], out_dtypes=[I32]))
    H("range_int64", ["RANGE"], "int64 RANGE(start, limit, delta), all inputs, stored [4]",
      lambda: single_op("RANGE", scalars(I64, 2**40, 2**40 + 7, 2), [[4]], out_dtypes=[I64]))
    H("range_float", ["RANGE"], "float RANGE(start, limit, delta), all inputs, stored [7]",
      lambda: single_op("RANGE", scalars(F32, -1.3, 4.0, 0.77), [[7]]))
    H("range_limit_input", ["RANGE"], "int32 RANGE(0, limit, 2), the limit an input, stored [6]",
      lambda: single_op("RANGE", scalars(I32, 0, 11, 2), [[6]], consts=(0, 2), out_dtypes=[I32]))


def main(argv=None):
    return mop.build_into(OUT_DIR, define_cases, argv)


if __name__ == "__main__":
    sys.exit(main())
