#!/usr/bin/env python3
"""(Re)build tests/models/quantized_elementwise/: hand-built int8, uint8 and int16 models of
the binary elementwise ops ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM and MINIMUM, for
tests/test_quantized_elementwise.py, which compares dlcoder's outputs with TFLite's byte
for byte.

A case is one model: the op applied with each of a list of settings (fused activation,
output quantization) to the same two inputs, one output per setting. Its inputs hold the
dtype's extremes and zero points first, then random values over the whole range. The
cases pin down:
- the broadcasts the shared models use ([1,64,128] with [1,64,1], [1,h,w,c] with
  [1,1,1,c], a constant scalar) and others up to rank 6, each operand broadcasting;
- every fused activation on ADD, SUB and MUL, with output quantizations that make each
  clamp bite;
- inputs of different scales (ADD's per-input multipliers), an output scale below the
  inputs' product (MUL's multiplier above 1), uint8 zero points far from 128;
- MAXIMUM and MINIMUM on inputs quantized unlike the output: TFLite compares the stored
  integers and copies the winner's bytes;
- int16 ADD, SUB and MUL in TFLite's symmetric scheme (zero points 0; ADD and SUB with
  pot_scale_int16 off, its general path);
- int16 MUL: the reference kernel (no vector lanes), its multiplier from the scales
  multiplied in float32, pinned by inputs on which double scales or ties rounded up differ.

A case with `rejects` is a model TFLite refuses (the generator checks its message); the
test expects dlcoder to refuse it too, naming the op. Each case writes <case>.tflite,
<case>.npz (input_0, ...) and an entry of index.json; entries of cases not rebuilt are kept.

Usage
  python3 tests/models/make_quantized_elementwise_models.py           # every case
  python3 tests/models/make_quantized_elementwise_models.py mul       # names with "mul"
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import HandModel  # noqa: E402
from op_build import interpret  # noqa: E402
from dlcoder import quant as Q  # noqa: E402

OUT_DIR = HERE / "quantized_elementwise"
I8, U8, I16 = np.int8, np.uint8, np.int16
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}


@dataclass
class Case:
    name: str
    op: str
    why: str
    dt: type
    a: tuple                      # (shape, (scale, zero point)[, constant values])
    b: tuple
    outs: list                    # [(act, (scale, zero point))]: one output each
    options: dict = field(default_factory=dict)
    rejects: str = ""             # what TFLite's error says, if it rejects the model
    dlcoder: str = ""             # what dlcoder's error says (a regex), if it refuses
    refused: str = ""             # dlcoder refuses what TFLite runs (not reproduced): its message
    feeds: object = None          # (a, b) -> the inputs, instead of values()


def values(dt, shape, zp, seed):
    """The dtype's extremes, the zero point and neighbours first, then random values."""
    info = np.iinfo(dt)
    rng = np.random.default_rng(seed)
    x = rng.integers(info.min, int(info.max) + 1, size=int(np.prod(shape, dtype=np.int64)))
    head = [info.min, info.max, zp, zp + 1, zp - 1, 0]
    head = [v for v in head if info.min <= v <= info.max][:x.size]
    x[:len(head)] = head
    return x.astype(dt).reshape(shape)


def build(case: Case):
    m = HandModel()
    feeds, ins = [], []
    for k, spec in enumerate((case.a, case.b)):
        shape, q = spec[0], spec[1]
        if len(spec) > 2:
            ins.append(m._tensor(shape, case.dt, data=np.asarray(spec[2], case.dt).reshape(shape), quant=q))
        else:
            ins.append(m.input(shape, case.dt, quant=q))
            feeds.append(values(case.dt, shape, q[1], seed=len(case.name) * 7 + k))
    if case.feeds is not None:
        feeds = [np.asarray(f, case.dt).reshape(s[0]) for f, s in zip(case.feeds(case), (case.a, case.b))]
    out_shape = np.broadcast_shapes(case.a[0], case.b[0])
    for act, q in case.outs:
        y = m.output(m._tensor(out_shape, case.dt, quant=q))
        opts = OPTIONS.get(case.op)
        kw = dict(case.options)
        if opts:
            kw["FusedActivationFunction"] = ACTS[act]
        m.op(case.op, ins, [y], opts, **kw)
    return m, feeds


# ---- inputs on which TFLite's vector arithmetic and its reference arithmetic differ -------
def _scaled(x, zp, mult, shift, left, how):
    """One ADD input scaled to twice the larger input scale: "ref" (two roundings), "fold"
    (int8/int16 AddElementwise's vector body: the shift folded into the left shift) or
    "floor" (AddScalarBroadcast / uint8 AddElementwise: the right shift floored)."""
    x = np.asarray(x, np.int64) - zp
    if how == "fold":
        return Q.saturating_rounding_doubling_high_mul(Q.wrap32(x << (left + shift)), mult)
    high = Q.saturating_rounding_doubling_high_mul(Q.wrap32(x << left), mult)
    if how == "floor":
        return high >> -shift
    return Q.rounding_divide_by_pot(high, -shift)


def differing_pairs(case, how):
    """(a, b) input pairs whose ADD output differs between the reference and `how`."""
    info = np.iinfo(case.dt)
    if case.dt == np.int16:
        rng = np.random.default_rng(5)
        va, vb = rng.integers(info.min, int(info.max) + 1, (2, 400000))
    else:
        v = np.arange(info.min, int(info.max) + 1)
        va, vb = np.repeat(v, v.size), np.tile(v, v.size)
    (sa, za), (sb, zb), (so, zo) = case.a[1], case.b[1], case.outs[0][1]
    left = 15 if case.dt == np.int16 else 20
    (ma, ea), (mb, eb), (mo, eo) = Q.add_multipliers(sa, sb, so, left)
    def out(how_):
        s = _scaled(va, za, ma, ea, left, how_) + _scaled(vb, zb, mb, eb, left, how_)
        return np.clip(Q.multiply_by_quantized_multiplier(s, mo, eo) + zo, info.min, info.max)
    d = np.nonzero(out("ref") != out(how))[0]
    assert d.size >= 2, f"{case.name}: no inputs tell the arithmetics apart"
    return va[d], vb[d]


def mul16_feeds(how):
    """Same-shape int16 MUL inputs made of the pairs on which TFLite's arithmetic (the scales
    multiplied in float32, MultiplyByQuantizedMultiplier's final shift rounding half away)
    and `how` differ: "double" (the multiplier from double scales) or "up" (ties up)."""
    def feeds(case):
        rng = np.random.default_rng(7)
        va, vb = rng.integers(-32768, 32768, (2, 400000))
        (sa, _), (sb, _), (so, _) = case.a[1], case.b[1], case.outs[0][1]
        m = Q.mul_multiplier(sa, sb, so)
        p = Q.wrap32(va * vb)
        ref = np.clip(Q.multiply_by_quantized_multiplier(p, *m), -32768, 32767)
        if how == "double":
            real = float(np.float64(np.float32(sa)) * np.float64(np.float32(sb)) / np.float64(np.float32(so)))
            other = Q.multiply_by_quantized_multiplier(p, *Q.quantize_multiplier(real))
        else:
            other = Q.multiply_by_quantized_multiplier(p, *m, rounding="up")
        d = np.nonzero(ref != np.clip(other, -32768, 32767))[0]
        assert d.size >= 2, f"{case.name}: no inputs tell the arithmetics apart"
        n = int(np.prod(case.a[0]))
        return np.resize(va[d], n), np.resize(vb[d], n)
    return feeds


def tie_feeds(how, rows=False):
    """Same-shape inputs (or, rows: a [R,1] scalar per row of [R,n]) made of the pairs on
    which `how` and the reference differ, in the vector blocks and the scalar tails alike."""
    def feeds(case):
        a, b = differing_pairs(case, how)
        if not rows:
            n = int(np.prod(case.a[0]))
            return np.resize(a, n), np.resize(b, n)
        r, n = case.b[0]
        k = np.resize(np.arange(a.size), r)
        return a[k], np.repeat(b[k], n)
    return feeds


A8, B8, C8 = (0.05, -3), (0.02, 10), (0.04, 5)
AU, BU, CU = (0.05, 120), (0.03, 7), (0.06, 200)
ALL_ACTS = [(a, C8) for a in ACTS]
ALL_ACTS_U = [(a, CU) for a in ACTS]
WIDE8 = (0.25, -20)        # an output wide enough that RELU6 / RELU_N1_TO_1 clamp in range

CASES = [
    # ---- ADD ---------------------------------------------------------------------------
    Case("add_int8_same_shape", "ADD", "int8 ADD of two [2,3,16] inputs of different scales, "
         "each fused activation", I8, ((2, 3, 16), A8), ((2, 3, 16), B8),
         ALL_ACTS + [("RELU6", WIDE8), ("RELU_N1_TO_1", (0.01, 0))]),
    Case("add_int8_last_dim", "ADD", "int8 ADD of [1,64,128] and [1,64,1] (transformer_enc)",
         I8, ((1, 64, 128), A8), ((1, 64, 1), B8), [("NONE", C8), ("RELU", C8)]),
    Case("add_int8_const_scalar", "ADD", "int8 ADD of [1,64,1] and a constant scalar",
         I8, ((1, 64, 1), A8), ((), (0.001, -128), [17]), [("NONE", A8)]),
    Case("add_int8_first_broadcasts", "ADD", "int8 ADD of [1,1,1,8] and [2,3,4,8]: the first operand "
         "broadcasts", I8, ((1, 1, 1, 8), B8), ((2, 3, 4, 8), A8), [("NONE", C8), ("RELU6", WIDE8)]),
    Case("add_int8_rank5", "ADD", "int8 ADD of [2,1,3,1,4] and [1,5,1,2,1]: both broadcast, rank 5",
         I8, ((2, 1, 3, 1, 4), A8), ((1, 5, 1, 2, 1), B8), [("NONE", C8)]),
    Case("add_uint8", "ADD", "uint8 ADD of [3,1,5] and [1,4,5] (zero points 120 and 7), each activation",
         U8, ((3, 1, 5), AU), ((1, 4, 5), BU), ALL_ACTS_U + [("RELU6", (0.05, 3))]),
    Case("add_int16", "ADD", "int16 ADD (zero points 0, general path) of [4,8] and [1,8]",
         I16, ((4, 8), (0.0007, 0)), ((1, 8), (0.0003, 0)), [("NONE", (0.001, 0)), ("RELU", (0.0009, 0))],
         options={"PotScaleInt16": False}),
    # ---- SUB ---------------------------------------------------------------------------
    Case("sub_int8", "SUB", "int8 SUB of [2,4,8] and [2,1,8], each activation", I8,
         ((2, 4, 8), A8), ((2, 1, 8), B8), ALL_ACTS + [("RELU6", WIDE8)]),
    Case("sub_uint8", "SUB", "uint8 SUB of [1,6] and [5,1], each activation", U8,
         ((1, 6), AU), ((5, 1), BU), ALL_ACTS_U),
    Case("sub_int16", "SUB", "int16 SUB (zero points 0, general path) of [3,5] and [3,5]",
         I16, ((3, 5), (0.0005, 0)), ((3, 5), (0.0011, 0)), [("NONE", (0.0013, 0)), ("RELU6", (0.0002, 0))],
         options={"PotScaleInt16": False}),
    # ---- MUL ---------------------------------------------------------------------------
    Case("mul_int8_channels", "MUL", "int8 MUL of [1,5,5,16] and [1,1,1,16] (efficientnet's "
         "squeeze-excite), each activation", I8, ((1, 5, 5, 16), A8), ((1, 1, 1, 16), (0.0078, -128)),
         ALL_ACTS + [("RELU6", (0.03, -100))]),
    Case("mul_int8_rows", "MUL", "int8 MUL of [1,64,1] and a constant [1,1,128] (transformer_enc)",
         I8, ((1, 64, 1), A8), ((1, 1, 128), B8, np.arange(128) - 64), [("NONE", C8)]),
    Case("mul_int8_multiplier_above_one", "MUL", "int8 MUL whose output scale is below the inputs' "
         "product: a multiplier above 1 (a left shift)", I8, ((4, 8), (0.5, 1)), ((4, 8), (0.25, -2)),
         [("NONE", (0.01, 3)), ("RELU", (0.06, -128))]),
    Case("mul_uint8", "MUL", "uint8 MUL of [2,3,4] and [4], each activation", U8,
         ((2, 3, 4), AU), ((4,), BU), [(a, (0.002, 30)) for a in ACTS]),
    Case("mul_int16", "MUL", "int16 MUL (zero points 0) of [2,6] and [2,1] (reference "
         "BroadcastMul6DSlow), with and without RELU", I16,
         ((2, 6), (0.0004, 0)), ((2, 1), (0.0009, 0)), [("NONE", (0.00001, 0)), ("RELU", (0.0002, 0))]),
    Case("mul_int16_float_multiplier", "MUL", "int16 MUL of two [67] inputs made of the pairs on "
         "which the multiplier from float32 scales (mul.cc multiplies them in float) and the one "
         "from double scales give other bytes", I16, ((67,), (0.0003, 0)), ((67,), (0.0007, 0)),
         [("NONE", (0.00002, 0))], feeds=mul16_feeds("double")),
    Case("mul_int16_ties", "MUL", "int16 MUL of two [67] inputs, power-of-two scales (real "
         "multiplier 2^-7): negative products on exact halves round away from zero (the "
         "reference kernel, no vector lanes)", I16, ((67,), (2.0**-10, 0)), ((67,), (2.0**-9, 0)),
         [("NONE", (2.0**-12, 0)), ("RELU_N1_TO_1", (2.0**-12, 0))], feeds=mul16_feeds("up")),
    Case("mul_int16_multiplier_above_one", "MUL", "int16 MUL of [3,20] and [20] whose output "
         "scale is below the inputs' product: a left shift that wraps int32 before the multiply",
         I16, ((3, 20), (0.0005, 0)), ((20,), (0.0004, 0)), [("NONE", (0.00000003, 0)),
                                                             ("RELU", (0.0000001, 0))]),
    Case("mul_uint8_scalar_above_one", "MUL", "uint8 MUL of [2,24] and [2,1] with a multiplier "
         "above 1: TFLite runs it, dlcoder refuses", U8, ((2, 24), (0.3, 120)), ((2, 1), (0.2, 7)),
         [("NONE", (0.0005, 100))], refused="uint8 MUL with a multiplier of 1 or more"),
    Case("mul_int8_rank6", "MUL", "int8 MUL of [2,1,2,1,2,3] and [1,2,1,3,1,3], rank 6", I8,
         ((2, 1, 2, 1, 2, 3), A8), ((1, 2, 1, 3, 1, 3), B8), [("NONE", (0.002, 0))]),
    # ---- SQUARED_DIFFERENCE -----------------------------------------------------------------
    Case("squared_difference_int8", "SQUARED_DIFFERENCE", "int8 SQUARED_DIFFERENCE of [1,16,32] "
         "and [1,16,1] (transformer_enc's variance)", I8, ((1, 16, 32), A8), ((1, 16, 1), B8),
         [("NONE", (0.02, -128)), ("NONE", (0.5, -128))]),
    Case("squared_difference_int8_same_shape", "SQUARED_DIFFERENCE", "int8 SQUARED_DIFFERENCE of two "
         "[3,7] inputs of equal scales", I8, ((3, 7), (0.1, 4)), ((3, 7), (0.1, -4)), [("NONE", (1.5, -120))]),
    # ---- MAXIMUM / MINIMUM ------------------------------------------------------------------
    Case("maximum_int8", "MAXIMUM", "int8 MAXIMUM of [2,3,4] and [3,1] quantized unlike each "
         "other and the output: the larger stored integer", I8, ((2, 3, 4), A8), ((3, 1), B8),
         [("NONE", C8)]),
    Case("minimum_int8", "MINIMUM", "int8 MINIMUM of [5,4] and a constant scalar", I8,
         ((5, 4), A8), ((), A8, [-7]), [("NONE", A8)]),
    Case("maximum_uint8", "MAXIMUM", "uint8 MAXIMUM of [1,4,4] and [4,1,4]", U8,
         ((1, 4, 4), AU), ((4, 1, 4), BU), [("NONE", CU)]),
    Case("minimum_uint8", "MINIMUM", "uint8 MINIMUM of [6] and [6]", U8, ((6,), AU), ((6,), AU),
         [("NONE", AU)]),
    Case("maximum_int16", "MAXIMUM", "int16 MAXIMUM of [3,4] and [4]", I16,
         ((3, 4), (0.001, 0)), ((4,), (0.001, 0)), [("NONE", (0.001, 0))]),
    # ---- TFLite's vector bodies (NEON code on SSE) against their scalar tails ------------------
    Case("add_int8_vector_ties", "ADD", "int8 ADD of two [79] inputs made of the pairs on which "
         "AddElementwise's folded shift rounds otherwise than the reference: 64 vector lanes, "
         "15 scalar", I8, ((79,), (0.07077659, 3)), ((79,), (0.09732373, -7)), [("NONE", (0.02895191, 5))],
         feeds=tie_feeds("fold")),
    Case("add_int16_vector_ties", "ADD", "int16 ADD of two [79] inputs on which the folded shift "
         "differs: int16 AddElementwise has vector lanes too", I16, ((79,), (0.00054469, 0)),
         ((79,), (0.00059057, 0)), [("NONE", (0.00076153, 0))], options={"PotScaleInt16": False},
         feeds=tie_feeds("fold")),
    Case("add_int8_scalar_ties", "ADD", "int8 ADD of [40,1] and [40,21] (a scalar per run of 21: "
         "AddScalarBroadcast, 16 vector lanes then 5 scalar) on pairs where the floored shift differs",
         I8, ((40, 1), (0.08963, 28)), ((40, 21), (0.005582, -41)), [("NONE", (0.027944, 4))],
         feeds=tie_feeds("floor", rows=True)),
    Case("add_uint8_vector_ties", "ADD", "uint8 ADD of two [77] inputs on which uint8 "
         "AddElementwise's floored shift differs: 72 vector lanes, 5 scalar", U8,
         ((77,), (0.062086, 173)), ((77,), (0.06419, 124)), [("NONE", (0.018456, 115))],
         feeds=tie_feeds("floor")),
    Case("add_int8_wide_output", "ADD", "int8 ADD of two [3,37] inputs whose output leaves "
         "int16: the vector lanes wrap it, the tails saturate", I8, ((3, 37), A8),
         ((3, 37), B8), [("NONE", (0.0002, 3))]),
    Case("add_int8_wide_output_scalar", "ADD", "int8 ADD of [3,37] and [3,1] whose output leaves "
         "int16 (AddScalarBroadcast)", I8, ((3, 37), A8), ((3, 1), B8), [("NONE", (0.0002, 3))]),
    Case("mul_int8_wide_output", "MUL", "int8 MUL of [2,37] and [2,1] (MulSimpleBroadcast): "
         "outputs beyond int16 saturate to int16 before the zero point (vector lanes)", I8,
         ((2, 37), (0.5, 1)), ((2, 1), (0.25, -2)), [("NONE", (0.0005, 100)), ("RELU", (0.0005, -100))]),
    Case("mul_int8_wide_output_same", "MUL", "int8 MUL of [37] and [37] beyond int16", I8,
         ((37,), (0.5, 1)), ((37,), (0.25, -2)), [("NONE", (0.0005, 100))]),
    Case("mul_uint8_scalar_wide", "MUL", "uint8 MUL of [4,37] and [4,1], output beyond int16: "
         "MulSimpleBroadcast's vector lanes wrap (vmovn), its tails saturate", U8,
         ((4, 37), (0.05, 255)), ((4, 1), (0.03, 0)), [("NONE", (0.00167, 100))]),
    Case("mul_uint8_wide", "MUL", "uint8 MUL of [37] and [37] beyond int16: MulElementwise "
         "saturates (vqmovn)", U8, ((37,), (0.05, 255)), ((37,), (0.03, 0)), [("NONE", (0.00167, 100))]),
    # ---- what TFLite (or dlcoder) refuses -----------------------------------------------------
    Case("squared_difference_uint8", "SQUARED_DIFFERENCE", "uint8 SQUARED_DIFFERENCE: TFLite has "
         "no kernel", U8, ((2, 3), AU), ((2, 3), BU), [("NONE", CU)],
         rejects="SquaredDifference only supports", dlcoder="int8 quantized data only"),
    Case("mul_int16_zero_point", "MUL", "int16 MUL with a zero point: TFLite rejects it", I16,
         ((2, 3), (0.001, 3)), ((2, 3), (0.001, 0)), [("NONE", (0.001, 0))],
         rejects="input1_offset", dlcoder="zero points 0"),
]


def build_case(case: Case) -> dict:
    """Write the case's files and check them against the interpreter; its index entry."""
    model, feeds = build(case)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{case.name}.tflite"
    path.write_bytes(model.build())
    np.savez_compressed(OUT_DIR / f"{case.name}.npz", **{f"input_{i}": a for i, a in enumerate(feeds)})
    entry = {"ops": [case.op], "why": case.why}
    try:
        outs = interpret(path, feeds)
    except RuntimeError as e:
        if not case.rejects or case.rejects not in str(e):
            raise
        return dict(entry, rejects=case.rejects, dlcoder=case.dlcoder)
    if case.rejects:
        raise RuntimeError(f"{case.name}: TFLite ran a model it should reject")
    if case.refused:
        return dict(entry, refused=case.refused)
    for _, y in outs:
        if np.all(y == y.flat[0]):
            raise RuntimeError(f"{case.name}: an output is constant")
    return entry


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
