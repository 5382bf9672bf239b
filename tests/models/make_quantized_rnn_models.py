#!/usr/bin/env python3
"""(Re)build tests/models/quantized_rnn/: quantized UNIDIRECTIONAL_SEQUENCE_LSTM models for
tests/test_quantized_rnn.py.

Dynamic-range ("hybrid") LSTMs: float32 sequence, states and biases, int8 weights with one
scale per tensor (peepholes and projection too), the option asymmetric_quantize_inputs on or
off. Hand-built (HandModel): the TF converter in /work/venv-tf221 (TF 2.21, Keras 3) lowers a
Keras LSTM to a WHILE loop, not to the fused op, with or without quantization (Keras 3 has no
`_implements` LSTM function the converter fuses), so it cannot make these.

Full-integer ("8x8_16") LSTMs, int8_*: int8 sequence, weights, output state and output,
int16 cell state (a power-of-two scale) and peepholes, int32 biases, and the operator's five
intermediate tensors (HandModel's `intermediates=`; TFLite reads the hidden state's scale and
zero point from the fifth; the gates' are Q3.12 without layer normalisation). Weight and
operand scales are powers of two in most cases, so that requantization lands on exact ties
(TFLite rounds them half away from zero, its portable kernels); the sequences hold the int8
extremes -128 and 127 in a full time step.

The hybrid cases: batch 1 and 3, batch-major and time-major, 5 to 9 steps, 8 to 24 cells, CIFG,
peephole connections, a projection with and without bias, cell and projection clipping that
are hit, layer normalisation. Sequences have batch rows of different scales and offsets and
an all-zero time step (TFLite then skips the input product). Each case writes <case>.tflite,
<case>.npz (input_0) and an entry in index.json. Run with any Python that has `tflite`
and ai_edge_litert:
  python3 tests/models/make_quantized_rnn_models.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import HandModel  # noqa: E402

OUT = HERE / "quantized_rnn"
TANH, RELU6 = 4, 3


def _qweights(m, rng, shape, fan_in, spread=1.0):
    """int8 weights of one scale, whose values are about N(0, spread / fan_in)."""
    scale = np.float32(spread * 3.0 / (127.0 * np.sqrt(fan_in)))
    w = np.clip(np.round(rng.standard_normal(shape) * 127 / 3), -127, 127).astype(np.int8)
    return m.const(w, quant=(float(scale), 0))


def _sequence(rng, shape, time_major: bool) -> np.ndarray:
    x = rng.standard_normal(shape).astype(np.float32)
    batch_axis = 1 if time_major else 0
    for b in range(shape[batch_axis]):
        sl = (slice(None), b) if time_major else (b,)
        x[sl] = x[sl] * rng.uniform(0.2, 3.0) + rng.uniform(-1.0, 1.0)
    # one all-zero time step (every batch row): TFLite skips that step's input product
    if time_major:
        x[2] = 0.0
    else:
        x[:, 2] = 0.0
    return x.astype(np.float32)


def hybrid_lstm(rng, batch, steps, n_input, n_cell, n_output=None, *, asymmetric=True,
                time_major=False, cifg=False, peephole=False, projection=False, proj_bias=True,
                layer_norm=False, act=TANH, cell_clip=0.0, proj_clip=0.0, spread=1.0):
    n_output = n_output if projection else n_cell
    m = HandModel()
    shape = (steps, batch, n_input) if time_major else (batch, steps, n_input)
    x = _sequence(rng, shape, time_major)
    ins = [m.input(shape)]
    for g in range(4):   # input-to-gate weights
        ins.append(-1 if cifg and g == 0 else _qweights(m, rng, (n_cell, n_input), n_input, spread))
    for g in range(4):   # recurrent weights
        ins.append(-1 if cifg and g == 0 else _qweights(m, rng, (n_cell, n_output), n_output))
    for g in range(3):   # peepholes: input, forget, output
        ins.append(_qweights(m, rng, (n_cell,), 4) if peephole and not (cifg and g == 0) else -1)
    for g in range(4):   # biases
        ins.append(-1 if cifg and g == 0 else
                   m.const((rng.standard_normal(n_cell) * 0.5 + (1.0 if g == 1 else 0.0)).astype(np.float32)))
    ins.append(_qweights(m, rng, (n_output, n_cell), n_cell) if projection else -1)
    ins.append(m.const((rng.standard_normal(n_output) * 0.2).astype(np.float32))
               if projection and proj_bias else -1)
    ins.append(m.variable((batch, n_output)))
    ins.append(m.variable((batch, n_cell)))
    for g in range(4):   # layer-norm coefficients
        ins.append(m.const((1.0 + rng.standard_normal(n_cell) * 0.3).astype(np.float32))
                   if layer_norm and not (cifg and g == 0) else -1)
    out_shape = (steps, batch, n_output) if time_major else (batch, steps, n_output)
    out = m.output(m.tensor(out_shape))
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [out], "UnidirectionalSequenceLSTMOptions", version=3,
         FusedActivationFunction=act, CellClip=cell_clip, ProjClip=proj_clip, TimeMajor=time_major,
         AsymmetricQuantizeInputs=asymmetric)
    return m.build(), [x]


def _int8_sequence(rng, shape, time_major: bool) -> np.ndarray:
    x = rng.integers(-128, 128, shape).astype(np.int8)
    step = (slice(None),) * (0 if time_major else 1)
    x[step + (1,)] = np.where(rng.random(x[step + (1,)].shape) < 0.5, -128, 127)
    return x


def int8_lstm(rng, batch, steps, n_input, n_cell, n_output=None, *, time_major=False, cifg=False,
              peephole=False, projection=False, proj_bias=True, cell_clip=0.0, proj_clip=0.0,
              in_q=(2**-6, 3), h_q=(2**-6, -5), hidden_q=(2**-8, 4), cell_log2=-11,
              w_scale=2**-8):
    n_output = n_output if projection else n_cell
    m = HandModel()
    shape = (steps, batch, n_input) if time_major else (batch, steps, n_input)
    ins = [m.input(shape, np.int8, quant=in_q)]

    def w(shape_, s):
        return m.const(rng.integers(-127, 128, shape_).astype(np.int8), quant=(s, 0))
    for g in range(4):
        ins.append(-1 if cifg and g == 0 else w((n_cell, n_input), w_scale))
    for g in range(4):
        ins.append(-1 if cifg and g == 0 else w((n_cell, n_output), w_scale))
    for g in range(3):
        ins.append(m.const(rng.integers(-20000, 20000, n_cell).astype(np.int16), quant=(1e-4 * (g + 1), 0))
                   if peephole and not (cifg and g == 0) else -1)
    for g in range(4):
        ins.append(-1 if cifg and g == 0 else
                   m.const(rng.integers(-30000, 30000, n_cell).astype(np.int32), quant=(in_q[0] * w_scale, 0)))
    ins.append(w((n_output, n_cell), 0.01) if projection else -1)
    ins.append(m.const(rng.integers(-3000, 3000, n_output).astype(np.int32), quant=(1e-4, 0))
               if projection and proj_bias else -1)
    h = m.variable((batch, n_output), np.int8)
    c = m.variable((batch, n_cell), np.int16)
    m.tensors[h]["quant"], m.tensors[c]["quant"] = h_q, (2.0 ** cell_log2, 0)
    ins += [h, c] + [-1] * 4
    inter = []
    for g in range(4):   # the gates' (read with layer normalisation only)
        inter.append(m.tensor((1,), np.int16))
        m.tensors[inter[-1]]["quant"] = (2.0 ** -12, 0)
    inter.append(m.tensor((1,), np.int8))
    m.tensors[inter[-1]]["quant"] = hidden_q
    out_shape = (steps, batch, n_output) if time_major else (batch, steps, n_output)
    out = m.output(m.tensor(out_shape, np.int8))
    m.tensors[out]["quant"] = h_q
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [out], "UnidirectionalSequenceLSTMOptions", version=3,
         intermediates=inter, FusedActivationFunction=TANH, CellClip=cell_clip, ProjClip=proj_clip,
         TimeMajor=time_major)
    return m.build(), [_int8_sequence(rng, shape, time_major)]


INT8_CASES = {
    "int8_basic": (dict(batch=3, steps=7, n_input=5, n_cell=13),
                   "batch 3, 13 cells, tie-rich power-of-two scales, nonzero zero points"),
    "int8_cifg_peephole_time_major": (
        dict(batch=3, steps=7, n_input=5, n_cell=13, cifg=True, peephole=True, time_major=True),
        "CIFG, peepholes, time-major"),
    "int8_projection_clip": (
        dict(batch=3, steps=7, n_input=5, n_cell=13, n_output=6, projection=True, cell_clip=0.2,
             proj_clip=0.3),
        "projection 13 -> 6 with bias, cell and projection clipping that are hit"),
    "int8_cifg_projection_nobias": (
        dict(batch=2, steps=9, n_input=4, n_cell=24, n_output=17, projection=True, proj_bias=False,
             time_major=True, cifg=True, cell_clip=0.5, cell_log2=-12),
        "CIFG, time-major, projection 24 -> 17 without bias, cell state scale 2^-12"),
    "int8_odd_scales": (
        dict(batch=4, steps=8, n_input=9, n_cell=20, cell_log2=-9, hidden_q=(0.011, -7),
             h_q=(0.011, -7), in_q=(0.037, -11), w_scale=0.013),
        "scales that are not powers of two, cell state scale 2^-9 (tanh with 6 integer bits)"),
}

CASES = {
    "hybrid_basic_asym": (dict(batch=1, steps=6, n_input=5, n_cell=16),
                          "batch 1, 6 steps, 16 cells, asymmetric inputs (the converter's setting)"),
    "hybrid_batch3_sym": (dict(batch=3, steps=7, n_input=10, n_cell=18, asymmetric=False),
                          "batch 3, 18 cells (gate rows not 16-byte aligned), symmetric input quantization"),
    "hybrid_peephole_proj_clip_asym": (
        dict(batch=3, steps=5, n_input=6, n_cell=24, n_output=12, peephole=True, projection=True,
             cell_clip=0.9, proj_clip=0.35, spread=3.0),
        "peepholes, projection 24 -> 12 with bias, cell and projection clipping that are hit"),
    "hybrid_cifg_time_major_sym": (
        dict(batch=2, steps=9, n_input=7, n_cell=8, n_output=11, cifg=True, peephole=True,
             projection=True, proj_bias=False, time_major=True, asymmetric=False),
        "CIFG, time-major, peepholes, projection 8 -> 11 without bias, symmetric"),
    "hybrid_layer_norm_relu6_asym": (
        dict(batch=3, steps=5, n_input=9, n_cell=20, layer_norm=True, act=RELU6),
        "layer normalisation of the gates, RELU6 activation, batch 3"),
}


def main(argv):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    OUT.mkdir(exist_ok=True)
    index = {}
    builders = {**{k: (hybrid_lstm, v) for k, v in CASES.items()},
                **{k: (int8_lstm, v) for k, v in INT8_CASES.items()}}
    for i, (name, (build, (kw, doc))) in enumerate(sorted(builders.items())):
        if argv and not any(a in name for a in argv):
            continue
        rng = np.random.default_rng(1000 + i)
        data, feeds = build(rng, **kw)
        (OUT / f"{name}.tflite").write_bytes(data)
        np.savez(OUT / f"{name}.npz", **{f"input_{k}": a for k, a in enumerate(feeds)})
        it = Interpreter(model_content=data,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
        for d, a in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], a)
        it.invoke()
        y = it.get_tensor(it.get_output_details()[0]["index"])
        if y.dtype == np.int8:
            assert len(np.unique(y)) > 16, f"{name}: a trivial output"
        else:
            assert np.isfinite(y).all() and np.abs(y).max() > 1e-3, f"{name}: a trivial output"
        print(f"{name}: output {y.shape} {y.dtype}, {len(np.unique(y))} distinct values")
        index[name] = doc
    if not argv:
        (OUT / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
