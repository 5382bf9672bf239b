"""Rebuild the models of the error-path tests (tests/test_errors.py).

Run: python3 tests/models/make_error_models.py   (needs tensorflow-cpu)
Out: tests/models/errors/*.tflite
"""
import os

import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "errors")


def convert(fn, sig, name, **flags):
    conc = tf.function(fn, input_signature=sig).get_concrete_function()
    c = tf.lite.TFLiteConverter.from_concrete_functions([conc])
    for k, v in flags.items():
        setattr(c, k, v)
    data = c.convert()
    with open(os.path.join(OUT, name + ".tflite"), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    # two kinds of unsupported ops, one of them twice, after a supported one
    convert(lambda x: tf.linalg.set_diag(
        tf.raw_ops.Bucketize(input=tf.raw_ops.Bucketize(input=tf.nn.relu(x), boundaries=[0.5, 1.0]),
                             boundaries=[1.0]), tf.zeros([3], tf.int32)),
            [tf.TensorSpec([3, 8], tf.float32)], "unsupported_ops")
    # dynamic batch dimension
    convert(lambda x: tf.nn.relu(x) * 2.0, [tf.TensorSpec([None, 4], tf.float32)], "dynamic_batch")
    # dynamic batch with a RESHAPE whose shape is computed from SHAPE at run time: the
    # stored intermediate shapes are placeholders
    w = tf.constant(np.random.default_rng(0).standard_normal((3, 3, 3, 4)).astype(np.float32))
    d = tf.constant(np.random.default_rng(1).standard_normal((64, 5)).astype(np.float32))
    convert(lambda x: tf.matmul(tf.reshape(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), [tf.shape(x)[0], -1]), d),
            [tf.TensorSpec([None, 4, 4, 3], tf.float32)], "dynamic_reshape")
    # a float64 input
    convert(lambda x: tf.cast(x, tf.float32) * 2.0, [tf.TensorSpec([4], tf.float64)], "float64_input")


if __name__ == "__main__":
    main()
