#!/usr/bin/env python3
"""(Re)build the UNIDIRECTIONAL_SEQUENCE_LSTM test models in tests/models/rnn/.

Hand-built flatbuffers (make_op_models.py's HandModel), because the converter emits the
fused LSTM only from Keras 2 and never with CIFG, peephole connections, layer norm,
a projection or time-major input. The cases cover each option and their combinations,
batch > 1, gate widths that are not whole 16-column panels, and sequence lengths that
are not whole chunks of the kernel's time blocking; clipping cases are scaled so that
the clip is hit. The state inputs are variable tensors, as the converter writes them.
run_case checks that each model runs in the TFLite interpreter with a non-trivial
output; each case writes <case>.tflite, <case>.npz and an entry in rnn/cases.json.

Usage
  python3 tests/models/make_rnn_models.py            # rebuild every case
  python3 tests/models/make_rnn_models.py cifg       # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import H, W, randn  # noqa: E402

OUT_DIR = HERE / "rnn"


def lstm(batch, steps, n_input, n_cell, n_output=None, *, time_major=False, cifg=False,
         peephole=False, layer_norm=False, projection=False, proj_bias=True, act=mop.TANH,
         cell_clip=0.0, proj_clip=0.0, gate_scale=1.0, x_scale=1.0):
    """A one-op LSTM model; gate_scale multiplies the input weights (to drive clipping)."""
    n_output = n_output if projection else n_cell

    def build():
        m = mop.HandModel()
        shape = (steps, batch, n_input) if time_major else (batch, steps, n_input)
        x = randn(*shape, scale=x_scale)
        ins = [m.input(x.shape)]
        gates = range(4)
        for g in gates:   # input-to-gate weights
            ins.append(-1 if cifg and g == 0 else m.const(W(n_cell, n_input, fan_in=n_input) * gate_scale))
        for g in gates:   # recurrent weights
            ins.append(-1 if cifg and g == 0 else m.const(W(n_cell, n_output, fan_in=n_output)))
        for g in range(3):   # peephole: input, forget, output
            ins.append(m.const(W(n_cell, scale=0.5)) if peephole and not (cifg and g == 0) else -1)
        for g in gates:   # biases
            ins.append(-1 if cifg and g == 0 else m.const(W(n_cell, scale=0.5)))
        ins.append(m.const(W(n_output, n_cell, fan_in=n_cell)) if projection else -1)
        ins.append(m.const(W(n_output, scale=0.2)) if projection and proj_bias else -1)
        ins.append(m.variable((batch, n_output)))
        ins.append(m.variable((batch, n_cell)))
        for g in gates:   # layer-norm coefficients
            ins.append(m.const(1.0 + W(n_cell, scale=0.3)) if layer_norm and not (cifg and g == 0) else -1)
        out_shape = (steps, batch, n_output) if time_major else (batch, steps, n_output)
        out = m.output(m.tensor(out_shape))
        m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [out], "UnidirectionalSequenceLSTMOptions",
             FusedActivationFunction=act, CellClip=cell_clip, ProjClip=proj_clip, TimeMajor=time_major)
        return m, [x]
    return build


def define():
    op = ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    H("lstm_basic", op, "batch-major [1, 5, 6], 8 cells, tanh: the Keras LSTM's form; 5 steps",
      lstm(1, 5, 6, 8))
    H("lstm_time_major_batch3_clip", op,
      "time-major [4, 3, 5], 20 cells (gates not whole panels), cell clip 0.8 that is hit",
      lstm(3, 4, 5, 20, time_major=True, cell_clip=0.8, gate_scale=3.0))
    H("lstm_cifg_peephole_projection", op,
      "CIFG, peephole to forget and output gates, projection 12 -> 6 with bias, proj clip 0.3",
      lstm(2, 6, 4, 12, 6, cifg=True, peephole=True, projection=True, proj_clip=0.3))
    H("lstm_peephole_layer_norm", op,
      "all gates with peephole connections and layer norm (24 inputs), batch 2",
      lstm(2, 3, 7, 16, peephole=True, layer_norm=True))
    H("lstm_cifg_layer_norm_projection_relu6", op,
      "CIFG with layer norm, projection 10 -> 13 without bias, RELU6 activation, time-major",
      lstm(2, 5, 3, 10, 13, cifg=True, layer_norm=True, projection=True, proj_bias=False,
           act=mop.RELU6, time_major=True))
    H("lstm_no_activation_long", op,
      "activation NONE, 33 steps of 40 cells, batch 2, inputs of scale 0.5",
      lstm(2, 33, 9, 40, act=mop.NONE, x_scale=0.5))


if __name__ == "__main__":
    sys.exit(mop.build_into(OUT_DIR, define))
