#!/usr/bin/env python3
"""(Re)build the normalisation, cast and tensor-creation cases of tests/models/ops/:
L2_NORMALIZATION, LOCAL_RESPONSE_NORMALIZATION, CAST, SHAPE, FILL, ZEROS_LIKE, DEQUANTIZE.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names of op_build.FAMILIES["misc"] (cast_*, shape_*, ...): an
unfiltered run rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_misc_models.py             # rebuild this family
  python3 tests/models/make_misc_models.py cast        # only cases whose name contains one of these
  python3 tests/models/make_misc_models.py --list      # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import NONE, H, T, W, bools, grid, ints, randn  # noqa: E402
from op_hand import HandModel, single_op  # noqa: E402

FAMILY = "misc"


def define():
    import tensorflow as tf
    _normalization_cast(tf)
    _shape_fill_zeros(tf)
    _dequantize()


def _normalization_cast(tf):
    T("l2_normalization_4d", ["L2_NORMALIZATION"], "l2_normalize [1,3,3,8] axis -1",
      lambda: [randn(1, 3, 3, 8)], lambda a: tf.math.l2_normalize(a, -1))
    T("lrn_r2_b1p5_a0p3_b0p6", ["LOCAL_RESPONSE_NORMALIZATION"], "radius 2 bias 1.5 alpha 0.3 beta 0.6",
      lambda: [randn(1, 3, 3, 12)], lambda a: tf.nn.local_response_normalization(a, 2, 1.5, 0.3, 0.6),
      expect={"LOCAL_RESPONSE_NORMALIZATION": dict(Radius=2)})

    T("cast_float_to_int32", ["CAST"], "float -> int32 (truncation, mixed signs)",
      lambda: [randn(3, 6, scale=4)], lambda a: tf.cast(a, tf.int32))
    T("cast_int32_to_float", ["CAST"], "int32 -> float", lambda: [ints(-50, 50, 3, 6)],
      lambda a: tf.cast(a, tf.float32))
    T("cast_bool_to_float", ["CAST"], "bool -> float", lambda: [bools(3, 6)], lambda a: tf.cast(a, tf.float32))
    T("cast_float_to_bool", ["CAST"], "float -> bool (some exact zeros)", lambda: [grid(3, 6, lo=-1, hi=1)],
      lambda a: tf.cast(a, tf.bool))


def _shape_fill_zeros(tf):
    H("shape_int32", ["SHAPE"], "SHAPE of a [2,3,5] graph input, out_type int32 (converter folds SHAPE)",
      lambda: single_op("SHAPE", [randn(2, 3, 5)], [[3]], "ShapeOptions", out_dtypes=[np.int32], OutType=2),
      allow_const=True)
    H("shape_int64", ["SHAPE"], "SHAPE of a [1,4,3,2] graph input, out_type int64",
      lambda: single_op("SHAPE", [randn(1, 4, 3, 2)], [[4]], "ShapeOptions", out_dtypes=[np.int64], OutType=4),
      allow_const=True)
    T("fill_float", ["FILL"], "FILL constant dims [2,3,4] with a scalar float graph input (output inherently constant)",
      lambda: [np.array(1.25, np.float32)], lambda v: tf.fill([2, 3, 4], v), allow_const=True)
    H("zeros_like_float", ["ZEROS_LIKE"], "ZEROS_LIKE of a graph input (converter folds it); output inherently 0",
      lambda: single_op("ZEROS_LIKE", [randn(3, 4)], [[3, 4]], "ZerosLikeOptions"), allow_const=True)

    def zeros_like_add():
        m = HandModel()
        x = m.input((2, 5))
        z = m.op("ZEROS_LIKE", [x], [m.tensor((2, 5))], "ZerosLikeOptions")
        m.output(m.op("ADD", [z, m.const(W(5))], [m.tensor((2, 5))], "AddOptions", FusedActivationFunction=NONE))
        return m, [randn(2, 5)]
    H("zeros_like_then_add", ["ZEROS_LIKE", "ADD"], "ZEROS_LIKE(x) + const (zeros feed a later op)",
      zeros_like_add)


def _dequantize():
    def dequant(dtype):
        def build():
            m = HandModel()
            if dtype == np.float16:
                x = m.input((3, 8), np.float16)
                feed = randn(3, 8).astype(np.float16)
            else:
                x = m.input((3, 8), np.int8, quant=(0.05, 3))
                feed = ints(-128, 127, 3, 8, dtype=np.int8)
            m.output(m.op("DEQUANTIZE", [x], [m.tensor((3, 8))]))
            return m, [feed]
        return build
    H("dequantize_float16_input", ["DEQUANTIZE"], "DEQUANTIZE of a non-constant float16 graph input",
      dequant(np.float16))
    H("dequantize_int8_input", ["DEQUANTIZE"], "DEQUANTIZE of a non-constant int8 input (scale 0.05, zp 3)",
      dequant(np.int8))


if __name__ == "__main__":
    sys.exit(family_main(__name__))
