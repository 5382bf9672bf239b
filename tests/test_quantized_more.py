"""int8 EXP, LOG, SQRT; int8/uint8 L2_NORMALIZATION; int8/uint8 EQUAL, NOT_EQUAL, LESS,
LESS_EQUAL, GREATER, GREATER_EQUAL (dlcoder/ops/qmore.py) match TFLite's builtin kernels
byte for byte, or are refused where TFLite's Prepare fails (or aborts).

Hand-built one-op models (tests/models/op_hand.py), made in the test:
- the tables (quant.exp_table, log_table, sqrt_table) against TFLite over all 256 input
  bytes, at random scales and at scales that force rounding ties and saturation;
- L2_NORMALIZATION's numpy arithmetic against TFLite on rows of many depths;
- the comparisons' numpy arithmetic on every pair of bytes (a [256,1] against a [1,256]
  input, broadcast) at scales under which the quantized comparison differs from the
  real one;
- two compiled models (int8, uint8) holding every op, bytes against TFLite, and every
  node's evaluate hook against the same outputs.
"""
import sys

import numpy as np
import pytest

from dlcoder import compiler, ops, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

f32 = np.float32
_CMP = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less,
        "LESS_EQUAL": np.less_equal, "GREATER": np.greater, "GREATER_EQUAL": np.greater_equal}


def _bytes(dtype):
    return np.arange(256).astype(np.uint8).view(np.dtype(dtype))


def _save(m, path):
    path = str(path)
    with open(path, "wb") as fh:
        fh.write(m.build())
    return path


def _unary(op, dtype, qi, qo, n=256, opts=None):
    m = HandModel()
    x = m.input((n,), dtype, quant=qi)
    m.op(op, [x], [m.output(m._tensor((n,), dtype, quant=qo))], opts)
    return m


def _tflite(m, inputs, tmp_path, name="m.tflite"):
    return V.reference_run(_save(m, tmp_path / name), inputs)[0]


def _random_scales(rng, n):
    for _ in range(n):
        si = f32(np.exp(rng.uniform(np.log(0.004), np.log(0.25))))
        so = f32(np.exp(rng.uniform(np.log(0.004), np.log(1.0))))
        yield si, int(rng.integers(-128, 128)), so, int(rng.integers(-128, 128))


# ---- EXP, LOG, SQRT: the tables over every byte ------------------------------------------
_TABLE = {"EXP": Q.exp_table, "LOG": Q.log_table, "SQRT": Q.sqrt_table}
_EDGE = [
    (0.25, 0, 2.0, 0),          # EXP(0) * 1/2 = 0.5: a tie (halves away from 0)
    (0.2, 0, 1e-3, -100),       # EXP beyond int32 and infinite: saturates to 127
    (0.5, -128, 0.01, -128),
    (1.0, 0, 1e-12, 0),         # LOG / SQRT far beyond int8
    (1.0, 0, 1e-12, -128),      # SQRT: INT32_MIN + out_zp wraps to 127
    (0.25, -100, 0.5, 3),       # SQRT: sqrt(k) truncated, not rounded
    (0.125, 127, 0.0625, -1),
]


@pytest.mark.parametrize("op", sorted(_TABLE))
def test_table_matches_tflite(op, tmp_path):
    rng = np.random.default_rng(len(op))
    configs = [tuple(map(float, c)) for c in _EDGE] + list(_random_scales(rng, 14))
    for si, zi, so, zo in configs:
        qi, qo = (f32(si), zi), (f32(so), zo)
        x = _bytes("int8")
        if op == "SQRT":   # TFLite fails the invoke below the zero point
            x = np.arange(zi, 128).astype(np.int8)
        ref = _tflite(_unary(op, "int8", qi, qo, n=x.size), [x], tmp_path)[0]
        ours = _TABLE[op](qi, qo)[x.view(np.uint8)]
        assert ours.tobytes() == ref.tobytes(), (
            op, (si, zi, so, zo), x[ours != ref][:6], ours[ours != ref][:6], ref[ours != ref][:6])


def test_tables_pin_the_rounding(tmp_path):
    """The edge configurations tell the arithmetic apart: rounding SQRT instead of
    truncating, and wrapping EXP's overflow (as float_lut does for its ops) instead of
    saturating, both give other bytes than TFLite."""
    qi, qo = (f32(0.25), -100), (f32(0.5), 3)
    x = np.arange(-100, 128).astype(np.int8)
    ref = _tflite(_unary("SQRT", "int8", qi, qo, n=x.size), [x], tmp_path)[0]
    rounded = np.clip(np.round(np.sqrt(0.25 * (x.astype(np.float64) + 100)) / 0.5) + 3, -128, 127)
    assert (rounded != ref).sum() > 10
    qi, qo = (f32(0.2), 0), (f32(1e-3), -100)
    ref = _tflite(_unary("EXP", "int8", qi, qo), [_bytes("int8")], tmp_path)[0]
    assert (ref[_bytes("int8") > 10] == 127).all()


def test_sqrt_below_zero_point_fails_in_tflite(tmp_path):
    """Why the SQRT table's entries below the zero point are filler: TFLite refuses them."""
    m = _unary("SQRT", "int8", (f32(0.1), 0), (f32(0.1), 0), n=2)
    with pytest.raises(Exception, match="non-negative"):
        _tflite(m, [np.array([3, -1], np.int8)], tmp_path)


# ---- L2_NORMALIZATION ----------------------------------------------------------------------
def _l2(dtype, qi, shape, out_q=None):
    m = HandModel()
    x = m.input(shape, dtype, quant=qi)
    out_q = out_q or (f32(1 / 128), 0 if dtype == "int8" else 128)
    m.op("L2_NORMALIZATION", [x], [m.output(m._tensor(shape, dtype, quant=out_q))], "L2NormOptions")
    return m


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_l2_normalization_matches_tflite(dtype, tmp_path):
    rng = np.random.default_rng(11 if dtype == "int8" else 12)
    off = 128 if dtype == "uint8" else 0
    for depth in (1, 2, 3, 7, 16, 33, 300, 2000):
        zp = int(rng.integers(-128, 128)) + off
        x = rng.integers(0, 256, size=(6, depth)).astype(np.uint8)
        x[0] = zp % 256                                    # an all-zero row
        x[1] = np.clip(zp + rng.integers(-1, 2, depth), 0, 255)   # tiny norms
        x[2] = np.clip(zp + rng.integers(-6, 7, depth), 0, 255)
        x = x.view(dtype)
        ref = _tflite(_l2(dtype, (f32(0.05), zp), x.shape), [x], tmp_path)[0]
        ours = Q.l2_normalize_values(x, zp, dtype)
        assert ours.tobytes() == ref.tobytes(), (dtype, depth, int((ours != ref).sum()))
        if dtype == "uint8" and depth == 33:   # uint8 is not the int8 arithmetic shifted
            as_int8 = Q.l2_normalize_values((x.astype(np.int16) - 128).astype(np.int8), zp - 128, "int8")
            assert ((as_int8.astype(np.int16) + 128) != ref).any()


# ---- comparisons ---------------------------------------------------------------------------
def _compare_model(ops_, dtype, qa, qb, sa, sb):
    m = HandModel()
    a, b = m.input(sa, dtype, quant=qa), m.input(sb, dtype, quant=qb)
    so = np.broadcast_shapes(sa, sb)
    for op in ops_:
        m.op(op, [a, b], [m.output(m._tensor(so, np.bool_))])
    return m


# scale pairs under which the quantized comparison differs from the real one (ties of the
# scaled values), and same-scale pairs
_PAIRS = [(0.3, 5, 0.1, -7), (1 / 3, 0, 1 / 9, 10), (0.07, 20, 0.21, -30), (0.999, 0, 0.333, 1),
          (0.1, 0, 0.1, 0), (0.5, 3, 0.25, -2), (2e-12, 0, 0.01, 4)]


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_comparisons_every_pair_of_bytes(dtype, tmp_path):
    off = 128 if dtype == "uint8" else 0
    a, b = _bytes(dtype).reshape(256, 1), _bytes(dtype).reshape(1, 256)
    differs_from_real = 0
    for sa, za, sb, zb in _PAIRS:
        qa, qb = (f32(sa), za + off), (f32(sb), zb + off)
        refs = _tflite(_compare_model(list(_CMP), dtype, qa, qb, a.shape, b.shape), [a, b], tmp_path)
        va = Q.comparison_values(a, qa[1], qa[0])
        vb = Q.comparison_values(b, qb[1], qb[0])
        ra = (a.astype(np.float64) - qa[1]) * float(qa[0])
        rb = (b.astype(np.float64) - qb[1]) * float(qb[0])
        for op, ref in zip(_CMP, refs):
            ours = _CMP[op](va, vb)
            assert ours.dtype == ref.dtype and (ours == ref).all(), (op, dtype, sa, sb, int((ours != ref).sum()))
            differs_from_real += int((_CMP[op](ra, rb) != ref).sum())
    assert differs_from_real > 100


# ---- compiled models -----------------------------------------------------------------------
def _model(dtype):
    """Every op of qmore.py for `dtype`, with its inputs (broadcasting comparisons)."""
    rng = np.random.default_rng(5)
    off = 128 if dtype == "uint8" else 0
    m = HandModel()
    inputs = []

    def inp(shape, q, x):
        inputs.append(x)
        return m.input(shape, dtype, quant=q)

    a = inp((256, 1), (f32(0.3), 5 + off), _bytes(dtype).reshape(256, 1))
    b = inp((1, 256), (f32(0.1), -7 + off), _bytes(dtype).reshape(1, 256))
    for op in _CMP:
        m.op(op, [a, b], [m.output(m._tensor((256, 256), np.bool_))])
    c = inp((2, 1, 3, 5), (f32(0.02), 9 + off), rng.integers(0, 256, (2, 1, 3, 5)).astype(np.uint8).view(dtype))
    d = inp((4, 1, 5), (f32(0.06), -3 + off), rng.integers(0, 256, (4, 1, 5)).astype(np.uint8).view(dtype))
    for op in ("LESS", "GREATER_EQUAL"):
        m.op(op, [c, d], [m.output(m._tensor((2, 4, 3, 5), np.bool_))])
    x = rng.integers(0, 256, (3, 4, 37)).astype(np.uint8)
    x[0, 0] = (3 + off) % 256                                          # a zero row
    x[0, 1] = (3 + off + rng.integers(-1, 2, 37)) % 256                # tiny norms
    x[0, 2] = (3 + off + rng.integers(-4, 5, 37)) % 256
    l2 = inp(x.shape, (f32(0.02), 3 + off), x.view(dtype))
    m.op("L2_NORMALIZATION", [l2], [m.output(m._tensor(x.shape, dtype, quant=(f32(1 / 128), off)))],
         "L2NormOptions")
    if dtype == "int8":
        u = inp((256,), (f32(0.06), -20), _bytes("int8"))
        for op, q in (("EXP", (f32(0.2), -100)), ("LOG", (f32(0.05), 40))):
            m.op(op, [u], [m.output(m._tensor((256,), dtype, quant=q))])
        s = inp((128,), (f32(0.1), -1), np.arange(-1, 127).astype(np.int8))
        m.op("SQRT", [s], [m.output(m._tensor((128,), dtype, quant=(f32(0.03), -128)))])
    return m, inputs


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_compiled_model_matches_tflite(dtype, tmp_path):
    m, inputs = _model(dtype)
    path = _save(m, tmp_path / f"{dtype}.tflite")
    refs, _ = V.reference_run(path, inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path, flags=("-O1",))
    assert len(ours) == len(refs) == len(m.operators)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, (k, o.dtype, r.dtype)
        assert o.tobytes() == r.tobytes(), (m.operators[k][0], int((o != r).sum()))
    # every node's evaluate hook (constant folding) gives the same bytes
    g = compiler.load_graph(path)
    values = dict(zip(g.inputs, inputs))
    for node, r in zip(g.nodes, refs):
        d = ops.lookup(node, g)
        assert d.evaluate is ops.VARIANTS[(node.op, dtype)].evaluate
        (got,) = d.evaluate(node, g, [values[t] for t in node.inputs])
        assert got.dtype == r.dtype and got.tobytes() == r.tobytes(), node.op


# ---- refusals --------------------------------------------------------------------------------
def _refused(m, tmp_path, match):
    g = compiler.load_graph(_save(m, tmp_path / "r.tflite"))
    with pytest.raises(DlcoderError, match=match):
        compiler.compile_graph(g, "m")


@pytest.mark.parametrize("dtype,out_q", [("int8", (1 / 64, 0)), ("int8", (1 / 128, 1)),
                                         ("uint8", (1 / 128, 0))])
def test_l2_normalization_output_quantization_refused(dtype, out_q, tmp_path):
    """TFLite's Prepare takes only 1/128 with zero point 0 (int8) or 128 (uint8)."""
    m = _l2(dtype, (f32(0.05), 0 if dtype == "int8" else 128), (2, 8), (f32(out_q[0]), out_q[1]))
    x = np.zeros((2, 8), dtype)
    with pytest.raises(Exception, match="prepare|Prepare"):
        _tflite(m, [x], tmp_path, "t.tflite")
    _refused(m, tmp_path, "1/128")


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_comparison_scale_of_one_or_more_refused(scale, tmp_path):
    """Not run in TFLite: a scale of 1 aborts the process (a failed CHECK)."""
    m = _compare_model(["LESS"], "int8", (f32(0.5), 0), (f32(scale), 0), (4,), (4,))
    _refused(m, tmp_path, "below 1")


@pytest.mark.parametrize("op", ["EXP", "LOG", "SQRT"])
def test_uint8_table_ops_refused_like_tflite(op, tmp_path):
    m = _unary(op, "uint8", (f32(0.05), 128), (f32(0.1), 100), n=4)
    with pytest.raises(Exception):
        _tflite(m, [np.full(4, 140, np.uint8)], tmp_path, "t.tflite")
    _refused(m, tmp_path, "uint8")
