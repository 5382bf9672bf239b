"""Builds the small models that the Bazel examples compile (run from anywhere):

    python3 examples/make_example_models.py

stripes/stripes.tflite  an image classifier: 24x24 grayscale -> one of four patterns
                        (horizontal stripes, vertical stripes, diagonal stripes, checkerboard),
                        a small CNN trained here on generated pictures.
vector/vector.tflite    two inputs, three outputs, with weights set by hand so a person can
                        check the numbers: a + b, the dot product a.b and the means of a and b.

Seeds are fixed; TensorFlow's training is not bit-exact across machines, so a rerun may change
the stripes model's bytes (not its behaviour). Needs tensorflow (2.x, Keras 3).
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 24
CLASSES = ["horizontal stripes", "vertical stripes", "diagonal stripes", "checkerboard"]


def pattern(kind: int, period: float, phase: float) -> np.ndarray:
    """The same drawing as examples/stripes/main.cc: values in [0, 1]."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    wave = lambda t: (np.sin(2 * np.pi * t / period + phase) > 0).astype(np.float32)  # noqa: E731
    if kind == 0:
        return wave(y)
    if kind == 1:
        return wave(x)
    if kind == 2:
        return wave((x + y) / np.sqrt(2))
    return np.abs(wave(x) - wave(y))


def stripes_data(n: int, rng: np.random.Generator):
    labels = rng.integers(0, len(CLASSES), n)
    images = np.stack([
        pattern(k, rng.uniform(3, 9), rng.uniform(0, 2 * np.pi)) * rng.uniform(0.5, 1.0)
        + rng.normal(0, 0.15, (SIZE, SIZE)) for k in labels
    ]).astype(np.float32)
    return images[..., None], labels


def make_stripes(path: str) -> None:
    rng = np.random.default_rng(0)
    tf.keras.utils.set_random_seed(0)
    x, y = stripes_data(4000, rng)
    model = tf.keras.Sequential([
        tf.keras.Input((SIZE, SIZE, 1), batch_size=1, name="image"),
        tf.keras.layers.Conv2D(8, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Conv2D(16, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(len(CLASSES)),
        tf.keras.layers.Softmax(name="probabilities"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=4, verbose=0)
    xt, yt = stripes_data(400, rng)
    acc = float(np.mean(np.argmax(model.predict(xt, batch_size=1, verbose=0), -1) == yt))
    print(f"stripes: test accuracy {acc:.3f}")
    write(path, tf.lite.TFLiteConverter.from_keras_model(model).convert())


def make_vector(path: str) -> None:
    a = tf.keras.Input((4,), batch_size=1, name="a")
    b = tf.keras.Input((4,), batch_size=1, name="b")
    total = tf.keras.layers.Add(name="sum")([a, b])
    dot = tf.keras.layers.Lambda(lambda t: tf.reduce_sum(t[0] * t[1], axis=-1, keepdims=True),
                                 name="dot")([a, b])
    means = tf.keras.layers.Dense(2, use_bias=False, name="means")(
        tf.keras.layers.Concatenate()([a, b]))
    model = tf.keras.Model([a, b], [total, dot, means])
    w = np.zeros((8, 2), np.float32)
    w[:4, 0] = w[4:, 1] = 0.25
    model.get_layer("means").set_weights([w])
    write(path, tf.lite.TFLiteConverter.from_keras_model(model).convert())


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {os.path.relpath(path)} ({len(data)} bytes)")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    os.makedirs(os.path.join(out, "stripes"), exist_ok=True)
    os.makedirs(os.path.join(out, "vector"), exist_ok=True)
    make_stripes(os.path.join(out, "stripes", "stripes.tflite"))
    make_vector(os.path.join(out, "vector", "vector.tflite"))
