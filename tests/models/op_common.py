"""What every op-model generator shares when it *defines* cases: TFLite enum shorthands,
the per-case seeding, the random input and weight helpers, and the case registry
(`T` for TensorFlow-converted cases, `H` for hand-built flatbuffers).

No TensorFlow at import time: tests import the hand-model builder through make_op_models.py
without it. Building and verifying the registered cases is op_build.py's job.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

# TFLite enum shorthands ------------------------------------------------------
NONE, RELU, RELU_N1_TO_1, RELU6, TANH = 0, 1, 2, 3, 4  # ActivationFunctionType
SAME, VALID = 0, 1  # Padding
REFLECT, SYMMETRIC = 0, 1  # MirrorPadMode


# =============================================================================
# Per-case random state and input / weight helpers
# =============================================================================
class _Rng:
    data = np.random.default_rng(0)  # sample inputs
    weights = np.random.default_rng(1)  # constant weights


def seed(name):
    """Seed both streams from the case name: every case is reproducible on its own."""
    s = zlib.crc32(name.encode())
    _Rng.data = np.random.default_rng(s)
    _Rng.weights = np.random.default_rng(s ^ 0x5EED)


def randn(*shape, scale=1.0):
    """Standard-normal float32 sample input."""
    return (_Rng.data.standard_normal(shape) * scale).astype(np.float32)


def unif(lo, hi, *shape):
    return _Rng.data.uniform(lo, hi, shape).astype(np.float32)


def away0(*shape, lo=0.5, hi=2.0):
    """Float values with |v| in [lo, hi] and random sign (divisors)."""
    sign = np.where(_Rng.data.random(shape) < 0.5, -1.0, 1.0)
    return (sign * _Rng.data.uniform(lo, hi, shape)).astype(np.float32)


def grid(*shape, lo=-2.0, hi=2.0, step=0.5):
    """Floats on a coarse grid, so that exact ties / equal elements occur."""
    n = int(round((hi - lo) / step)) + 1
    return (lo + step * _Rng.data.integers(0, n, shape)).astype(np.float32)


def ints(lo, hi, *shape, dtype=np.int32):
    """Integers in [lo, hi]."""
    return _Rng.data.integers(lo, hi + 1, shape).astype(dtype)


def bools(*shape):
    return _Rng.data.random(shape) < 0.5


def W(*shape, fan_in=None, scale=None):
    """Constant float32 weights; default scale 1/sqrt(fan_in) keeps outputs ~unit scale."""
    if scale is None:
        if fan_in is None:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        scale = 1.0 / np.sqrt(max(fan_in, 1))
    return (_Rng.weights.standard_normal(shape) * scale).astype(np.float32)


def Wpos(*shape, lo=0.1, hi=0.9):
    return _Rng.weights.uniform(lo, hi, shape).astype(np.float32)


# =============================================================================
# Case registry
# =============================================================================
@dataclass
class Case:
    name: str
    ops: tuple  # builtin ops that MUST be present
    why: str
    inputs: Optional[Callable] = None  # () -> list of np arrays (TF cases: fn arg order)
    fn: Optional[Callable] = None  # TF cases: fn(*tf_tensors) -> tensor(s)
    make: Optional[Callable] = None  # TF cases: () -> fn (e.g. builds Keras layers first)
    hand: Optional[Callable] = None  # hand-built: () -> (HandModel, [inputs in model order])
    expect: dict = field(default_factory=dict)  # {op: {Option: value}} on some op of that type
    allow_const: bool = False  # output may legitimately be constant
    fp16: bool = False  # convert with float16 weight quantization


CASES = {}  # name -> Case, in registration order; filled by a generator's define()


def T(name, ops, why, inputs, fn=None, *, make=None, expect=None, allow_const=False, fp16=False):
    """Register a TensorFlow-converted case."""
    assert name not in CASES, name
    CASES[name] = Case(name, tuple(ops), why, inputs=inputs, fn=fn, make=make,
                       expect=expect or {}, allow_const=allow_const, fp16=fp16)


def H(name, ops, why, hand, *, expect=None, allow_const=False):
    """Register a hand-built case; hand() -> (HandModel, [inputs in model input order])."""
    assert name not in CASES, name
    CASES[name] = Case(name, tuple(ops), "[hand-built] " + why, hand=hand,
                       expect=expect or {}, allow_const=allow_const)


def collect(define):
    """The cases that `define()` registers, in order (the registry is left holding them)."""
    CASES.clear()
    define()
    return dict(CASES)


def apply_act(y, act_name):
    """Apply an activation the converter fuses into the preceding op."""
    import tensorflow as tf
    if act_name is None:
        return y
    return {"relu": tf.nn.relu, "relu6": tf.nn.relu6,
            "relu_n1_to_1": lambda t: tf.clip_by_value(t, -1.0, 1.0)}[act_name](y)


ACT_CODE = {None: NONE, "relu": RELU, "relu6": RELU6, "relu_n1_to_1": RELU_N1_TO_1}
