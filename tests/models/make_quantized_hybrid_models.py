#!/usr/bin/env python3
"""(Re)build tests/models/quantized_hybrid/: dynamic-range ("hybrid") models, float32
activations with constant int8 weights, for tests/test_quantized_hybrid.py.

Two sources:
- the TF converter with optimizations=[tf.lite.Optimize.DEFAULT] and no representative
  dataset (what users get): FULLY_CONNECTED with asymmetric_quantize_inputs and per-channel
  weights (several rows; keep_num_dims), CONV_2D with per-channel weights (stride, padding,
  batch 2), DEPTHWISE_CONV_2D (depth multiplier 1 and 2). The converter leaves weights of
  fewer than 1024 values float, so every layer here is at least that big.
- hand-built (HandModel, with per-channel quantization added here) for what the converter
  does not emit: FULLY_CONNECTED with symmetric input quantization
  (asymmetric_quantize_inputs false), per-tensor weights, no bias; CONV_2D with one weight
  scale (TFLite's symmetric per-tensor hybrid path).

Each case writes <case>.tflite and <case>.npz (input_0 ...): inputs of several scales and
offsets per batch row, so rows quantize differently. Run with the TF venv:
  /work/venv-tf221/bin/python tests/models/make_quantized_hybrid_models.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import HandModel, tfl_module  # noqa: E402

OUT = HERE / "quantized_hybrid"


class QHandModel(HandModel):
    """HandModel whose tensors may carry per-channel quantization: quant=(scales array,
    zero points array, axis)."""

    def _write_tensor(self, b, t, buffer_index):
        if t["quant"] is None or len(t["quant"]) != 3:
            return super()._write_tensor(b, t, buffer_index)
        Q, Tensor = tfl_module("QuantizationParameters"), tfl_module("Tensor")
        scales, zps, axis = t["quant"]
        name = b.CreateString(t["name"])
        shape = self._ivec(b, t["shape"])
        sv = b.CreateNumpyVector(np.asarray(scales, np.float32))
        zv = b.CreateNumpyVector(np.asarray(zps, np.int64))
        Q.QuantizationParametersStart(b)
        Q.QuantizationParametersAddScale(b, sv)
        Q.QuantizationParametersAddZeroPoint(b, zv)
        Q.QuantizationParametersAddQuantizedDimension(b, axis)
        q = Q.QuantizationParametersEnd(b)
        Tensor.TensorStart(b)
        Tensor.TensorAddShape(b, shape)
        Tensor.TensorAddType(b, 9)  # int8
        Tensor.TensorAddBuffer(b, buffer_index)
        Tensor.TensorAddName(b, name)
        Tensor.TensorAddQuantization(b, q)
        return Tensor.TensorEnd(b)

    def qconst(self, values: np.ndarray, scales, axis: int = 0):
        values = np.ascontiguousarray(values, np.int8)
        scales = np.atleast_1d(np.asarray(scales, np.float32))
        quant = (scales, np.zeros(scales.size, np.int64), axis)
        return self._tensor(values.shape, np.int8, data=values, quant=quant)


def rows(rng, shape) -> np.ndarray:
    """Inputs whose first-axis slices have different scales and offsets."""
    x = rng.standard_normal(shape).astype(np.float32)
    for i in range(shape[0]):
        x[i] = x[i] * rng.uniform(0.05, 8) + rng.uniform(-2, 2)
    return x.astype(np.float32)


# ---- converter models --------------------------------------------------------------------
def converter_models(rng) -> dict:
    import tensorflow as tf
    tf.random.set_seed(0)

    def convert(fn, spec):
        f = tf.function(fn, input_signature=[tf.TensorSpec(spec, tf.float32)])
        c = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        return c.convert()

    def const(*shape):
        return tf.constant((rng.standard_normal(shape) * 0.3).astype(np.float32))

    W, B = const(64, 48), const(48)
    K1, K2 = const(3, 3, 16, 24), const(5, 5, 8, 32)
    D1, D2 = const(3, 3, 128, 1), const(5, 5, 32, 2)
    return {
        "fc_rows_relu": (convert(lambda x: tf.nn.relu(tf.matmul(x, W) + B), [5, 64]), [5, 64]),
        "fc_keep_dims": (convert(lambda x: tf.matmul(x, W) + B, [2, 3, 64]), [2, 3, 64]),
        "conv_s2_same_relu6": (convert(lambda x: tf.nn.relu6(tf.nn.conv2d(x, K1, 2, "SAME") + B[:24]),
                                       [2, 11, 11, 16]), [2, 11, 11, 16]),
        "conv_valid": (convert(lambda x: tf.nn.conv2d(x, K2, 1, "VALID") + B[:32], [1, 9, 10, 8]),
                       [1, 9, 10, 8]),
        "dw_same": (convert(lambda x: tf.nn.depthwise_conv2d(x, D1, [1, 1, 1, 1], "SAME") + B[:1],
                            [1, 7, 7, 128]), [1, 7, 7, 128]),
        "dw_m2_s2_relu6": (convert(lambda x: tf.nn.relu6(tf.nn.depthwise_conv2d(x, D2, [1, 2, 2, 1], "SAME")),
                                   [2, 9, 9, 32]), [2, 9, 9, 32]),
    }


# ---- hand-built models -------------------------------------------------------------------
def _weights(rng, shape):
    return rng.integers(-127, 128, shape).astype(np.int8)


def hand_fc(rng, per_channel: bool, bias: bool, act: str) -> bytes:
    m = QHandModel()
    x = m.input([4, 40])
    units = 24
    scales = rng.uniform(0.002, 0.02, units) if per_channel else 0.01
    w = m.qconst(_weights(rng, (units, 40)), scales, 0)
    ins = [x, w]
    if bias:
        ins.append(m.const(rng.standard_normal(units).astype(np.float32)))
    y = m.output(m.tensor([4, units]))
    acts = {"NONE": 0, "RELU": 1, "RELU6": 3}
    m.op("FULLY_CONNECTED", ins, [y], "FullyConnectedOptions", version=1,
         FusedActivationFunction=acts[act], AsymmetricQuantizeInputs=False)
    return m.build()


def hand_conv(rng, act: str) -> bytes:
    m = QHandModel()
    x = m.input([2, 8, 8, 6])
    w = m.qconst(_weights(rng, (10, 3, 3, 6)), 0.013, 0)
    b = m.const(rng.standard_normal(10).astype(np.float32))
    y = m.output(m.tensor([2, 4, 4, 10]))
    acts = {"NONE": 0, "RELU": 1, "RELU6": 3}
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", version=2, Padding=0, StrideW=2, StrideH=2,
         FusedActivationFunction=acts[act], DilationWFactor=1, DilationHFactor=1)
    return m.build()


def main():
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(20240611)
    cases = {name: (data, shape) for name, (data, shape) in converter_models(rng).items()}
    cases["fc_symmetric_per_channel"] = (hand_fc(rng, True, True, "RELU"), [4, 40])
    cases["fc_symmetric_per_tensor_nobias"] = (hand_fc(rng, False, False, "NONE"), [4, 40])
    cases["conv_per_tensor_symmetric"] = (hand_conv(rng, "RELU6"), [2, 8, 8, 6])
    index = {}
    for name, (data, shape) in sorted(cases.items()):
        (OUT / f"{name}.tflite").write_bytes(data)
        np.savez(OUT / f"{name}.npz", input_0=rows(rng, shape))
        index[name] = {"input_shape": shape}
    (OUT / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
