#!/usr/bin/env python3
"""(Re)build tests/models/quantized_unary/: hand-built int8 and uint8 models of the
elementwise unary ops dlcoder computes with 256-entry tables (dlcoder/ops/qunary.py), for
tests/test_quantized_unary.py.

Each model holds one input of shape [1, 256] with every byte value, and one op per output
reading it (so one C++ compile covers many ops), with scales and zero points that are not
round numbers; LOGISTIC has the output TFLite requires (1/256, the dtype's minimum as zero
point), one TANH the converter's (1/128, zero point 0 / 128). RSQRT reads a second input
of zero point -128, so that every int8 value is valid for it (TFLite fails on values below
the zero point). The PRELU models broadcast a constant alpha over a block of channels.

Writes <name>.tflite and <name>.npz (input_0, ...). Deterministic.

Usage: python3 tests/models/make_quantized_unary_models.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import HandModel  # noqa: E402

OUT_DIR = HERE / "quantized_unary"


def all_bytes(dt):
    return np.arange(256).astype(np.uint8).view(dt).reshape(1, 256) if dt == np.int8 else \
        np.arange(256, dtype=np.uint8).reshape(1, 256)


def unary_model(dt):
    """Every unary op of dtype dt on one input of scale 0.0473, zero point 11 (int8) / 139."""
    zp = 11 if dt == np.int8 else 139
    lo = -128 if dt == np.int8 else 0
    qin = (0.0473, zp)
    m = HandModel()
    x = m.input((1, 256), dt, quant=qin)

    def op(name, qout, opts=None, src=x, **kw):
        y = m.output(m._tensor((1, 256), dt, quant=qout))
        m.op(name, [src], [y], opts, **kw)

    op("LOGISTIC", (1 / 256, lo))
    op("TANH", (1 / 128, 0 if dt == np.int8 else 128))
    op("TANH", (0.0061, zp - 20))
    op("GELU", (0.0231, -90 if dt == np.int8 else 30), "GeluOptions", Approximate=False)
    op("GELU", (0.0199, -100 if dt == np.int8 else 20), "GeluOptions", Approximate=True)
    op("HARD_SWISH", (0.0271, -70 if dt == np.int8 else 50))
    op("RELU", (0.0301, -5 if dt == np.int8 else 120))
    op("RELU6", (0.0239, -128 if dt == np.int8 else 0))
    op("RELU_N1_TO_1", (0.0089, 3 if dt == np.int8 else 131))
    op("LEAKY_RELU", (0.0381, 7 if dt == np.int8 else 135), "LeakyReluOptions", Alpha=0.1)
    op("LEAKY_RELU", (0.0519, -2 if dt == np.int8 else 126), "LeakyReluOptions", Alpha=-1.7)
    inputs = [all_bytes(dt)]
    if dt == np.int8:
        op("ELU", (0.0313, 30))
        op("ABS", (0.0277, -120))
        op("ABS", qin)
        op("NEG", (0.11, -3))
        r = m.input((1, 256), dt, quant=(0.0137, -128))
        op("RSQRT", (0.0571, -100), src=r)
        inputs.append(all_bytes(dt)[:, ::-1].copy())
    return m, inputs


def prelu_model(dt, x_shape, alpha):
    zp = -9 if dt == np.int8 else 121
    m = HandModel()
    x = m.input(x_shape, dt, quant=(0.0421, zp))
    a = m._tensor(alpha.shape, dt, data=alpha, quant=(0.0117, 4 if dt == np.int8 else 132))
    y = m.output(m._tensor(x_shape, dt, quant=(0.0329, 17 if dt == np.int8 else 140)))
    m.op("PRELU", [x, a], [y])
    n = int(np.prod(x_shape))
    values = np.resize(all_bytes(dt).ravel(), n)
    return m, [np.random.default_rng(7).permutation(values).reshape(x_shape)]


def models():
    rng = np.random.default_rng(3)
    yield "unary_int8", unary_model(np.int8)
    yield "unary_uint8", unary_model(np.uint8)
    yield "prelu_int8_last_axis", prelu_model(
        np.int8, (1, 4, 8, 16), rng.integers(-128, 128, (1, 1, 16)).astype(np.int8))
    yield "prelu_uint8_middle_block", prelu_model(
        np.uint8, (2, 4, 8, 16), rng.integers(0, 256, (4, 8, 1)).astype(np.uint8))


def main():
    OUT_DIR.mkdir(exist_ok=True)
    for name, (m, inputs) in models():
        (OUT_DIR / f"{name}.tflite").write_bytes(m.build())
        np.savez(OUT_DIR / f"{name}.npz", **{f"input_{k}": v for k, v in enumerate(inputs)})
        print("wrote", name)


if __name__ == "__main__":
    main()
