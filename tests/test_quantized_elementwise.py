"""Quantized ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM and MINIMUM match TFLite byte for
byte, broadcasting and fused activations included (TFLite's vector bodies and scalar tails
element by element: the *_ties and *_wide models hold inputs on which the two differ), or
refuse what TFLite rejects and what dlcoder does not reproduce (uint8 MUL above 1 on the
scalar-broadcast path). int16 MUL is the reference kernel with the multiplier of the
scales multiplied in float32 (the mul_int16_* models hold inputs on which double scales or
ties rounded up would differ).

The models are tests/models/quantized_elementwise/ (make_quantized_elementwise_models.py
says what each case pins down). Beside them: the evaluate hooks fold every case to
TFLite's bytes, and the prepare-time multipliers are TFLite's.

The vector kernels (simd_qelementwise.h) and the portable functors give the same bytes:
one model built here puts side by side the cases whose sizes cross the vector widths,
the 4-vector blocks and TFLite's blocks of 8 and 16 (runs of 1 to 129 elements, lanes
restarting per broadcast run), the broadcasts of the shared models and others ([1,7,7,37]
with [1,1,1,37], [1,5,1] with [1,5,9], a per-channel operand that repeats over many runs,
either operand repeating or a scalar), ties (inputs on which TFLite's vector and scalar
arithmetic differ), every fused activation, outputs beyond int16, int8, uint8 and int16;
it runs on every x86 path (-DDLCODER_RT_FORCE_ISA) and on aarch64 under qemu. Ops whose
output is a function of one operand's byte (x * LOGISTIC(x), x * x) are table lookups,
checked on the same model.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, aarch64_toolchain, byte_mismatches, check_folding, load_npz_inputs, run_ours
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
import make_quantized_elementwise_models as MQ  # noqa: E402
from op_hand import HandModel  # noqa: E402

HERE = TESTS / "models" / "quantized_elementwise"
INDEX = json.loads((HERE / "index.json").read_text())
RUNS = sorted(c for c in INDEX if "rejects" not in INDEX[c] and "refused" not in INDEX[c])
REJECTED = sorted(c for c in INDEX if "rejects" in INDEX[c])
# what TFLite runs but dlcoder refuses, as not reproduced byte for byte (qelementwise.py)
REFUSED = sorted(c for c in INDEX if "refused" in INDEX[c])


def _model(case):
    path = HERE / f"{case}.tflite"
    assert path.exists(), f"{path} is missing: rebuild it with make_quantized_elementwise_models.py"
    return path


@pytest.mark.parametrize("case", RUNS)
def test_bytes_match_tflite(case, tmp_path):
    path = _model(case)
    g0 = compiler.load_graph(str(path))
    inputs = load_npz_inputs(HERE / f"{case}.npz", g0)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, (case, o, r)
        assert o.tobytes() == r.tobytes(), (
            f"{case} output {k}: {int((o != r).sum())} of {o.size} differ; "
            f"ours {o.ravel()[:8]} tflite {r.ravel()[:8]}")


@pytest.mark.parametrize("case", RUNS)
def test_folds_to_tflites_bytes(case):
    """With the inputs made constants, the evaluate hooks give TFLite's outputs."""
    path = _model(case)
    g = compiler.load_graph(str(path))
    check_folding(path, g, load_npz_inputs(HERE / f"{case}.npz", g))


@pytest.mark.parametrize("case", REJECTED)
def test_what_tflite_rejects_is_refused(case):
    path = _model(case)
    entry = INDEX[case]
    data = np.load(HERE / f"{case}.npz")
    with pytest.raises(RuntimeError, match=entry["rejects"]):
        V.reference_run(str(path), [data[f"input_{k}"] for k in range(len(data.files))])
    with pytest.raises(DlcoderError, match=entry["dlcoder"]) as err:
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
    assert entry["ops"][0] in str(err.value)       # the message names the op


@pytest.mark.parametrize("case", REFUSED)
def test_what_is_not_reproduced_is_refused(case):
    """TFLite runs these, dlcoder refuses them by name rather than approximate."""
    path = _model(case)
    entry = INDEX[case]
    data = np.load(HERE / f"{case}.npz")
    V.reference_run(str(path), [data[f"input_{k}"] for k in range(len(data.files))])
    with pytest.raises(DlcoderError, match=entry["refused"]) as err:
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
    assert entry["ops"][0] in str(err.value)


def test_multipliers_are_tflites():
    """Spot values of the prepare-time constants, worked by hand from TFLite's Prepare."""
    # ADD: twice the larger scale 0.1; a: 0.05 / 0.1 = 0.5 = 2^30 * 2^-31 (shift 0)
    (ma, sa), (mb, sb), (mo, so) = Q.add_multipliers(0.05, 0.02, 0.04, 20)
    assert (ma, sa) == (1 << 30, 0)
    assert sb == -2 and abs(mb / 2**33 - 0.2) < 1e-7       # 0.02 as a float32
    assert so == -18 and abs(mo * 2.0**(so - 31) / (0.1 / (2**20 * 0.04)) - 1) < 1e-7
    # MUL: the scales multiplied in float, then widened
    m, s = Q.mul_multiplier(0.5, 0.25, 0.01)
    assert s == 4 and m == Q.quantize_multiplier(float(np.float32(np.float32(0.125) / np.float32(0.01))))[0]


# ---- the vector kernels against the functors, on every instruction-set path ------------------
A8, B8, C8 = MQ.A8, MQ.B8, MQ.C8
SIG = (1 / 256, -128)                   # LOGISTIC's int8 output
ACTS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
TIE_ADD = ((0.07077659, 3), (0.09732373, -7), (0.02895191, 5))     # make_...: add_int8_vector_ties
TIE_ROWS = ((0.08963, 28), (0.005582, -41), (0.027944, 4))        # add_int8_scalar_ties
TIE_U8 = ((0.062086, 173), (0.06419, 124), (0.018456, 115))       # add_uint8_vector_ties
TIE_I16 = ((0.00054469, 0), (0.00059057, 0), (0.00076153, 0))     # add_int16_vector_ties


def _case(name, op, dt, a, b, out, act="NONE", feeds=None, options=None):
    return MQ.Case(name, op, "", dt, a, b, [(act, out)], options=options or {}, feeds=feeds)


def _kernel_cases():
    cases = []
    for n in (1, 15, 16, 17, 63, 64, 65, 100, 129):
        cases.append(_case(f"add_i8_ties_{n}", "ADD", MQ.I8, ((n,), TIE_ADD[0]), ((n,), TIE_ADD[1]), TIE_ADD[2],
                           feeds=MQ.tie_feeds("fold")))
        cases.append(_case(f"mul_i8_{n}", "MUL", MQ.I8, ((n,), A8), ((n,), SIG), C8, act=ACTS[n % 4]))
    for n in (1, 7, 17, 37, 100):
        cases.append(_case(f"add_i8_rows_ties_{n}", "ADD", MQ.I8, ((9, 1), TIE_ROWS[0]), ((9, n), TIE_ROWS[1]),
                           TIE_ROWS[2], feeds=MQ.tie_feeds("floor", rows=True)))
    for n in (9, 77):
        cases.append(_case(f"add_u8_ties_{n}", "ADD", MQ.U8, ((n,), TIE_U8[0]), ((n,), TIE_U8[1]), TIE_U8[2],
                           feeds=MQ.tie_feeds("floor")))
    cases += [
        _case("add_i16_ties_79", "ADD", MQ.I16, ((79,), TIE_I16[0]), ((79,), TIE_I16[1]), TIE_I16[2],
              feeds=MQ.tie_feeds("fold"), options={"PotScaleInt16": False}),
        _case("add_i8_relu6_se", "ADD", MQ.I8, ((1, 7, 7, 37), A8), ((1, 1, 1, 37), B8), MQ.WIDE8, act="RELU6"),
        _case("add_i8_scalar", "ADD", MQ.I8, ((3, 50), A8), ((), B8), C8, act="RELU"),
        _case("add_i8_wide", "ADD", MQ.I8, ((3, 70), A8), ((3, 70), B8), (0.0002, 3)),
        _case("add_i8_wide_rows", "ADD", MQ.I8, ((3, 70), A8), ((3, 1), B8), (0.0002, 3)),
        _case("sub_i8_rows", "SUB", MQ.I8, ((1, 5, 1), A8), ((1, 5, 9), B8), MQ.WIDE8, act="RELU_N1_TO_1"),
        _case("sub_u8", "SUB", MQ.U8, ((4, 33), MQ.AU), ((4, 33), MQ.BU), MQ.CU, act="RELU"),
        _case("sub_i16", "SUB", MQ.I16, ((5, 70), (0.0005, 0)), ((70,), (0.0011, 0)), (0.0013, 0),
              options={"PotScaleInt16": False}),
        _case("sqdiff_rows", "SQUARED_DIFFERENCE", MQ.I8, ((1, 16, 67), A8), ((1, 16, 1), B8), (0.02, -128)),
        _case("sqdiff_same", "SQUARED_DIFFERENCE", MQ.I8, ((3, 45), (0.1, 4)), ((3, 45), (0.1, -4)), (1.5, -120)),
        _case("mul_i8_se_37", "MUL", MQ.I8, ((1, 7, 7, 37), A8), ((1, 1, 1, 37), SIG), C8),
        _case("mul_i8_se_32", "MUL", MQ.I8, ((1, 9, 9, 32), A8), ((1, 1, 1, 32), SIG), C8, act="RELU"),
        _case("mul_i8_se_96", "MUL", MQ.I8, ((1, 6, 6, 96), A8), ((1, 1, 1, 96), SIG), C8),
        _case("mul_i8_se_first", "MUL", MQ.I8, ((1, 1, 1, 48), SIG), ((1, 5, 5, 48), A8), C8),
        _case("mul_i8_rows", "MUL", MQ.I8, ((1, 5, 1), A8), ((1, 5, 9), B8), (0.002, 0), act="RELU6"),
        _case("mul_i8_scalar", "MUL", MQ.I8, ((3, 50), A8), ((), B8), (0.002, 0)),
        _case("mul_i8_above_one", "MUL", MQ.I8, ((70,), (0.5, 1)), ((70,), (0.25, -2)), (0.01, 3)),
        _case("mul_i8_wide", "MUL", MQ.I8, ((2, 70), (0.5, 1)), ((2, 1), (0.25, -2)), (0.0005, 100)),
        _case("mul_u8_wide_rows", "MUL", MQ.U8, ((4, 70), (0.05, 255)), ((4, 1), (0.03, 0)), (0.00167, 100)),
        _case("mul_u8_wide", "MUL", MQ.U8, ((70,), (0.05, 255)), ((70,), (0.03, 0)), (0.00167, 100)),
        _case("mul_u8_se", "MUL", MQ.U8, ((1, 5, 5, 20), MQ.AU), ((1, 1, 1, 20), MQ.BU), (0.002, 30)),
        _case("mul_i16", "MUL", MQ.I16, ((3, 70), (0.0004, 0)), ((3, 70), (0.0009, 0)), (0.00001, 0)),
    ]
    return cases


# ops of one operand and a function of it: (name, op, dtype, shape, x quantization, function
# (LOGISTIC, or None: x itself), the function's output first, output quantization)
TABLE_CASES = [
    ("swish_i8_100", "MUL", MQ.I8, (1, 100), (0.05, 3), "LOGISTIC", False, (0.03, -5)),
    ("swish_i8_first_70", "MUL", MQ.I8, (70,), (0.08, -10), "LOGISTIC", True, (0.04, 0)),
    ("swish_u8_37", "MUL", MQ.U8, (37,), (0.05, 120), "LOGISTIC", False, (0.02, 10)),
    ("square_i8_50", "MUL", MQ.I8, (50,), (0.05, 3), None, False, (0.1, -100)),
    ("double_i8_40", "ADD", MQ.I8, (40,), (0.05, 3), None, False, (0.09, 1)),
]


def _table_ops(m, feeds, names):
    for name, op, dt, shp, xq, fn, first, yq in TABLE_CASES:
        x = m.input(shp, dt, quant=xq)
        feeds.append(MQ.values(dt, shp, xq[1], seed=len(name)))
        fx = x
        if fn is not None:
            fx = m._tensor(shp, dt, quant=(1 / 256, -128 if dt == MQ.I8 else 0))
            m.op(fn, [x], [fx])
        y = m.output(m._tensor(shp, dt, quant=yq))
        opts = MQ.OPTIONS[op]
        m.op(op, [fx, x] if first else [x, fx], [y], opts, FusedActivationFunction=0)
        names.append(name)


def build_kernel_model(path: Path):
    """One model with every case of _kernel_cases and TABLE_CASES; (inputs, output names)."""
    m, feeds, names = HandModel(), [], []
    real = MQ.HandModel
    MQ.HandModel = lambda: m
    try:
        for case in _kernel_cases():
            _, xs = MQ.build(case)
            feeds += xs
            names.append(case.name)
    finally:
        MQ.HandModel = real
    _table_ops(m, feeds, names)
    path.write_bytes(m.build())
    return feeds, names


def check_kernels(tmp_path, flags=("-O2",), cxx=None, emulator=()):
    model = tmp_path / "kernels.tflite"
    inputs, names = build_kernel_model(model)
    ours, _, _ = run_ours(model, inputs, tmp_path / "lib", flags=flags, cxx=cxx, emulator=emulator)
    refs, _ = V.reference_run(str(model), inputs)
    problems = byte_mismatches(names, ours, refs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("isa", ["scalar", "sse2", "avx2", "avx512"])
def test_every_x86_path_gives_tflites_bytes(isa, tmp_path):
    check_kernels(tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


def test_aarch64_gives_tflites_bytes(tmp_path):
    cxx, emulator = aarch64_toolchain()
    check_kernels(tmp_path, cxx=cxx, emulator=emulator)


def test_kernel_cases_fold_to_tflites_bytes(tmp_path):
    """The evaluate hooks (the tables' arithmetic too) on the same model."""
    model = tmp_path / "kernels.tflite"
    inputs, _ = build_kernel_model(model)
    check_folding(model, compiler.load_graph(str(model)), inputs)


def test_an_operand_that_is_a_function_of_the_other_is_a_table(tmp_path):
    """x * LOGISTIC(x), LOGISTIC(x) * x, x * x and x + x compile to two lookups each, the
    vector lanes' table first (TFLite's blocks of 16 for int8, 8 for uint8)."""
    model = tmp_path / "kernels.tflite"
    build_kernel_model(model)
    lib, _ = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    src = "".join(v if isinstance(v, str) else v.decode() for k, v in lib.files.items() if k.endswith(".cc"))
    tables = 2 * len(TABLE_CASES)
    logistics = sum(1 for c in TABLE_CASES if c[5] is not None)
    assert src.count("lookup_u8_simd") == tables + logistics
    for vec_end, n in ((96, 100), (64, 70), (32, 37), (48, 50), (32, 40)):
        assert f">({vec_end}, " in src and f">({n - vec_end}, " in src and f" + {vec_end}, " in src
