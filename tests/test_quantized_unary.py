"""int8 / uint8 elementwise unary ops (dlcoder/ops/qunary.py) match TFLite byte for byte.

Every op is a 256-entry table computed at generation time (dlcoder/quant.py). Checked:
- the compiled models of tests/models/quantized_unary/ (make_quantized_unary_models.py:
  inputs holding every byte value) against TFLite, and their constant folding;
- each table EXHAUSTIVELY against TFLite for many scales and zero points (one interpreter
  run of a one-op model per quantization, no C++ compile), including the output
  quantizations TFLite's converter pins (LOGISTIC 1/256, TANH 1/128);
- the tables of the LOGISTIC, GELU and RSQRT nodes of the shared int8 models;
- the vector lookups of simd_lut.h (AVX-512 VBMI, AVX2, NEON, scalar, each path forced) on
  lengths around the vector widths;
- what TFLite rejects is refused.
"""
import sys
import zlib

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.errors import DlcoderError
from dlcoder.ops import qunary
from support import (SHARED_MODELS, TESTS, aarch64_toolchain, check_folding, load_npz_inputs, require_shared,
                     run_ours)
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

HERE = TESTS / "models" / "quantized_unary"
MODELS = ["unary_int8", "unary_uint8", "prelu_int8_last_axis", "prelu_uint8_middle_block"]


def _inputs(name):
    path = HERE / f"{name}.tflite"
    assert path.exists(), f"{path} is missing: rebuild it with make_quantized_unary_models.py"
    g = compiler.load_graph(str(path))
    return path, g, load_npz_inputs(HERE / f"{name}.npz", g)


@pytest.mark.parametrize("name", MODELS)
def test_models_match_tflite(name, tmp_path):
    path, g, inputs = _inputs(name)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) == len(g.outputs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape
        assert o.tobytes() == r.tobytes(), f"{name} output {k}: {np.nonzero(o != r)}"


@pytest.mark.parametrize("name", MODELS)
def test_models_fold(name):
    path, g, inputs = _inputs(name)
    check_folding(path, g, inputs)


# ---- exhaustive tables ---------------------------------------------------------------
def _one_op(path, op, dt, q_in, q_out, alpha=None, opts=None, **kw):
    m = HandModel()
    x = m.input((1, 256), dt, quant=q_in)
    y = m.output(m._tensor((1, 256), dt, quant=q_out))
    ins = [x]
    if alpha is not None:
        ins.append(m._tensor((1, 256), dt, data=alpha[0].reshape(1, 256), quant=alpha[1]))
    m.op(op, ins, [y], opts, **kw)
    path.write_bytes(m.build())


def _every_byte(dt):
    return np.arange(256).astype(np.uint8).view(dt).reshape(1, 256)


def _quants(dt, seed, n=6):
    rng = np.random.default_rng(seed)
    lo = -128 if dt == np.int8 else 0
    return [((float(np.float32(10 ** rng.uniform(-4, 1))), int(rng.integers(lo, lo + 256))),
             (float(np.float32(10 ** rng.uniform(-4, 1))), int(rng.integers(lo, lo + 256))))
            for _ in range(n)]


OPS = [("LOGISTIC", None, {}), ("TANH", None, {}), ("GELU", "GeluOptions", dict(Approximate=False)),
       ("GELU", "GeluOptions", dict(Approximate=True)), ("ELU", None, {}), ("HARD_SWISH", None, {}),
       ("RELU", None, {}), ("RELU6", None, {}), ("RELU_N1_TO_1", None, {}),
       ("LEAKY_RELU", "LeakyReluOptions", dict(Alpha=0.2)),
       ("LEAKY_RELU", "LeakyReluOptions", dict(Alpha=-0.7)), ("ABS", None, {}), ("NEG", None, {}),
       ("RSQRT", None, {}), ("PRELU", None, {})]
INT8_ONLY = {"ELU", "ABS", "NEG", "RSQRT"}


CASES = [(op, opts, kw, dt) for op, opts, kw in OPS for dt in (np.int8, np.uint8)
         if dt == np.int8 or op not in INT8_ONLY]      # TFLite has no uint8 kernel of those


@pytest.mark.parametrize("op,opts,kw,dt", CASES,
                         ids=[f"{o}{k}-{np.dtype(d).name}" for o, _, k, d in CASES])
def test_table_is_tflites(op, opts, kw, dt, tmp_path):
    """The Python table equals TFLite's output for every input byte, for several
    quantizations (the pinned output ones among them)."""
    lo = -128 if dt == np.int8 else 0
    quants = _quants(dt, zlib.crc32(f"{op}{kw}{lo}".encode()))
    if op == "LOGISTIC":
        quants = [(q, (1 / 256, lo)) for q, _ in quants]
    if op == "TANH":
        quants += [(q, (1 / 128, 0 if dt == np.int8 else 128)) for q, _ in quants[:3]]
    if op == "HARD_SWISH":       # TFLite rejects an output scale <= input scale / 128
        quants = [(qi, (max(qo[0], qi[0] / 100), qo[1])) for qi, qo in quants]
    if op == "RSQRT":            # every value at or above the zero point
        quants = [((qi[0], -128), qo) for qi, qo in quants]
    compared = 0
    for k, (q_in, q_out) in enumerate(quants):
        path = tmp_path / f"{k}.tflite"
        alpha = None
        if op == "PRELU":
            rng = np.random.default_rng(k)
            alpha = (rng.integers(lo, lo + 256, 256).astype(dt), (0.0123 * (k + 1), int(rng.integers(lo, lo + 256))))
        _one_op(path, op, dt, q_in, q_out, alpha, opts, **kw)
        ref = V.reference_run(str(path), [_every_byte(dt)])[0][0].ravel()
        g = compiler.load_graph(str(path))
        node = g.nodes[0]
        if op == "PRELU":
            ours = qunary.prelu_tables(node, g)[np.arange(256), np.arange(256)]
        else:
            ours = qunary.table(node, g)
        assert ours.dtype == ref.dtype
        assert ours.tolist() == ref.tolist(), (op, q_in, q_out, np.nonzero(ours != ref))
        compared += 256
    assert compared >= 6 * 256


def test_shared_model_tables(tmp_path):
    """The tables of the LOGISTIC (efficientnet_b0_224_int8), GELU and RSQRT
    (transformer_enc_int8) nodes equal TFLite's one-op outputs with their quantization."""
    require_shared()
    checked = 0
    for model, ops in (("efficientnet_b0_224_int8", {"LOGISTIC"}), ("transformer_enc_int8", {"GELU", "RSQRT"})):
        g = compiler.load_graph(str(SHARED_MODELS / f"{model}.tflite"))
        seen = set()
        for node in g.nodes:
            if node.op not in ops:
                continue
            q_in, q_out = (qunary._qparams(g, t) for t in (node.inputs[0], node.outputs[0]))
            key = (node.op, q_in, q_out, node.attrs.get("approximate", False))
            if key in seen:
                continue
            seen.add(key)
            path = tmp_path / f"{len(seen)}.tflite"
            kw = dict(opts="GeluOptions", Approximate=bool(key[3])) if node.op == "GELU" else {}
            _one_op(path, node.op, np.int8, q_in, q_out, **kw)
            vals = _every_byte(np.int8)
            ours = qunary.table(node, g)
            if node.op == "RSQRT":       # TFLite takes only values at or above the zero point
                vals = np.arange(q_in[1], 128, dtype=np.int8).reshape(1, -1)
                _one_op_rsqrt = HandModel()
                x = _one_op_rsqrt.input(vals.shape, np.int8, quant=q_in)
                y = _one_op_rsqrt.output(_one_op_rsqrt._tensor(vals.shape, np.int8, quant=q_out))
                _one_op_rsqrt.op("RSQRT", [x], [y])
                path.write_bytes(_one_op_rsqrt.build())
            ref = V.reference_run(str(path), [vals])[0][0].ravel()
            assert ours[vals.ravel().view(np.uint8)].tolist() == ref.tolist(), (model, key)
            checked += 1
    assert checked >= 3


# ---- rejections --------------------------------------------------------------------------
@pytest.mark.parametrize("op,q_out,tflite,ours", [
    ("LOGISTIC", (0.01, -128), "scale == 1. / 256", "1/256"),
    ("HARD_SWISH", (0.0001, 0), "output_multiplier_exponent <= 0", "HARD_SWISH rejects"),
])
def test_what_tflite_rejects_is_refused(op, q_out, tflite, ours, tmp_path):
    path = tmp_path / "m.tflite"
    _one_op(path, op, np.int8, (0.1, 0), q_out)
    with pytest.raises(RuntimeError, match=tflite.replace("(", r"\(").replace(".", r"\.")):
        V.reference_run(str(path), [_every_byte(np.int8)])
    with pytest.raises(DlcoderError, match=ours):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_prelu_alpha_must_be_constant(tmp_path):
    m = HandModel()
    x = m.input((1, 4), np.int8, quant=(0.1, 0))
    a = m.input((1, 4), np.int8, quant=(0.1, 0))
    y = m.output(m._tensor((1, 4), np.int8, quant=(0.1, 0)))
    m.op("PRELU", [x, a], [y])
    path = tmp_path / "p.tflite"
    path.write_bytes(m.build())
    with pytest.raises(DlcoderError, match="alpha must be a constant"):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


# ---- the vector lookups (simd_lut.h) on every path ----------------------------------------
# lengths around the 16-, 32- and 64-byte vectors; PRELU's runs of 70 (vector lookups with a
# tail per channel) and of 1 (the scalar loop)
LUT_SIZES = (1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257)


def _lut_model(path, seed=7):
    """Every size of LUT_SIZES through an int8 LOGISTIC and a uint8 TANH, and two PRELUs;
    returns the inputs (each byte value at least once per op)."""
    rng = np.random.default_rng(seed)
    m = HandModel()
    inputs = []

    def unary(op, shape, dt, q_in, q_out):
        x = m.input(shape, dt, quant=q_in)
        m.op(op, [x], [m.output(m._tensor(shape, dt, quant=q_out))])
        inputs.append(rng.integers(0, 256, shape).astype(np.uint8).view(dt))

    for n in LUT_SIZES:
        unary("LOGISTIC", (1, n), np.int8, (0.05, 3), (1 / 256, -128))
        unary("TANH", (1, n), np.uint8, (0.03, 120), (1 / 128, 128))
    unary("LOGISTIC", (4, 256), np.int8, (0.1, -7), (1 / 256, -128))
    inputs[-1] = np.arange(1024).astype(np.uint8).view(np.int8).reshape(4, 256)
    for shape, a_shape, dt in (((1, 3, 70), (3, 1), np.int8), ((2, 5, 3), (3,), np.uint8)):
        lo = -128 if dt == np.int8 else 0
        x = m.input(shape, dt, quant=(0.02, lo + 100))
        alpha = m.const(rng.integers(lo, lo + 256, a_shape).astype(dt), quant=(0.01, lo + 128))
        m.op("PRELU", [x, alpha], [m.output(m._tensor(shape, dt, quant=(0.03, lo + 90)))])
        inputs.append(rng.integers(0, 256, shape).astype(np.uint8).view(dt))
    path.write_bytes(m.build())
    return inputs


def _check_lut(tmp_path, flags, cxx=None, emulator=()):
    path = tmp_path / "lut.tflite"
    inputs = _lut_model(path)
    ours, _, _ = run_ours(path, inputs, tmp_path, flags=flags, cxx=cxx, emulator=emulator)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) == len(inputs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape
        assert o.tobytes() == r.tobytes(), f"output {k} {r.shape}: {np.flatnonzero(o.ravel() != r.ravel())[:8]}"


@pytest.mark.parametrize("isa", ["scalar", "sse2", "avx2", "avx512"])
def test_lookup_paths_x86(isa, tmp_path):
    """Each x86 path forced (avx512: vpermi2b where the CPU has VBMI; avx2: vpshufb)."""
    _check_lut(tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


def test_lookup_path_aarch64(tmp_path):
    """The NEON path (vqtbl4q), under qemu."""
    cxx, emulator = aarch64_toolchain()
    _check_lut(tmp_path, ("-O2",), cxx=cxx, emulator=emulator)
