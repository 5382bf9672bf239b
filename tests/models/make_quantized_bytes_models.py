#!/usr/bin/env python3
"""(Re)build tests/models/quantized_bytes/: hand-built int8, uint8 and int16 models of the
ops that move quantized data as bytes (issue 13), for tests/test_quantized_bytes.py.

dlcoder computes nothing on quantized data yet, but the data-movement ops take int8,
uint8 and int16 tensors. Copying their bytes is what TFLite does only under its kernels'
rules, which these cases pin down:

- PAD / PADV2 pad quantized data with the output's zero point, not 0 (pad.cc's EvalInt:
  uint8 always, int8 and int16 when the input is quantized); a PADV2 value is already
  quantized and must have the output's scale and zero point.
- CONCATENATION copies int8 only when every input has the output's quantization (else
  TFLite rejects the model), int16 only with zero point 0, and requantizes uint8 inputs of
  another quantization (ConcatenationWithScaling).
- EXPAND_DIMS, PACK, UNPACK, MIRROR_PAD, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND and FILL copy
  bytes and reject a quantization that differs between input and output; ZEROS_LIKE takes
  no quantized data, DEPTH_TO_SPACE no int16.

Every case is a one-op model; its inputs hold the dtype's extremes (-128 and 127 for
int8, 0 and 255 for uint8) and the input's zero point. A case with `rejects` is a model
TFLite refuses (the generator checks that its interpreter fails with that message): the
test expects dlcoder to refuse it too. The others run, and the test compares dlcoder's
outputs with the interpreter's byte for byte.

Each case writes <case>.tflite, <case>.npz (input_0, ...) and an entry {"ops", "why"[,
"rejects", "dlcoder"]} of index.json (not cases.json: test_op_coverage loads every
cases.json model, and these rejected models do not load). Entries of cases not rebuilt are
kept.

Usage
  python3 tests/models/make_quantized_bytes_models.py          # rebuild every case
  python3 tests/models/make_quantized_bytes_models.py pad      # cases whose name has "pad"
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import HandModel  # noqa: E402
from op_build import interpret  # noqa: E402

OUT_DIR = HERE / "quantized_bytes"
I8, U8, I16, I32 = np.int8, np.uint8, np.int16, np.int32
A8, B8 = (0.5, 5), (0.25, -7)          # int8 quantizations (scale, zero point)
AU, BU = (0.5, 130), (0.25, 120)       # uint8


@dataclass
class Case:
    name: str
    op: str
    why: str
    build: Callable                 # () -> (HandModel, [inputs in model input order])
    rejects: str = ""               # what TFLite's error says (a substring), if it rejects
    dlcoder: str = ""               # what dlcoder's error says (a regex), if it rejects


def edges(dt, shape, zp, extra=()):
    """An array of `shape` cycling through the dtype's extremes, the zero point, 0 and
    a few small values."""
    info = np.iinfo(dt)
    vals = [info.min, info.max, zp, 0, info.min + 1, info.max - 1, *extra, 1, 3, 2]
    return np.resize(np.array(vals, dt), shape)


def one(op, dt, shape, out_shape, qin, qout, consts=(), opts=None, n_out=1, **kw):
    """op(x, *consts) of a quantized x; its n_out outputs quantized with qout."""
    def build():
        m = HandModel()
        x = m.input(shape, dt, quant=qin)
        outs = [m.output(m._tensor(out_shape, dt, quant=qout)) for _ in range(n_out)]
        m.op(op, [x] + [m.const(c) for c in consts], outs, opts, **kw)
        return m, [edges(dt, shape, qin[1] if qin else 0)]
    return build


def padv2(dt, q, value, vq):
    def build():
        m = HandModel()
        x = m.input((1, 2, 3, 2), dt, quant=q)
        v = m._tensor((), dt, data=np.array(value, dt), quant=vq)
        y = m.output(m._tensor((1, 4, 4, 2), dt, quant=q))
        m.op("PADV2", [x, m.const(np.array([[0, 0], [1, 1], [0, 1], [0, 0]], I32)), v], [y],
             "PadV2Options")
        return m, [edges(dt, (1, 2, 3, 2), q[1])]
    return build


def concat(dt, qs, qout, widths=(3, 2), rows=2, full=False):
    """CONCATENATION along axis 1 of inputs [rows, w] quantized with qs; full: every input
    holds every uint8 value (rows 1, widths 256)."""
    def build():
        m = HandModel()
        xs = [m.input((rows, w), dt, quant=q) for w, q in zip(widths, qs)]
        y = m.output(m._tensor((rows, sum(widths)), dt, quant=qout))
        m.op("CONCATENATION", xs, [y], "ConcatenationOptions", Axis=1, FusedActivationFunction=0)
        if full:
            feeds = [np.roll(np.arange(256, dtype=dt), 37 * k).reshape(1, 256) for k in range(len(xs))]
        else:
            feeds = [edges(dt, (rows, w), q[1], extra=(k,)) for k, (w, q) in enumerate(zip(widths, qs))]
        return m, feeds
    return build


def pack(dt, qin, qout):
    def build():
        m = HandModel()
        a, b = m.input((3,), dt, quant=qin), m.input((3,), dt, quant=qout)
        y = m.output(m._tensor((2, 3), dt, quant=qout))
        m.op("PACK", [a, b], [y], "PackOptions", ValuesCount=2, Axis=0)
        return m, [edges(dt, (3,), qin[1]), edges(dt, (3,), qout[1])[::-1].copy()]
    return build


def fill(dt, qv, qout):
    def build():
        m = HandModel()
        v = m.input((), dt, quant=qv)
        y = m.output(m._tensor((2, 3), dt, quant=qout))
        m.op("FILL", [m.const(np.array([2, 3], I32)), v], [y])
        return m, [np.array(np.iinfo(dt).min, dt)]
    return build


PADS4 = np.array([[0, 0], [1, 2], [2, 0], [0, 0]], I32)      # TFLite's "image style" pad
PADS2 = np.array([[1, 1], [0, 2]], I32)                      # its generic pad
DIFFERS = "differ|rejects different quantizations"


CASES = [
    # ---- PAD / PADV2: the output's zero point ----------------------------------------------
    Case("pad_int8_image_style", "PAD", "PAD of int8 (0.5, zp 5) [1,2,3,2] by [[0,0],[1,2],[2,0],[0,0]]: "
         "pads with 5", one("PAD", I8, (1, 2, 3, 2), (1, 5, 5, 2), A8, A8, [PADS4], "PadOptions")),
    Case("pad_int8_generic_out_params", "PAD",
         "PAD of int8 [2,3] (0.5, zp 5) into an output (0.25, zp -7): TFLite copies the bytes "
         "and pads with the output's -7", one("PAD", I8, (2, 3), (4, 5), A8, B8, [PADS2], "PadOptions")),
    Case("pad_uint8", "PAD", "PAD of uint8 (0.5, zp 130): pads with 130",
         one("PAD", U8, (2, 3), (4, 5), AU, AU, [PADS2], "PadOptions")),
    Case("pad_int16", "PAD", "PAD of int16 (0.5, zp 3): pads with 3",
         one("PAD", I16, (2, 3), (4, 5), (0.5, 3), (0.5, 3), [PADS2], "PadOptions")),
    Case("pad_int8_not_quantized", "PAD", "PAD of int8 without quantization: pads with 0",
         one("PAD", I8, (2, 3), (4, 5), None, None, [PADS2], "PadOptions")),
    Case("padv2_int8_value", "PADV2",
         "PADV2 of int8 (0.5, zp 5) with the value -3 of the same quantization: pads with -3 "
         "(the value's bytes, already quantized)", padv2(I8, A8, -3, A8)),
    Case("padv2_int8_value_params_differ", "PADV2",
         "PADV2 of int8 whose value has scale 0.25, the output 0.5: TFLite rejects it",
         padv2(I8, A8, -3, (0.25, 5)), rejects="constant_values->params.scale",
         dlcoder=DIFFERS),
    # ---- CONCATENATION -----------------------------------------------------------------------
    Case("concat_int8_same_params", "CONCATENATION",
         "CONCATENATION of int8 inputs of the output's quantization (0.5, zp 5): a copy",
         concat(I8, (A8, A8), A8)),
    Case("concat_int8_params_differ", "CONCATENATION",
         "CONCATENATION of int8 inputs (0.5, zp 5) and (0.25, zp -7) into (0.5, zp 5): "
         "TFLite's int8 kernel does not requantize and rejects it",
         concat(I8, (A8, B8), A8), rejects="params.scale != output->params.scale",
         dlcoder=DIFFERS),
    Case("concat_uint8_requantize", "CONCATENATION",
         "CONCATENATION of uint8 inputs (0.5, zp 130), (0.3, zp 7) and the output's own "
         "(0.25, zp 120), each holding all 256 values: TFLite requantizes the first two",
         concat(U8, (AU, (0.3, 7), BU), BU, widths=(256, 256, 256), rows=1, full=True)),
    Case("concat_uint8_requantize_ties", "CONCATENATION",
         "CONCATENATION of uint8 inputs (0.5, zp 0) and (0.5, zp 128) into (1.0, zp 128): "
         "every odd value lands on a half, which rounds away from 0",
         concat(U8, ((0.5, 0), (0.5, 128)), (1.0, 128), widths=(256, 256), rows=1, full=True)),
    Case("concat_int16_zero_point", "CONCATENATION",
         "CONCATENATION of int16 inputs with zero point 3: TFLite rejects it",
         concat(I16, ((0.5, 3), (0.5, 3)), (0.5, 3)), rejects="zero_point != 0",
         dlcoder="zero point 0 only"),
    # ---- ops that copy bytes and reject different quantizations ---------------------------
    Case("expand_dims_int8_params_differ", "EXPAND_DIMS", "EXPAND_DIMS of int8 (0.5, 5) to (0.25, -7)",
         one("EXPAND_DIMS", I8, (2, 3), (1, 2, 3), A8, B8, [np.array(0, I32)]),
         rejects="params.scale != output->params.scale", dlcoder=DIFFERS),
    Case("pack_uint8_params_differ", "PACK", "PACK of uint8 (0.5, 130) and (0.25, 120) into (0.25, 120)",
         pack(U8, AU, BU), rejects="params.zero_point != output->params.zero_point", dlcoder=DIFFERS),
    Case("unpack_int8_params_differ", "UNPACK", "UNPACK of int8 (0.5, 5) into (0.25, -7)",
         one("UNPACK", I8, (2, 3), (3,), A8, B8, opts="UnpackOptions", n_out=2, Num=2, Axis=0),
         rejects="params.zero_point != output->params.zero_point", dlcoder=DIFFERS),
    Case("mirror_pad_int8_params_differ", "MIRROR_PAD", "MIRROR_PAD of int8 (0.5, 5) to (0.25, -7)",
         one("MIRROR_PAD", I8, (2, 3), (4, 3), A8, B8, [np.array([[1, 1], [0, 0]], I32)],
             "MirrorPadOptions", Mode=0),
         rejects="params.scale != output_tensor->params.scale", dlcoder=DIFFERS),
    Case("space_to_batch_int8_params_differ", "SPACE_TO_BATCH_ND",
         "SPACE_TO_BATCH_ND of int8 (0.5, 5) to (0.25, -7)",
         one("SPACE_TO_BATCH_ND", I8, (1, 2, 3, 1), (4, 1, 2, 1), A8, B8,
             [np.array([2, 2], I32), np.array([[0, 0], [0, 1]], I32)]),
         rejects="params.scale != op_context.output->params.scale", dlcoder=DIFFERS),
    Case("batch_to_space_int8_params_differ", "BATCH_TO_SPACE_ND",
         "BATCH_TO_SPACE_ND of int8 (0.5, 5) to (0.25, -7)",
         one("BATCH_TO_SPACE_ND", I8, (4, 1, 2, 1), (1, 2, 4, 1), A8, B8,
             [np.array([2, 2], I32), np.array([[0, 0], [0, 0]], I32)]),
         rejects="params.scale != op_context.output->params.scale", dlcoder=DIFFERS),
    Case("fill_int8_params_differ", "FILL", "FILL of an int8 value (0.5, 5) into (0.25, -7)",
         fill(I8, A8, B8), rejects="output->params.scale != value->params.scale", dlcoder=DIFFERS),
    Case("zeros_like_int8", "ZEROS_LIKE", "ZEROS_LIKE of int8: TFLite takes no quantized data",
         one("ZEROS_LIKE", I8, (2, 3), (2, 3), A8, A8), rejects="ZerosLike only currently supports",
         dlcoder="ZEROS_LIKE kernel does not take int8"),
    Case("depth_to_space_int16", "DEPTH_TO_SPACE", "DEPTH_TO_SPACE of int16: TFLite has no kernel",
         one("DEPTH_TO_SPACE", I16, (1, 1, 1, 8), (1, 2, 2, 2), (0.5, 0), (0.5, 0),
             opts="DepthToSpaceOptions", BlockSize=2),
         rejects="data_type == kTfLiteFloat32", dlcoder="DEPTH_TO_SPACE kernel does not take int16"),
    # ---- a copy that stays a copy: SPACE_TO_BATCH_ND pads with the zero point too ----------
    Case("space_to_batch_int8_zero_point", "SPACE_TO_BATCH_ND",
         "SPACE_TO_BATCH_ND of int8 (0.5, zp 5) with padding: pads with 5",
         one("SPACE_TO_BATCH_ND", I8, (1, 2, 3, 1), (4, 1, 2, 1), A8, A8,
             [np.array([2, 2], I32), np.array([[0, 0], [0, 1]], I32)])),
]


def build_case(case: Case) -> dict:
    """Write the case's files and check them against the interpreter; its index entry."""
    model, feeds = case.build()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{case.name}.tflite"
    path.write_bytes(model.build())
    np.savez_compressed(OUT_DIR / f"{case.name}.npz", **{f"input_{i}": a for i, a in enumerate(feeds)})
    try:
        outs = interpret(path, feeds)
    except RuntimeError as e:
        if not case.rejects or case.rejects not in str(e):
            raise
        return {"ops": [case.op], "why": case.why, "rejects": case.rejects, "dlcoder": case.dlcoder}
    if case.rejects:
        raise RuntimeError(f"{case.name}: TFLite ran a model it should reject")
    if all(np.all(y == y.flat[0]) for _, y in outs):
        raise RuntimeError(f"{case.name}: its outputs are constant")
    return {"ops": [case.op], "why": case.why}


def main(argv=None):
    filters = list(sys.argv[1:] if argv is None else argv)
    index_path = OUT_DIR / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    for case in CASES:
        if filters and not any(f in case.name for f in filters):
            continue
        index[case.name] = build_case(case)
        print(f"ok   {case.name}", flush=True)
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
