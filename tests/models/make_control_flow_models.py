#!/usr/bin/env python3
"""(Re)build the control-flow test models in tests/models/control_flow/.

Every case is a tf.function whose loop the converter keeps as a TFLite WHILE (its trip
count depends on an input or on a computed value, so it cannot be unrolled), plus small
Keras 3 recurrent layers, which export their time loop as a WHILE. The machinery is
make_op_models.py's `T` and `build_into` (target op present, runs in the TFLite
interpreter, non-trivial output); each case writes <case>.tflite, <case>.npz and an entry
in control_flow/cases.json.

Usage
  python3 tests/models/make_control_flow_models.py            # rebuild every case
  python3 tests/models/make_control_flow_models.py lstm       # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import T, randn  # noqa: E402

OUT_DIR = HERE / "control_flow"
I32 = np.int32


def define_cases():
    import tensorflow as tf

    def count(n):
        return np.array(n, I32)

    def counter_accum(x, n):
        """acc = acc * 0.5 + x, n times: a counter and a float accumulator."""
        def body(i, acc):
            return i + 1, acc * 0.5 + x
        return tf.while_loop(lambda i, acc: i < n, body, (tf.constant(0), tf.zeros_like(x)))[1]
    T("while_counter_accum", ["WHILE"], "counter + float accumulator, trip count from an input",
      lambda: [randn(2, 3), count(5)], counter_accum)

    def int_and_float(x, v, n):
        """int32 and float loop variables, both returned."""
        def body(i, s, acc):
            return i + 1, s + v * i, acc * 1.25 - x
        i, s, acc = tf.while_loop(lambda i, s, acc: i < n, body,
                                  (tf.constant(0), tf.zeros_like(v), x))
        return s, acc, i
    T("while_int_and_float", ["WHILE"], "int32 vector + float loop variables, three outputs",
      lambda: [randn(4), mop.ints(-5, 5, 3), count(4)], int_and_float)

    def passthrough(x, w, n):
        """w rides along unchanged; the body reads it every iteration."""
        def body(i, acc, w):
            return i + 1, tf.tanh(tf.matmul(acc, w)), w
        return tf.while_loop(lambda i, acc, w: i < n, body, (tf.constant(0), x, w))[1:]
    T("while_passthrough", ["WHILE"], "a loop variable passed through the body unchanged",
      lambda: [randn(2, 4), randn(4, 4, scale=0.5), count(3)], passthrough)

    def data_dependent(x):
        """Trip count decided by the values: double until the sum of squares passes 100."""
        def body(i, y):
            return i + 1, y * 1.5 + 0.25
        i, y = tf.while_loop(lambda i, y: tf.reduce_sum(y * y) < 100.0, body, (tf.constant(0), x),
                             maximum_iterations=50)
        return y, i
    T("while_data_dependent", ["WHILE"], "condition on a computed value, maximum_iterations",
      lambda: [randn(3, 2)], data_dependent)

    def rotate(a, b, c, n):
        """(a, b, c) -> (b, c, a): loop variables that swap buffers, no arithmetic."""
        def body(i, a, b, c):
            return i + 1, b, c, a
        return tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), a, b, c))[1:]
    T("while_rotate", ["WHILE"], "body outputs that are other loop variables' inputs (a cycle)",
      lambda: [randn(3), randn(3), randn(3), count(4)], rotate)

    def fibonacci(a, b, n):
        """(a, b) -> (b, a + b): one body output is another loop variable's input."""
        def body(i, a, b):
            return i + 1, b, a + b
        return tf.while_loop(lambda i, a, b: i < n, body, (tf.constant(0), a, b))[1:]
    T("while_fibonacci", ["WHILE"], "(a, b) -> (b, a + b)", lambda: [randn(5), randn(5), count(6)],
      fibonacci)

    def nested(x, n):
        """A WHILE inside the body of another WHILE."""
        def outer(i, acc):
            inner = tf.while_loop(lambda j, y: j < i, lambda j, y: (j + 1, y * 0.9 + 0.1),
                                  (tf.constant(0), acc))[1]
            return i + 1, inner + x
        return tf.while_loop(lambda i, acc: i < n, outer, (tf.constant(0), x))[1]
    T("while_nested", ["WHILE"], "a WHILE in a WHILE's body, inner trip count from the outer counter",
      lambda: [randn(4), count(3)], nested)

    def unsupported_in_body(x, n):
        """ATAN2, which dlcoder does not compile, inside the body."""
        def body(i, acc):
            return i + 1, tf.math.atan2(acc, x)
        return tf.while_loop(lambda i, acc: i < n, body, (tf.constant(0), x))[1]
    T("while_unsupported_body", ["WHILE"], "ATAN2 inside the loop body",
      lambda: [randn(4) + 2.0, count(2)], unsupported_in_body)

    def branch(x, k):
        """IF: the branches run different ops; one result is an input passed through."""
        return tf.cond(k > 0, lambda: (x * 2.0 + 1.0, x), lambda: (tf.tanh(x), x - 1.0))
    T("if_two_branches", ["IF"], "tf.cond on an input, two results", lambda: [randn(2, 3), count(1)],
      branch)

    def if_in_loop(x, n):
        """An IF inside a WHILE body, on the parity of the counter."""
        def body(i, acc):
            acc = tf.cond(i % 2 == 0, lambda: acc * 0.5 + x, lambda: tf.tanh(acc))
            return i + 1, acc
        return tf.while_loop(lambda i, acc: i < n, body, (tf.constant(0), x))[1]
    T("if_in_while", ["WHILE"], "IF in a WHILE body", lambda: [randn(5), count(5)], if_in_loop)

    def recurrent(layer_cls, units, **kw):
        def make():
            import keras
            keras.utils.set_random_seed(3)
            layer = layer_cls(units, **kw)
            return lambda x: layer(x)
        return make
    T("keras_lstm", ["WHILE"], "Keras 3 LSTM (time loop exported as a WHILE), last state",
      lambda: [randn(1, 6, 5)], make=recurrent(tf.keras.layers.LSTM, 8))
    T("keras_gru", ["WHILE"], "Keras 3 GRU, batch 2, last state",
      lambda: [randn(2, 5, 3)], make=recurrent(tf.keras.layers.GRU, 4))


def main(argv=None):
    return mop.build_into(OUT_DIR, define_cases, argv)


if __name__ == "__main__":
    sys.exit(main())
