"""Rebuild the models of the output-contract tests (tests/test_contract.py, tests/golden/).

Run: python3 tests/models/make_contract_models.py   (needs tensorflow-cpu)
Out: tests/models/contract/*.tflite
"""
import os

import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contract")


def convert(module, fn, name):
    c = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], module)
    data = c.convert()
    with open(os.path.join(OUT, name + ".tflite"), "wb") as f:
        f.write(data)


class MultiIO(tf.Module):
    """Two inputs, three outputs: a conv feature map that is also consumed later, a RESHAPE
    of an intermediate (an alias written straight into the caller's buffer), and int32
    class ids."""

    def __init__(self):
        rng = np.random.default_rng(3)
        self.w = tf.constant(rng.standard_normal((3, 3, 3, 8)).astype(np.float32) * 0.3)
        self.b = tf.constant(rng.standard_normal(8).astype(np.float32) * 0.1)
        self.fc = tf.constant(rng.standard_normal((8, 5)).astype(np.float32) * 0.5)

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32, name="sensor_left_image"),
                                  tf.TensorSpec([1, 5], tf.float32, name="sensor_right_bias")])
    def __call__(self, image, bias):
        feat = tf.nn.relu(tf.nn.conv2d(image, self.w, 1, "SAME") + self.b)
        pooled = tf.reduce_mean(feat, axis=[1, 2])
        logits = tf.matmul(pooled, self.fc) + bias
        scores = tf.reshape(logits * 2.0, [5, 1])
        ids = tf.argmax(logits, axis=1, output_type=tf.int32)
        return {"feature_map_output": feat, "scores_output": scores, "class_ids_output": ids}


class Tiny(tf.Module):
    """The smallest useful model: one dense layer with a fused RELU."""

    def __init__(self):
        rng = np.random.default_rng(4)
        self.w = tf.constant(rng.standard_normal((4, 3)).astype(np.float32))
        self.b = tf.constant(np.array([0.1, -0.2, 0.3], np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x")])
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


def main():
    os.makedirs(OUT, exist_ok=True)
    m = MultiIO()
    convert(m, m.__call__, "multi_io")
    t = Tiny()
    convert(t, t.__call__, "tiny_dense")


if __name__ == "__main__":
    main()
