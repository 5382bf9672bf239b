"""Models of tests/test_quantized_misc.py that the TFLite converter makes: a matmul by a
constant under dynamic-range quantization, which the converter emits as a hybrid
BATCH_MATMUL (float lhs, int8 rhs). Run with the TF venv:

    /work/venv-tf221/bin/python tests/models/make_quantized_misc_models.py
"""
from pathlib import Path

import numpy as np
import tensorflow as tf

OUT = Path(__file__).resolve().parent / "quantized_misc"


def _convert(fn, specs, name):
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function(*specs)], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]          # dynamic-range quantization
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.tflite").write_bytes(conv.convert())


def main():
    rng = np.random.default_rng(0)
    w3 = tf.constant(rng.standard_normal((3, 48, 40)).astype(np.float32))

    @tf.function
    def bmm_batched(x):
        return tf.matmul(x, w3)
    _convert(bmm_batched, [tf.TensorSpec((3, 7, 48), tf.float32)], "hybrid_bmm_batched")

    @tf.function
    def bmm_broadcast(x):
        return tf.matmul(x, w3)
    _convert(bmm_broadcast, [tf.TensorSpec((2, 1, 5, 48), tf.float32)], "hybrid_bmm_broadcast")

if __name__ == "__main__":
    main()
