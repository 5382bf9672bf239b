#!/usr/bin/env python3
"""(Re)build tests/models/cast/: CAST from and to complex64 (tests/test_cast_complex.py).

TFLite's cast.cc takes the real part of a complex64 for every other dtype (bool too) and
makes a complex64 of any value with imaginary part 0. A float32 input cast to complex64
and on to each dtype, each dtype cast to complex64 and back to float32, and a complex64
model input and output (its imaginary parts not 0). tf.cast of a complex to a real dtype would convert to REAL,
so those casts are tf.raw_ops.Cast, which converts to CAST. Two audio-front-end chains put
the casts where BirdNET-like models have them: an RFFT2D spectrum (imaginary parts not 0)
cast to its real part, and a real signal cast to complex64 for COMPLEX_ABS.

The machinery is make_op_models.py's `T` and `build_into`; each case writes <case>.tflite,
<case>.npz and an entry in cast/cases.json.

Usage
  python3 tests/models/make_cast_models.py              # rebuild every case
  python3 tests/models/make_cast_models.py int8         # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import T, randn  # noqa: E402

OUT_DIR = HERE / "cast"
# the dtypes dlcoder holds besides complex64, with the range of their sample values
RANGES = {"float32": None, "int32": (-1000, 1000), "int64": (-2**40, 2**40),
          "int16": (-3000, 3000), "int8": (-128, 127), "uint8": (0, 255), "bool": (0, 1)}


def sample(dtype, *shape):
    """Floats on a grid of halves with a 0 among them (-> bool), or integers in range."""
    if RANGES[dtype] is None:
        x = mop.grid(*shape, lo=-150, hi=150, step=2.5)
        x.flat[0] = 0
        return x
    lo, hi = RANGES[dtype]
    return mop.ints(lo, hi, *shape, dtype=np.int64).astype(dtype)


def define_cases():
    import tensorflow as tf
    for name in RANGES:
        dtype = tf.as_dtype(name)
        T(f"cast_float_complex_{name}", ["CAST"], f"float32 [3,4] -> complex64 -> {name}",
          lambda: [sample("float32", 3, 4)],
          lambda x, d=dtype: tf.raw_ops.Cast(x=tf.cast(x, tf.complex64), DstT=d))
        if name != "float32":
            T(f"cast_{name}_complex_float", ["CAST"], f"{name} [3,4] -> complex64 -> float32",
              lambda n=name: [sample(n, 3, 4)],
              lambda x: tf.raw_ops.Cast(x=tf.cast(x, tf.complex64), DstT=tf.float32))
    T("cast_complex_input_float", ["CAST"], "complex64 input [3,4] -> float32 (its real part)",
      lambda: [(sample("float32", 3, 4) + 1j * sample("float32", 3, 4)[::-1]).astype(np.complex64)],
      lambda x: tf.raw_ops.Cast(x=x, DstT=tf.float32))
    T("cast_float_complex_output", ["CAST"], "float32 [3,4] -> a complex64 output",
      lambda: [sample("float32", 3, 4)], lambda x: tf.cast(x, tf.complex64))
    T("rfft_cast_real", ["RFFT2D", "CAST"], "RFFT of [2,16] frames, CAST to float32, times 0.5",
      lambda: [randn(2, 16)], lambda x: tf.raw_ops.Cast(x=tf.signal.rfft(x), DstT=tf.float32) * 0.5)
    T("cast_to_complex_abs", ["CAST", "COMPLEX_ABS"], "float [2,6] -> complex64 -> |.|, plus x",
      lambda: [randn(2, 6)], lambda x: tf.abs(tf.cast(x, tf.complex64)) + x)


def main(argv=None):
    return mop.build_into(OUT_DIR, define_cases, argv)


if __name__ == "__main__":
    sys.exit(main())
