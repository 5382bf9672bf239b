#!/usr/bin/env python3
"""(Re)build tests/models/quantized_reduce/: hand-built int8, uint8 and int16 models of the
quantized pools, reductions and softmax (dlcoder/ops/qreduce.py), for
tests/test_quantized_reduce.py. Deterministic (fixed seeds, no TensorFlow).

Each model puts several ops on one or two inputs so that one C++ compile covers them:

- pools_<dt>: AVERAGE_POOL_2D and MAX_POOL_2D, SAME and VALID padding (windows cut by the
  border), fused RELU / RELU6 / RELU_N1_TO_1, an output quantization that differs from the
  input's (TFLite pools the raw values and clamps in the output's domain).
- reduce_<dt>: MEAN over H and W of NHWC with keep_dims (TFLite's optimized kernel; 37
  channels: 32 in its vector loop, 5 in its scalar tail), the same without keep_dims, over
  negative axes, over the last axis and over two non-adjacent axes (its generic
  QuantizedMeanOrSum), with equal and differing quantizations; SUM (its float path) with
  equal and differing quantizations; REDUCE_MAX and REDUCE_MIN.
- softmax_<dt>: SOFTMAX over the last axis with beta 1 and 0.5 (the table kernel), the
  transformer_enc_int8 shape [1, 64, 128]-like rows, and a row of one value.

Rejected (TFLite refuses them too, or dlcoder does not reproduce them): cases with
"rejects" in index.json.

Inputs hold the dtype's extremes, the zero point and random values.

Usage: python3 tests/models/make_quantized_reduce_models.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import HandModel  # noqa: E402

OUT_DIR = HERE / "quantized_reduce"
I8, U8, I16, I32 = np.int8, np.uint8, np.int16, np.int32
ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
SHIFT = {I8: 0, U8: 128, I16: 0}


def q(dt, scale, zp):
    """A quantization (scale, zero point) given for int8: uint8 shifts the zero point by
    128, int16 takes zero point 0."""
    return scale, (0 if dt == I16 else zp + SHIFT[dt])


def feed(dt, shape, zp, seed):
    """Random values with the extremes and the zero point in the first rows."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dt)
    x = rng.integers(info.min, int(info.max) + 1, size=shape).astype(dt)
    flat = x.reshape(-1)
    k = shape[-1]
    flat[:k] = info.min
    flat[k:2 * k] = info.max
    flat[2 * k:3 * k] = zp
    flat[3 * k:4 * k:2] = info.min
    return x


def _out(m, shape, dt, quant):
    return m.output(m._tensor(shape, dt, quant=quant))


def pools(dt):
    m = HandModel()
    qa = q(dt, 0.1, -3)
    qb = q(dt, 0.05, 7)
    x = m.input((2, 9, 10, 20), dt, quant=qa)
    specs = [  # (op, filter, stride, padding (0 SAME, 1 VALID), activation, out quant)
        ("AVERAGE_POOL_2D", 3, 2, 0, "NONE", qa), ("AVERAGE_POOL_2D", 4, 3, 0, "RELU6", qb),
        ("AVERAGE_POOL_2D", 2, 2, 1, "RELU", qa), ("AVERAGE_POOL_2D", 5, 1, 0, "RELU_N1_TO_1", qb),
        ("MAX_POOL_2D", 3, 2, 0, "NONE", qa), ("MAX_POOL_2D", 2, 2, 1, "RELU6", qb),
        ("MAX_POOL_2D", 4, 3, 0, "RELU", qa)]
    for op, f, s, pad, act, qo in specs:
        oh = (9 + s - 1) // s if pad == 0 else (9 - f + s) // s
        ow = (10 + s - 1) // s if pad == 0 else (10 - f + s) // s
        y = _out(m, (2, oh, ow, 20), dt, qo)
        m.op(op, [x], [y], "Pool2DOptions", Padding=pad, StrideW=s, StrideH=s, FilterWidth=f,
             FilterHeight=f, FusedActivationFunction=ACT[act])
    return m, [feed(dt, (2, 9, 10, 20), qa[1], 1)]


def reduce(dt):
    m = HandModel()
    qa = q(dt, 0.1, -3)
    x = m.input((2, 5, 4, 37), dt, quant=qa)
    x3 = m.input((3, 6, 130), dt, quant=q(dt, 0.04, 11))
    specs = [  # (op, input, axes, keep_dims, out quant)
        ("MEAN", x, [1, 2], True, q(dt, 0.07, 5)), ("MEAN", x, [2, 1], True, qa),
        ("MEAN", x, [1, 2], False, q(dt, 0.3, -9)), ("MEAN", x, [-3, -2], True, q(dt, 0.07, 5)),
        ("MEAN", x, [0, 3], True, q(dt, 0.02, 1)), ("MEAN", x3, [-1], True, q(dt, 0.01, -20)),
        ("MEAN", x3, [1], False, q(dt, 0.04, 11)),
        ("SUM", x, [1, 2], True, q(dt, 1.7, -4)), ("SUM", x3, [2], False, q(dt, 0.04, 11)),
        ("SUM", x, [3], False, q(dt, 0.5, 2)),
        ("REDUCE_MAX", x, [1, 2], True, qa), ("REDUCE_MIN", x, [0, 3], False, qa),
        ("REDUCE_MAX", x3, [-1], False, q(dt, 0.04, 11))]
    shapes = {x: (2, 5, 4, 37), x3: (3, 6, 130)}
    for op, t, axes, keep, qo in specs:
        shp = shapes[t]
        ax = {a % len(shp) for a in axes}
        osh = [1 if i in ax else d for i, d in enumerate(shp)] if keep else \
            [d for i, d in enumerate(shp) if i not in ax]
        y = _out(m, osh, dt, qo)
        m.op(op, [t, m.const(np.array(axes, I32))], [y], "ReducerOptions", KeepDims=keep)
    return m, [feed(dt, (2, 5, 4, 37), qa[1], 2), feed(dt, (3, 6, 130), q(dt, 0.04, 11)[1], 3)]


def softmax(dt):
    m = HandModel()
    qo = (1 / 256, -128 if dt == I8 else 0)
    specs = [((4, 7, 33), q(dt, 0.1, 5), 1.0), ((64, 128), q(dt, 0.04125519, -20), 1.0),
             ((5, 300), q(dt, 0.02, 0), 0.5), ((3, 1), q(dt, 0.5, 0), 1.0), ((6, 10), q(dt, 0.3, -1), 2.0)]
    feeds = []
    for k, (shape, qi, beta) in enumerate(specs):
        x = m.input(shape, dt, quant=qi)
        y = _out(m, shape, dt, qo)
        m.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=beta)
        feeds.append(feed(dt, shape, qi[1], 10 + k))
    return m, feeds


def rejected():
    """(name, build, what TFLite says, what dlcoder says)."""
    def max_params_differ():
        m = HandModel()
        x = m.input((2, 3), I8, quant=(0.5, 1))
        y = _out(m, (2,), I8, (0.25, 1))
        m.op("REDUCE_MAX", [x, m.const(np.array([1], I32))], [y], "ReducerOptions", KeepDims=False)
        return m, [feed(I8, (2, 3), 1, 4)]

    def softmax_out_scale():
        m = HandModel()
        x = m.input((2, 3), I8, quant=(0.5, 1))
        y = _out(m, (2, 3), I8, (1 / 128, -128))
        m.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
        return m, [feed(I8, (2, 3), 1, 5)]
    return [("reduce_max_params_differ", max_params_differ, "params.scale", "quantizations differ"),
            ("softmax_int8_out_scale", softmax_out_scale, "output->params.scale", "scale 1/256")]


def main():
    OUT_DIR.mkdir(exist_ok=True)
    index = {}
    builds = [(f"{name}_{np.dtype(dt).name}", lambda f=f, dt=dt: f(dt))
              for name, f in (("pools", pools), ("reduce", reduce), ("softmax", softmax))
              for dt in ((I8, U8, I16) if name != "softmax" else (I8, U8))]
    for name, build in builds:
        m, feeds = build()
        (OUT_DIR / f"{name}.tflite").write_bytes(m.build())
        np.savez(OUT_DIR / f"{name}.npz", **{f"input_{k}": a for k, a in enumerate(feeds)})
        index[name] = {}
    for name, build, rejects, ours in rejected():
        m, feeds = build()
        (OUT_DIR / f"{name}.tflite").write_bytes(m.build())
        np.savez(OUT_DIR / f"{name}.npz", **{f"input_{k}": a for k, a in enumerate(feeds)})
        index[name] = {"rejects": rejects, "dlcoder": ours}
    (OUT_DIR / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
