"""Hand-built int8 / uint8 CONV_2D cases side by side in one model, and the byte-for-byte
check of our outputs against TFLite's builtin kernels: the path tests of the quantized
convolution kernels (test_qstem_paths, test_qkxk_paths) share them.

A case is (dtype, input shape, out_c, (k_h, k_w), (stride_h, stride_w), (dil_h, dil_w),
SAME, per_channel, quant, fused activation), quant being (input (scale, zero point), output
(scale, zero point), weight scale).
"""
import numpy as np

import test_quantized_linear as TQL
from dlcoder import verify as V
from support import byte_mismatches, run_ours

I8 = ((0.05, -3), (0.3, 7), 0.004)
RELU = ((0.05, -3), (0.2, -128), 0.004)
U8 = ((0.05, 120), (0.3, 128), 0.006)


def out_size(n, k, s, d, same):
    return -(-n // s) if same else (n - (k - 1) * d - 1) // s + 1


def add_conv(m, rng, dt, xs, oc, kern, stride, dil, same, pc, quant, act):
    """One case's CONV_2D in HandModel m, with random weights and bias; returns its input."""
    (qx, qy, ws) = quant
    x = m.input(xs, dt, quant=qx)
    if dt == np.int8:
        w = rng.integers(-127, 128, (oc, *kern, xs[3])).astype(np.int8)
        qw = ((rng.uniform(0.5, 2.0, oc) * ws).astype(np.float32), np.zeros(oc, np.int64), 0) if pc else (ws, 0)
    else:
        w = rng.integers(0, 256, (oc, *kern, xs[3])).astype(np.uint8)
        qw = (ws, 131)
    scale = np.asarray(qw[0], np.float32) * np.float32(qx[0])
    b = m.const(rng.integers(-3000, 3000, oc).astype(np.int32), quant=(scale, np.zeros(np.size(scale), np.int64), 0))
    oh = out_size(xs[1], kern[0], stride[0], dil[0], same)
    ow = out_size(xs[2], kern[1], stride[1], dil[1], same)
    y = m.output(m._tensor([xs[0], oh, ow, oc], dt, quant=qy))
    m.op("CONV_2D", [x, m.const(w, quant=qw), b], [y], "Conv2DOptions", Padding=0 if same else 1,
         StrideH=stride[0], StrideW=stride[1], DilationHFactor=dil[0], DilationWFactor=dil[1],
         FusedActivationFunction=act)
    return TQL._input(rng, dt, xs, qx[1])


def build(path, cases: dict, seed: int) -> list:
    """Every case of `cases` (name: case) in one model at path; returns the inputs."""
    m, rng = TQL.HandModel(), np.random.default_rng(seed)
    inputs = [add_conv(m, rng, *case) for case in cases.values()]
    path.write_bytes(m.build())
    return inputs


def check(path, inputs, names, work, flags=("-O2",), threads=1):
    """Our outputs are TFLite's builtin kernels' byte for byte; names label the outputs."""
    ours, _, _ = run_ours(path, inputs, work, flags=flags, threads=threads)
    refs, _ = V.reference_run(str(path), inputs)
    problems = byte_mismatches(list(names), ours, refs)
    assert not problems, "\n".join(problems)
