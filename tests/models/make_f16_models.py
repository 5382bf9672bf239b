#!/usr/bin/env python3
"""(Re)build tests/models/f16/: small float models whose weights the converter stores as
float16 (converter.target_spec.supported_types = [tf.float16]), each weight a float16
constant and a DEQUANTIZE, as MediaPipe's and many mobile models are. tests/test_f16_weights.py
and tests/test_size_budget.py read them.

- f16_conv_net: every CONV_2D path (3x3 implicit GEMM, 1x1 GEMM, Winograd, a narrow conv
  with few output channels, padded short rows), a depthwise conv and a FULLY_CONNECTED.
- f16_mlp: FULLY_CONNECTED layers on a batch of 3, widths off the 16-column panels; the
  first layer's weights include the halves' edge values (zeros, subnormals, the largest).

Usage: /work/venv-tf221/bin/python tests/models/make_f16_models.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

OUT = Path(__file__).resolve().parent / "f16"
# zeros, subnormal halves (the smallest, 2^-20), the smallest normal one, the largest
EDGE_HALVES = np.array([0.0, -0.0, 2.0**-24, -(2.0**-20), 2.0**-14, 65504.0, -65504.0], np.float32)


def conv_net() -> tf.keras.Model:
    L = tf.keras.layers
    x = inp = L.Input((24, 24, 8), batch_size=1)
    x = L.Conv2D(24, 3, padding="same", activation="relu")(x)          # implicit GEMM
    x = L.Conv2D(32, 3, padding="same", activation="relu6")(x)         # Winograd (24 -> 32, 24x24)
    x = L.Conv2D(20, 1)(x)                                              # 1x1 GEMM, 20 columns
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = L.Conv2D(6, 3, padding="same")(x)                               # narrow: 6 outputs
    x = L.Conv2D(40, 3, strides=2, padding="same", activation="relu")(x)  # short padded rows
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10)(x)
    return tf.keras.Model(inp, x)


def mlp() -> tf.keras.Model:
    L = tf.keras.layers
    x = inp = L.Input((40,), batch_size=3)
    x = L.Dense(72, activation="relu")(x)
    x = L.Dense(33, activation="tanh")(x)
    x = L.Dense(5)(x)
    return tf.keras.Model(inp, x)


def convert(model: tf.keras.Model, name: str) -> None:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    (OUT / f"{name}.tflite").write_bytes(conv.convert())


def main() -> None:
    tf.keras.utils.set_random_seed(7)
    OUT.mkdir(exist_ok=True)
    for name, make in (("f16_conv_net", conv_net), ("f16_mlp", mlp)):
        model = make()
        # larger than Keras's initial weights, and biases that are not zero
        weights = [w + np.random.default_rng(1).normal(0, 0.3, w.shape).astype(np.float32)
                   for w in model.get_weights()]
        if name == "f16_mlp":
            weights[0][0, :len(EDGE_HALVES)] = EDGE_HALVES
        model.set_weights(weights)
        convert(model, name)
        print("wrote", OUT / f"{name}.tflite")


if __name__ == "__main__":
    main()
