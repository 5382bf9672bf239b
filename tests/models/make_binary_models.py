#!/usr/bin/env python3
"""(Re)build the elementwise binary cases of tests/models/ops/: ADD, SUB, MUL, DIV, MAXIMUM,
MINIMUM, SQUARED_DIFFERENCE, POW, the comparisons, SELECT / SELECT_V2 and the logical ops.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names of op_build.FAMILIES["binary"] (add_*, sub_*, ..., select_*,
logical_*): an unfiltered run rewrites their cases.json entries and deletes only their stale
files.

Usage
  python3 tests/models/make_binary_models.py            # rebuild this family
  python3 tests/models/make_binary_models.py add less   # only cases whose name contains one of these
  python3 tests/models/make_binary_models.py --list     # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import (ACT_CODE, NONE, H, T, W, apply_act, away0, bools, grid, ints,  # noqa: E402
                       randn, unif)
from op_hand import single_op  # noqa: E402

FAMILY = "binary"


def binop_case(name, op, a_shape, b_shape, *, dtype=np.float32, act=None, b_const=False, gen=None,
               why=""):
    import_name = {"ADD": "add", "SUB": "subtract", "MUL": "multiply", "DIV": "divide",
                   "MAXIMUM": "maximum", "MINIMUM": "minimum",
                   "SQUARED_DIFFERENCE": "squared_difference", "POW": "pow"}[op]
    if gen is None:
        if dtype == np.int32:
            gen = lambda s: ints(-9, 9, *s)  # noqa: E731
        else:
            gen = lambda s: randn(*s)  # noqa: E731
    gen_a, gen_b = gen if isinstance(gen, tuple) else (gen, gen)

    def fn(*args):
        import tensorflow as tf
        a = args[0]
        b = tf.constant(_const_b) if b_const else args[1]
        y = getattr(tf.math, import_name)(a, b)
        return apply_act(y, act)

    _const_b = None

    def inputs():
        nonlocal _const_b
        a = gen_a(a_shape)
        b = gen_b(b_shape)
        if b_const:
            _const_b = b
            return [a]
        return [a, b]

    exp = {}
    if op in ("ADD", "SUB", "MUL", "DIV"):
        exp = {op: dict(FusedActivationFunction=ACT_CODE[act])}
    why = why or (f"{np.dtype(dtype).name} {list(a_shape)} x {list(b_shape)}"
                  f"{' (const rhs)' if b_const else ''}{' fused ' + act if act else ''}")
    T(name, [op], why, inputs, fn, expect=exp)


def define():
    import tensorflow as tf
    _add_sub_mul()
    _div_max_min_pow()
    _per_channel(tf)
    _comparisons(tf)
    _select_logical(tf)


def _add_sub_mul():
    binop_case("add_same_shape", "ADD", (2, 3, 4), (2, 3, 4))
    binop_case("add_scalar_input", "ADD", (3, 5), ())
    binop_case("add_row_bcast", "ADD", (4, 6), (1, 6))
    binop_case("add_4d_bcast", "ADD", (1, 3, 4, 5), (2, 1, 4, 1))
    binop_case("add_6d_bcast", "ADD", (2, 1, 3, 1, 2, 2), (1, 2, 1, 3, 1, 2))
    binop_case("add_relu", "ADD", (2, 8), (2, 8), act="relu")
    binop_case("add_relu6_bcast", "ADD", (1, 4, 4, 3), (3,), act="relu6", gen=lambda s: randn(*s, scale=4))
    binop_case("add_int32_bcast", "ADD", (2, 3, 4), (4,), dtype=np.int32)
    binop_case("sub_row_bcast", "SUB", (5, 4), (4,))
    binop_case("sub_4d_bcast_lhs_small", "SUB", (1, 1, 3, 1), (2, 4, 3, 5))
    binop_case("sub_int32_bcast", "SUB", (2, 3), (1, 3), dtype=np.int32)
    binop_case("mul_scalar_const", "MUL", (2, 3, 4), (), b_const=True)
    binop_case("mul_4d_bcast", "MUL", (1, 4, 4, 3), (1, 1, 1, 3))
    binop_case("mul_relu", "MUL", (2, 9), (2, 9), act="relu")
    binop_case("mul_int32_bcast", "MUL", (2, 3, 4), (3, 1), dtype=np.int32)


def _div_max_min_pow():
    div_gen = (lambda s: randn(*s), lambda s: away0(*s))
    binop_case("div_col_bcast", "DIV", (4, 5), (4, 1), gen=div_gen)
    binop_case("div_4d_bcast", "DIV", (2, 3, 1, 4), (1, 3, 5, 1), gen=div_gen)
    H("div_int32", ["DIV"], "int32 DIV (TF only emits FLOOR_DIV / float div), mixed signs",
      lambda: single_op("DIV", [ints(-20, 20, 3, 5),
                                np.where(bools(3, 5), 1, -1).astype(np.int32) * ints(1, 6, 3, 5)],
                        [[3, 5]], "DivOptions", out_dtypes=[np.int32], FusedActivationFunction=NONE))
    binop_case("maximum_same_shape", "MAXIMUM", (3, 6), (3, 6), gen=lambda s: grid(*s))
    binop_case("maximum_4d_bcast", "MAXIMUM", (1, 3, 4, 2), (1, 1, 4, 1))
    binop_case("maximum_int32_bcast", "MAXIMUM", (3, 4), (1, 4), dtype=np.int32)
    binop_case("minimum_same_shape", "MINIMUM", (3, 6), (3, 6), gen=lambda s: grid(*s))
    binop_case("minimum_5d_bcast", "MINIMUM", (2, 1, 3, 1, 2), (1, 2, 1, 2, 1))
    binop_case("minimum_int32", "MINIMUM", (3, 4), (3, 4), dtype=np.int32)
    binop_case("squared_difference_bcast", "SQUARED_DIFFERENCE", (2, 3, 4), (3, 1))
    pow_gen = (lambda s: unif(0.5, 2.0, *s), lambda s: randn(*s))
    binop_case("pow_bcast", "POW", (2, 3, 4), (4,), gen=pow_gen)
    binop_case("pow_scalar_exponent", "POW", (3, 5), (), b_const=True,
               gen=(lambda s: unif(0.5, 2.0, *s), lambda s: np.float32(1.7)))


def _per_channel(tf):
    """A dense NHWC tensor and a short per-channel vector: the periodic SIMD path."""
    T("sub_nhwc_c3_channel_mean", ["SUB"], "x[1,13,11,3] - mean[3], as an input normalisation",
      lambda: [randn(1, 13, 11, 3)], lambda a: a - W(3, scale=1.0))
    T("sub_c5_vector_minus_nhwc", ["SUB"], "v[5] - x[1,7,9,5]: the short operand first",
      lambda: [randn(1, 7, 9, 5)], lambda a: W(5, scale=1.0) - a)
    T("mul_nhwc_c7_relu", ["MUL"], "relu(x[2,5,6,7] * s[7]) with the fused clamp",
      lambda: [randn(2, 5, 6, 7)], lambda a: tf.nn.relu(a * W(7, scale=1.0)),
      expect={"MUL": {"FusedActivationFunction": 1}})


def _comparisons(tf):
    CMP = {"GREATER": tf.math.greater, "GREATER_EQUAL": tf.math.greater_equal, "LESS": tf.math.less,
           "LESS_EQUAL": tf.math.less_equal, "EQUAL": tf.math.equal, "NOT_EQUAL": tf.math.not_equal}
    for op, (fa, fb), ints_shapes in [
        ("GREATER", ((3, 5), (3, 5)), ((2, 3, 4), (4,))),
        ("GREATER_EQUAL", ((4, 5), (1, 5)), None),
        ("LESS", ((2, 3, 4), (3, 1)), ((3, 4), (1, 4))),
        ("LESS_EQUAL", ((1, 3, 4, 2), (2, 1, 1, 2)), None),
        ("EQUAL", ((4, 5), (4, 1)), ((3, 5), (5,))),
        ("NOT_EQUAL", ((3, 5), (3, 5)), None),
    ]:
        low = op.lower()
        T(f"{low}_float", [op], f"float {list(fa)} vs {list(fb)} with exactly-equal elements, bool out",
          (lambda fa=fa, fb=fb: [grid(*fa, lo=-1, hi=1), grid(*fb, lo=-1, hi=1)]), CMP[op])
        if ints_shapes is not None:
            ia, ib = ints_shapes
            T(f"{low}_int32", [op], f"int32 {list(ia)} vs {list(ib)}, bool out",
              (lambda ia=ia, ib=ib: [ints(-2, 2, *ia), ints(-2, 2, *ib)]), CMP[op])


def _select_logical(tf):
    T("select_same_shape", ["SELECT"], "tf.where(c,x,y) same shapes -> SELECT",
      lambda: [bools(3, 4), randn(3, 4), randn(3, 4)], tf.where)
    T("select_v2_bcast", ["SELECT_V2"], "SELECT_V2 cond [2,1] x [2,3] y [1,3] (broadcasting)",
      lambda: [bools(2, 1), randn(2, 3), randn(1, 3)], tf.where)
    T("select_v2_4d_bcast", ["SELECT_V2"], "SELECT_V2 cond [1,3,1,4] x [2,1,2,4] y [4]",
      lambda: [bools(1, 3, 1, 4), randn(2, 1, 2, 4), randn(4)], tf.where)
    H("select_int32", ["SELECT"], "SELECT (v1) on int32 values, same shapes",
      lambda: single_op("SELECT", [bools(3, 5), ints(-9, 9, 3, 5), ints(-9, 9, 3, 5)], [[3, 5]],
                        "SelectOptions", out_dtypes=[np.int32]))
    T("logical_and", ["LOGICAL_AND"], "bool [3,4] & [3,4]", lambda: [bools(3, 4), bools(3, 4)], tf.math.logical_and)
    T("logical_or_bcast", ["LOGICAL_OR"], "bool [3,4] | [4]", lambda: [bools(3, 4), bools(4)], tf.math.logical_or)
    T("logical_not", ["LOGICAL_NOT"], "bool [3,4]", lambda: [bools(3, 4)], tf.math.logical_not)


if __name__ == "__main__":
    sys.exit(family_main(__name__))
