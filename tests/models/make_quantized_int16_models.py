"""int16x8 models from the TF converter (EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
int16 input and output) for tests/test_quantized_int16.py, with their .npz inputs.

Run with the TF venv: /work/venv-tf221/bin/python tests/models/make_quantized_int16_models.py
"""
import os

import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quantized_int16")


def _convert(model, shape, seed):
    rng = np.random.default_rng(seed)

    def rep():
        for _ in range(32):
            yield [rng.normal(0, 1, (1,) + shape).astype(np.float32)]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    conv.inference_input_type = tf.int16
    conv.inference_output_type = tf.int16
    return conv.convert()


def _save(name, blob, shape, seed):
    path = os.path.join(OUT, name + ".tflite")
    with open(path, "wb") as f:
        f.write(blob)
    interp = tf.lite.Interpreter(model_path=path)
    d = interp.get_input_details()[0]
    scale, zp = d["quantization"]
    rng = np.random.default_rng(seed + 100)
    x = np.clip(np.round(rng.normal(0, 1.5, (1,) + shape) / scale) + zp, -32768, 32767).astype(np.int16)
    x.reshape(-1)[:3] = [-32768, 32767, 0]
    np.savez(os.path.join(OUT, name + ".npz"), input_0=x)


def cnn():
    shape = (10, 10, 3)
    inp = tf.keras.Input(shape, batch_size=1)
    h = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    h = tf.keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)(h)
    h = tf.keras.layers.Conv2D(12, 1, activation="relu6")(h)
    h = tf.keras.layers.Flatten()(h)
    h = tf.keras.layers.Dense(24, activation="tanh")(h)
    h = tf.keras.layers.Dense(16, activation="sigmoid")(h)
    out = tf.keras.layers.Dense(10, activation="softmax")(h)
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model, shape


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    model, shape = cnn()
    _save("int16x8_cnn", _convert(model, shape, 0), shape, 0)
