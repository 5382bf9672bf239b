#!/usr/bin/env python3
"""(Re)build the activation and unary math cases of tests/models/ops/: SOFTMAX, LOG_SOFTMAX,
LOGISTIC, TANH, the RELUs, LEAKY_RELU, PRELU, HARD_SWISH, ELU, GELU, EXP, LOG, SQRT, RSQRT,
ABS, NEG, SQUARE, SIN, COS, FLOOR, CEIL and ROUND.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names of op_build.FAMILIES["unary"] (softmax_*, relu*, exp, ...):
an unfiltered run rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_unary_models.py            # rebuild this family
  python3 tests/models/make_unary_models.py relu gelu  # only cases whose name contains one of these
  python3 tests/models/make_unary_models.py --list     # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import H, T, Wpos, ints, randn, unif  # noqa: E402
from op_hand import single_op  # noqa: E402

FAMILY = "unary"


def unary_case(name, op, tf_fn, gen, why, expect=None, allow_const=False):
    T(name, [op], why, gen, tf_fn, expect=expect, allow_const=allow_const)


def define():
    import tensorflow as tf
    _softmax_relus(tf)
    _prelu_smooth(tf)
    _math(tf)


def _softmax_relus(tf):
    T("softmax_2d", ["SOFTMAX"], "SOFTMAX [3,7] beta 1", lambda: [randn(3, 7, scale=2)], tf.nn.softmax,
      expect={"SOFTMAX": dict(Beta=1.0)})
    H("softmax_2d_beta", ["SOFTMAX"], "SOFTMAX [3,7] beta 0.7 (converter keeps a separate MUL)",
      lambda: single_op("SOFTMAX", [randn(3, 7, scale=2)], [[3, 7]], "SoftmaxOptions", Beta=0.7),
      expect={"SOFTMAX": dict(Beta=np.float32(0.7))})
    H("softmax_4d_beta", ["SOFTMAX"], "SOFTMAX [1,2,3,6] beta 2.5 on the last axis",
      lambda: single_op("SOFTMAX", [randn(1, 2, 3, 6)], [[1, 2, 3, 6]], "SoftmaxOptions", Beta=2.5))
    T("log_softmax_2d", ["LOG_SOFTMAX"], "LOG_SOFTMAX [3,7]", lambda: [randn(3, 7, scale=2)], tf.nn.log_softmax)
    T("logistic", ["LOGISTIC"], "sigmoid [4,8]", lambda: [randn(4, 8, scale=3)], tf.math.sigmoid)
    T("tanh", ["TANH"], "tanh [4,8]", lambda: [randn(4, 8, scale=2)], tf.math.tanh)
    T("relu", ["RELU"], "standalone RELU", lambda: [randn(4, 8)], tf.nn.relu)
    T("relu6", ["RELU6"], "standalone RELU6 (inputs span [-8,8])", lambda: [randn(4, 8, scale=4)], tf.nn.relu6)
    T("relu_n1_to_1", ["RELU_N1_TO_1"], "clip(x,-1,1) -> RELU_N1_TO_1", lambda: [randn(4, 8, scale=2)],
      lambda a: tf.clip_by_value(a, -1.0, 1.0))
    H("relu_0_to_1", ["RELU_0_TO_1"], "RELU_0_TO_1 (converter emits MINIMUM+RELU instead)",
      lambda: single_op("RELU_0_TO_1", [randn(4, 8, scale=1.5)], [[4, 8]]))
    T("leaky_relu_0p2", ["LEAKY_RELU"], "LEAKY_RELU alpha 0.2", lambda: [randn(4, 8)],
      lambda a: tf.nn.leaky_relu(a, 0.2), expect={"LEAKY_RELU": dict(Alpha=np.float32(0.2))})


def _prelu_smooth(tf):
    def prelu(shared_axes, shape):
        def make():
            layer = tf.keras.layers.PReLU(shared_axes=shared_axes)
            layer.build((None,) + shape[1:])
            (alpha,) = layer.get_weights()
            layer.set_weights([Wpos(*alpha.shape)])
            return lambda a: layer(a)
        return make
    T("prelu_per_channel", ["PRELU"], "PRELU alpha [1,1,C] (shared over H,W) via Keras PReLU",
      lambda: [randn(1, 4, 4, 3)], make=prelu([1, 2], (1, 4, 4, 3)))
    T("prelu_all_shared", ["PRELU"], "PRELU alpha [1,1,1] (shared over all axes)",
      lambda: [randn(1, 4, 4, 3)], make=prelu([1, 2, 3], (1, 4, 4, 3)))
    T("hard_swish", ["HARD_SWISH"], "x*relu6(x+3)/6 pattern -> HARD_SWISH (inputs span [-6,6])",
      lambda: [randn(4, 8, scale=3)], lambda a: a * tf.nn.relu6(a + 3.0) / 6.0)
    T("elu", ["ELU"], "ELU", lambda: [randn(4, 8)], tf.nn.elu)
    T("gelu_approx", ["GELU"], "GELU approximate=true (tanh)", lambda: [randn(4, 8, scale=2)],
      lambda a: tf.nn.gelu(a, approximate=True), expect={"GELU": dict(Approximate=True)})
    T("gelu_exact", ["GELU"], "GELU approximate=false (erf)", lambda: [randn(4, 8, scale=2)],
      lambda a: tf.nn.gelu(a, approximate=False), expect={"GELU": dict(Approximate=False)})


def _math(tf):
    unary_case("exp", "EXP", tf.math.exp, lambda: [randn(3, 8)], "exp")
    unary_case("log", "LOG", tf.math.log, lambda: [unif(0.05, 5.0, 3, 8)], "log of positive inputs")
    unary_case("sqrt", "SQRT", tf.math.sqrt, lambda: [unif(0.0, 5.0, 3, 8)], "sqrt of non-negative inputs")
    unary_case("rsqrt", "RSQRT", tf.math.rsqrt, lambda: [unif(0.1, 5.0, 3, 8)], "rsqrt of positive inputs")
    unary_case("abs", "ABS", tf.math.abs, lambda: [randn(3, 8)], "abs")
    unary_case("abs_int32", "ABS", tf.math.abs, lambda: [ints(-9, 9, 3, 8)], "abs int32")
    unary_case("neg", "NEG", tf.math.negative, lambda: [randn(3, 8)], "neg")
    unary_case("square", "SQUARE", tf.math.square, lambda: [randn(3, 8)], "square")
    unary_case("sin", "SIN", tf.math.sin, lambda: [randn(3, 8, scale=3)], "sin")
    unary_case("cos", "COS", tf.math.cos, lambda: [randn(3, 8, scale=3)], "cos")
    unary_case("floor", "FLOOR", tf.math.floor, lambda: [randn(3, 8, scale=3)], "floor (no integral inputs)")
    unary_case("ceil", "CEIL", tf.math.ceil, lambda: [randn(3, 8, scale=3)], "ceil (no integral inputs)")
    unary_case("round_half_even", "ROUND", tf.math.round,
               lambda: [np.concatenate([np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.5], np.float32),
                                        randn(16, scale=3)]).reshape(3, 8)],
               "round incl. exact .5 values (half-to-even)")


if __name__ == "__main__":
    sys.exit(family_main(__name__))
