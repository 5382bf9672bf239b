"""The quantized variants of the binary elementwise ops ADD, SUB, MUL, SQUARED_DIFFERENCE,
MAXIMUM and MINIMUM, with numpy broadcasting and (ADD, SUB, MUL) fused activations;
kernels in qelementwise.h (qbinary(): binary()'s loop with each output element's lane, the
vector kernels of simd_qelementwise.h where the CPU has them, split over threads). A node
whose operands are one 8-bit tensor x and x itself or a one-input table op of x (x *
LOGISTIC(x), efficientnet's swish) is two table lookups instead (_byte_tables: the results
of both lane kinds for each byte, computed by the same numpy arithmetic as _evaluate).

What TFLite's Prepare computes is computed here once, by dlcoder/quant.py, and each
functor takes its kernel's integer steps:
- ADD, SUB (int8, uint8, int16): each input offset by its zero point, shifted left (20
  bits for 8-bit, 15 for int16) and scaled to twice the larger input scale by its own
  multiplier; summed (subtracted); scaled to the output by a third multiplier.
- SQUARED_DIFFERENCE (int8 only, as TFLite): the same with a 7-bit shift, the scaled
  difference squared before the output multiplier; no fused activation.
- MUL (int8, uint8, int16): the product of the offset inputs, scaled to the output by one
  multiplier (a * b / out, computed in float as TFLite does). int16 MUL is the reference
  kernel everywhere (reference_integer_ops Mul / BroadcastMul6DSlow, no vector lanes);
  measured against ai-edge-litert 2.3.0 on 136k random products (multipliers below and
  above 1, ties at power-of-two scales, broadcasts, RELU): 0 diffs. A multiplier from
  double scales instead differs on ~1 product in 10^5 (what once looked like unexplained
  rounding near halves).
- MAXIMUM, MINIMUM (int8, uint8, int16): TFLite compares the stored integers whatever the
  tensors' quantization, so the float ops' MaxOp and MinOp do it.

TFLite's x86 build (NEON code through NEON_2_SSE) runs ADD and MUL through optimized
kernels whose vector bodies compute otherwise than their scalar tails and the reference
kernels. _lanes() mirrors its dispatch (ProcessBroadcastShapes, quant.broadcast_fivefold;
BroadcastAddDispatch / BroadcastMulDispatch: the generic broadcast takes the reference
kernel, the fivefold loops call the elementwise kernel per inner run of y4 > 1 elements
or the scalar-broadcast kernel per run of y3): flat output element j takes the vector
arithmetic when j % run < vec_end (the run's whole vector blocks). Measured against
ai-edge-litert 2.3.0 (tests/test_quantized_elementwise.py):
- int8 ADD, AddElementwise (blocks of 16): each input's shift is folded into the left
  shift, SaturatingRoundingDoublingHighMul(x << (20 + shift), m): one rounding where the
  reference rounds twice (1 LSB on rare near-ties: ~1 element in 10^5);
- int16 ADD of inputs of one shape: the same fold, blocks of 16 (shift 15); broadcast
  int16 ADD is the reference;
- uint8 ADD, AddElementwise (blocks of 8), and every ADD's AddScalarBroadcast (blocks
  of 8): the multiply rounded, then the input's right shift floored;
- int8/uint8 ADD vector output: the int32 result narrowed to int16 by truncation (vmovn),
  the zero point added in wrapping int16, then saturated to 8 bits: outputs beyond int16
  wrap;
- int8 MUL (MulElementwise and MulSimpleBroadcast, blocks of 16) and uint8 MUL's
  MulElementwise (blocks of 8): the reference value saturated to int16 (vqmovn), the zero
  point added in wrapping int16, then saturated; uint8 MulSimpleBroadcast (blocks of 8)
  narrows by truncation (vmovn) instead;
- SUB, SQUARED_DIFFERENCE, the generic broadcasts and every scalar tail: the reference.
For 8-bit ADD and SUB, each lane kind's outputs over all 65536 byte pairs are also tried as
one linear form of the stored bytes (_linear_form: two int32 multiplies, an add and a
shift), checked against every pair; the vector kernels run it where found, else their
exact int32/64-bit arithmetic (simd_qelementwise_kernels.h AddFast).
Refused, as not reproduced: uint8 MUL with a multiplier of 1 or more on
MulSimpleBroadcast's vector lanes (off by 1 before the int16 wrap).
int16 takes TFLite's symmetric scheme (zero points 0). TFLite's other int16 ADD/SUB path,
taken for power-of-two scales when pot_scale_int16 is set, is refused.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ir import CTYPES
from dlcoder.ops import lookup, register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import broadcast_strides, loop6, loop6_init, shape

_MINMAX = ("MAXIMUM", "MINIMUM")
_ADDLIKE = {"ADD": ("kAdd", False), "SUB": ("kSub", True)}
_LEFT_SHIFT = {"int8": 20, "uint8": 20, "int16": 15}


def _loop(node, g, e) -> str:
    """The Loop6 params that walk the two inputs broadcast to the output."""
    a, b = node.inputs[:2]
    so = shape(g, node.outputs[0])
    loop = loop6(so or (1,), broadcast_strides(shape(g, a), so) or [0],
                 broadcast_strides(shape(g, b), so) or [0])
    return e.param("dlcoder_rt::Loop6", loop6_init(loop))


def _call(node, g, e, functor: str) -> str:
    a, b = node.inputs[:2]
    return (f"dlcoder_rt::binary({_loop(node, g, e)}, {e.src(a)}, {e.src(b)}, "
            f"{e.dst(node.outputs[0])}, {functor});")


def _qcall(node, g, e, functor: str) -> str:
    """qbinary(): binary() with each output element's lane (vector body or scalar)."""
    a, b = node.inputs[:2]
    run, vec_end, _ = _lanes(node, g)
    lanes = QP.struct(e, "QLanes", {"run": run, "vec_end": vec_end})
    return (f"dlcoder_rt::qbinary({e.par()}, {_loop(node, g, e)}, {lanes}, {e.src(a)}, {e.src(b)}, "
            f"{e.dst(node.outputs[0])}, {functor});")


def _offsets(node, g) -> tuple:
    return -QP.params(g, node.inputs[0])[1], -QP.params(g, node.inputs[1])[1]


def _scales(node, g) -> tuple:
    return tuple(QP.params(g, t)[0] for t in (node.inputs[0], node.inputs[1], node.outputs[0]))


def _is_pot(scale: float) -> bool:
    """TFLite's CheckedLog2: the scale is a power of two (to 1e-3 in its log2)."""
    log = np.log2(np.float32(scale))
    return abs(log - np.round(log)) < 1e-3


# ---- the constants, once (Prepare) --------------------------------------------------------
def _multipliers(node, g) -> tuple:
    """The (mult, shift) pairs of the node's op (quant.py)."""
    sa, sb, so = _scales(node, g)
    if node.op == "MUL":
        return (Q.mul_multiplier(sa, sb, so),)
    if node.op == "SQUARED_DIFFERENCE":
        return Q.squared_difference_multipliers(sa, sb, so)
    return Q.add_multipliers(sa, sb, so, _LEFT_SHIFT[g.tensors[node.outputs[0]].dtype])


def _range(node, g) -> tuple:
    """(zero point, lo, hi) of the output; SQUARED_DIFFERENCE clamps to the dtype only."""
    if node.op == "SQUARED_DIFFERENCE":
        zp = QP.params(g, node.outputs[0])[1]
        return (zp,) + Q.INT_RANGE[g.tensors[node.outputs[0]].dtype]
    return QP.out_range(node, g)


# ---- which output elements take TFLite's vector arithmetic ----------------------------------
def _lanes(node, g) -> tuple:
    """(run, vec_end, kind): flat output element j takes the vector body's arithmetic when
    j % run < vec_end; kind names the vector kernel ("elementwise" or "scalar"), None
    where TFLite runs no vector body (SUB, SQUARED_DIFFERENCE, generic broadcasts)."""
    dt = g.tensors[node.outputs[0]].dtype
    out = shape(g, node.outputs[0]) or ()
    size = int(np.prod(out, dtype=np.int64))
    nowhere = (1, 0, None)
    if node.op not in ("ADD", "MUL") or size == 0:
        return nowhere
    category, y = Q.broadcast_fivefold(shape(g, node.inputs[0]) or (), shape(g, node.inputs[1]) or ())
    if node.op == "ADD" and dt == "int16" and category != "none":
        return nowhere                               # reference_ops::BroadcastAdd6DSlow
    if node.op == "MUL" and dt == "int16":
        return nowhere                               # reference_integer_ops Mul, BroadcastMul6DSlow
    if category == "generic":
        return nowhere
    if category == "none":
        run, kind = size, "elementwise"
    elif y[4] > 1:
        run, kind = y[4], "elementwise"
    else:
        run, kind = y[3], "scalar"
    if node.op == "ADD":
        width = 8 if (kind == "scalar" or dt == "uint8") else 16
    else:
        width = 8 if dt == "uint8" else 16
    return run, run // width * width, kind


def _vector_mode(node, g) -> dict:
    """The vector lanes' variant fields of the node's params struct."""
    dt = g.tensors[node.outputs[0]].dtype
    kind = _lanes(node, g)[2]
    if node.op == "MUL":
        return {"vec_wrap": int(dt == "uint8" and kind == "scalar")}
    return {"vec_fold": int(kind == "elementwise" and dt != "uint8"), "vec_wrap": int(dt != "int16")}


# ---- checks ---------------------------------------------------------------------------------
def _check(node, g):
    why = QP.per_tensor(g, node, (0, 1))
    if why is not None:
        return why
    if node.op in ("ADD", "SUB", "MUL"):
        why = QP.activation(node)
        if why is not None:
            return why
    dt = g.tensors[node.outputs[0]].dtype
    if dt == "int16":
        if any(QP.params(g, t)[1] != 0 for t in (node.inputs[0], node.inputs[1], node.outputs[0])):
            return f"int16 {node.op} takes zero points 0 only (TFLite's symmetric int16)"
        if node.op in _ADDLIKE and node.attrs.get("pot_scale_int16", True) and all(
                _is_pot(s) for s in _scales(node, g)):
            return (f"int16 {node.op} with power-of-two scales and pot_scale_int16 (TFLite's "
                    f"fixed-point path) is not supported")
    if node.op == "SQUARED_DIFFERENCE" and dt != "int8":
        return f"SQUARED_DIFFERENCE takes int8 quantized data only, not {dt} (as TFLite)"
    pairs = _multipliers(node, g)
    run, vec_end, kind = _lanes(node, g)
    if node.op == "MUL" and dt == "uint8" and kind == "scalar" and vec_end > 0 and pairs[0][1] > 0:
        return ("uint8 MUL with a multiplier of 1 or more (output scale below the inputs' "
                "product) broadcasting a scalar per inner run is not supported: TFLite's "
                "uint8 MulSimpleBroadcast vector arithmetic for it is not reproduced")
    if node.op != "MUL" and any(shift > 0 for _, shift in pairs):
        return (f"the output scale {_scales(node, g)[2]:g} is too small for the inputs' "
                f"(TFLite's Prepare fails on a multiplier of 1 or more)")
    return None


def _check_minmax(node, g):
    """TFLite checks nothing of MAXIMUM's and MINIMUM's quantization: any will do."""
    return None


# ---- 8-bit ADD and SUB as one linear form, where it is exact ---------------------------------
def _linear_form(out: np.ndarray, dt: str, lo: int, hi: int):
    """(ma, mb, c, shift) with clamp(floor((a ma + b mb + c) / 2^shift), lo, hi) == out[a, b]
    for every pair of stored bytes (int32 sums), or None. `out` holds the op's outputs for
    the pairs (a major, Q.byte_values order). Rounding the three steps of TFLite's arithmetic
    differs from one linear rounding only for sums within about 2^-20 of an output step's
    edge, so for most quantizations some form within a few units of the least-squares
    slopes reproduces all 65536 outputs; it is then checked against every one of them."""
    v = Q.byte_values(dt)
    a, b, y = np.repeat(v, 256), np.tile(v, 256), out.astype(np.int64).ravel()
    inner = (y > lo) & (y < hi)
    if inner.sum() < 3:
        return None
    fit = np.stack([a[inner], b[inner], np.ones(int(inner.sum()))], 1).astype(np.float64)
    ka, kb, _ = np.linalg.lstsq(fit, y[inner] + 0.5, rcond=None)[0]
    bound = 255 * (abs(ka) + abs(kb)) * 2 + 2 * max(abs(lo), abs(hi)) + 4
    shift = min(22, int(np.floor(np.log2(2.0**30 / bound))))
    if shift < 8:
        return None
    one = np.int64(1) << shift
    low, high = y > lo, y < hi       # where the form must reach y, and stay below y + 1
    steps = sorted(((da, db) for da in range(-3, 4) for db in range(-3, 4)), key=lambda d: abs(d[0]) + abs(d[1]))
    for da, db in steps:
        ma, mb = int(round(ka * one)) + da, int(round(kb * one)) + db
        lin = a * ma + b * mb
        c_lo = int((y[low] * one - lin[low]).max()) if low.any() else -(1 << 40)
        c_hi = int(((y[high] + 1) * one - 1 - lin[high]).min()) if high.any() else 1 << 40
        if c_lo > c_hi:
            continue
        c = (c_lo + c_hi) // 2
        total = lin + c
        if np.abs(total).max() >= 2**31 or abs(c) >= 2**31:
            continue
        if np.array_equal(np.clip(total >> shift, lo, hi), y):
            return ma, mb, c, shift
    return None


def _linear_fields(node, g) -> dict:
    """QAddParams' lin_* (scalar lanes) and vlin_* (vector lanes) fields: the lanes'
    _linear_form, shift 0 where there is none."""
    dt = g.tensors[node.outputs[0]].dtype
    fields = {f"{p}{k}": 0 for p in ("lin_", "vlin_") for k in ("a", "b", "c", "shift")}
    if node.op not in _ADDLIKE or dt not in ("int8", "uint8"):
        return fields
    v = Q.byte_values(dt)
    a, b = np.repeat(v, 256).astype(dt), np.tile(v, 256).astype(dt)
    _, lo, hi = _range(node, g)
    for prefix, out in zip(("lin_", "vlin_"), _outputs(node, g, a, b)):
        form = None if out is None else _linear_form(out, dt, lo, hi)
        if form is not None:
            fields.update({f"{prefix}{k}": x for k, x in zip(("a", "b", "c", "shift"), form)})
    return fields


# ---- emit -----------------------------------------------------------------------------------
def _emit_addlike(node, g, e):
    tables = _byte_tables(node, g)
    if tables is not None:
        return _emit_tables(node, g, e, tables)
    (ma, sa), (mb, sb), (mo, so) = _multipliers(node, g)
    oa, ob = _offsets(node, g)
    zp, lo, hi = _range(node, g)
    if node.op == "SQUARED_DIFFERENCE":
        kind, left = "kSquaredDifference", 7
    else:
        kind, left = _ADDLIKE[node.op][0], _LEFT_SHIFT[g.tensors[node.outputs[0]].dtype]
    params = QP.struct(e, "QAddParams", {
        "a_offset": oa, "a_mult": ma, "a_shift": sa, "b_offset": ob, "b_mult": mb, "b_shift": sb,
        "left_shift": left, "out_mult": mo, "out_shift": so, "out_zp": zp, "lo": lo, "hi": hi,
        **_vector_mode(node, g), **_linear_fields(node, g)})
    return _qcall(node, g, e, f"dlcoder_rt::QAddOp<dlcoder_rt::QAddKind::{kind}>{{{params}}}")


def _emit_mul(node, g, e):
    tables = _byte_tables(node, g)
    if tables is not None:
        return _emit_tables(node, g, e, tables)
    ((mo, so),) = _multipliers(node, g)
    oa, ob = _offsets(node, g)
    zp, lo, hi = _range(node, g)
    params = QP.struct(e, "QMulParams", {"a_offset": oa, "b_offset": ob, "out_mult": mo,
                                         "out_shift": so, "out_zp": zp, "lo": lo, "hi": hi,
                                         **_vector_mode(node, g)})
    return _qcall(node, g, e, f"dlcoder_rt::QMulOp{{{params}}}")


def _emit_minmax(node, g, e):
    return _call(node, g, e, "dlcoder_rt::MaxOp{}" if node.op == "MAXIMUM" else "dlcoder_rt::MinOp{}")


# ---- evaluate (constant folding): the same integer steps in numpy ---------------------------
def _narrow_vector(v, wrap: bool, zp: int, dt: str, lo: int, hi: int) -> np.ndarray:
    """qelementwise.h's narrow_vector_output: to int16 (wrapping or saturating), plus the
    zero point in wrapping int16, saturated to the dtype, clamped."""
    def wrap16(x):
        return ((np.asarray(x, np.int64) + 2**15) & 0xFFFF) - 2**15
    n = wrap16(v) if wrap else np.clip(v, -2**15, 2**15 - 1)
    info = np.iinfo(dt)
    return np.clip(np.clip(wrap16(n + zp), info.min, info.max), lo, hi)


def _add_vector(a, b, node, g, mode) -> np.ndarray:
    """The vector lanes of ADD (qelementwise.h: qadd_vector_input and QAddOp's vec path)."""
    (ma, sa), (mb, sb), (mo, so) = _multipliers(node, g)
    oa, ob = _offsets(node, g)
    left = _LEFT_SHIFT[g.tensors[node.outputs[0]].dtype]

    def scaled(x, off, m, s):
        x = np.asarray(x, np.int64) + off
        if mode["vec_fold"]:
            total = left + s
            v = Q.wrap32(x << total) if total >= 0 else x >> -total
            return Q.saturating_rounding_doubling_high_mul(v, m)
        high = Q.saturating_rounding_doubling_high_mul(Q.wrap32(x << left), m)
        return Q.wrap32(high << s) if s >= 0 else high >> -s
    high = Q.saturating_rounding_doubling_high_mul(Q.wrap32(scaled(a, oa, ma, sa) + scaled(b, ob, mb, sb)), mo)
    return Q.wrap32(high << so) if so >= 0 else Q.rounding_divide_by_pot(high, -so)


def _outputs(node, g, a, b) -> tuple:
    """(reference, vector): the node's outputs on inputs a, b (broadcast to each other) by
    the scalar lanes' arithmetic and by TFLite's vector body's (None where it has none)."""
    dt = g.tensors[node.outputs[0]].dtype
    offsets, pairs = _offsets(node, g), _multipliers(node, g)
    if node.op == "MUL":
        raw = Q.mul_values(a, b, offsets, pairs[0])
    elif node.op == "SQUARED_DIFFERENCE":
        raw = Q.squared_difference_values(a, b, offsets, pairs)
    else:
        raw = Q.add_sub_values(a, b, offsets, pairs, _LEFT_SHIFT[dt], _ADDLIKE[node.op][1])
    zp, lo, hi = _range(node, g)
    ref = np.clip(raw + zp, lo, hi).astype(dt)
    if _lanes(node, g)[1] == 0:
        return ref, None
    a, b = np.broadcast_arrays(a, b)
    mode = _vector_mode(node, g)
    v = raw if node.op == "MUL" else _add_vector(a, b, node, g, mode)
    return ref, _narrow_vector(v, bool(mode["vec_wrap"]), zp, dt, lo, hi).astype(dt)


def _evaluate(node, g, values):
    if any(v is None for v in values[:2]) or (node.op not in _MINMAX and _check(node, g)):
        return None
    a, b = (np.asarray(v) for v in values[:2])
    dt = g.tensors[node.outputs[0]].dtype
    if node.op == "MAXIMUM":
        return [np.maximum(a, b).astype(dt)]
    if node.op == "MINIMUM":
        return [np.minimum(a, b).astype(dt)]
    ref, vec = _outputs(node, g, a, b)
    if vec is None:
        return [ref]
    run, vec_end, _ = _lanes(node, g)
    lane = (np.arange(ref.size) % run < vec_end).reshape(ref.shape)
    return [np.where(lane, vec, ref)]


# ---- an operand that is a function of the other: tables ------------------------------------
def _byte_tables(node, g):
    """(x, reference table, vector table or None) when each output element is a function
    of the byte of one 8-bit tensor x at its position: both operands x (x * x), or one x and
    the other the output of a one-input table op on x (simd_lut.h's ops: x * LOGISTIC(x),
    efficientnet's swish). The tables hold both lane kinds' results for each byte, the
    producer's output taken from its evaluate hook. None otherwise."""
    a, b = node.inputs[:2]
    dt = g.tensors[node.outputs[0]].dtype
    if dt not in ("int8", "uint8") or shape(g, a) != shape(g, b):
        return None
    values = Q.byte_values(dt).astype(dt)
    if a == b:
        return (a,) + _outputs(node, g, values, values)
    producers = g.producers()
    for x, fx, fx_first in ((a, b, False), (b, a, True)):
        p = g.nodes[producers[fx]] if fx in producers else None
        if p is None or len(p.inputs) != 1 or p.inputs[0] != x or g.tensors[x].is_const:
            continue
        entry = lookup(p, g)
        if entry is None or entry.header != "simd_lut.h" or entry.evaluate is None:
            continue
        f = entry.evaluate(p, g, [values])
        if f is None:
            continue
        f = np.asarray(f[0]).astype(dt)
        return (x,) + (_outputs(node, g, f, values) if fx_first else _outputs(node, g, values, f))
    return None


def _emit_tables(node, g, e, tables) -> str:
    """Two lookups: the vector lanes [0, vec_end), then the scalar ones."""
    x, ref, vec = tables
    y = node.outputs[0]
    ct = CTYPES[g.tensors[y].dtype]
    n, vec_end = g.tensors[y].size, _lanes(node, g)[1]
    calls = []
    if vec is not None and vec_end > 0:
        calls.append(f"dlcoder_rt::lookup_u8_simd<{ct}>({vec_end}, {e.src(x)}, {e.dst(y)}, {e.weights(vec)});")
    if vec_end < n:
        calls.append(f"dlcoder_rt::lookup_u8_simd<{ct}>({n - vec_end}, {e.src(x)} + {vec_end}, "
                     f"{e.dst(y)} + {vec_end}, {e.weights(ref)});")
    return "\n".join(calls)


_EMIT = {"ADD": _emit_addlike, "SUB": _emit_addlike, "SQUARED_DIFFERENCE": _emit_addlike,
         "MUL": _emit_mul, "MAXIMUM": _emit_minmax, "MINIMUM": _emit_minmax}
# every op takes every kind: a kind TFLite has no kernel for is refused by _check, by name
for _op, _emit in _EMIT.items():
    for _kind in ("int8", "uint8", "int16"):
        register(_op, header="qelementwise.h", dtypes={_kind},
                 check=_check_minmax if _op in _MINMAX else _check,
                 evaluate=_evaluate, variant=_kind)(_emit)
