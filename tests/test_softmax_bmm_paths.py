"""The float SOFTMAX, BATCH_MATMUL and broadcast binary paths of simd_math.h, simd_binary.h / simd_kernels.h
against TFLite's builtin kernels, on every x86 vector ISA (DLCODER_RT_FORCE_ISA).

SOFTMAX keeps a row of up to kSoftmaxShort vectors in registers (short rows: 256 floats on
AVX-512, 64 on AVX2, 32 on SSE2) and goes over memory for longer ones; beta = 1 has its own
path (no multiply, the exp's bottom clamp only). The rows here take each path on each ISA,
with partial last vectors and rows narrower than one vector, and rows whose max is far below
0 (the masked lanes of a partial vector must not turn inf). BATCH_MATMUL packs a transposed
rhs (adj_y, as attention's Q K^T) with transpose.h's tiles (whole panels: 16 x k transposes,
k a multiple of the tile or not) and gathers a partial last panel, with
adj_x, a constant rhs and broadcast batch dims. The broadcast binary loop resolves the op and
the innermost strides once per call: a per-pixel scale (MUL [1,H,W,C] x [1,H,W,1]), the
other way round, an outer sum ([1,1,W,C] + [1,H,1,C]), and per-channel operands, which run
dense against the channel vector laid out repeated (binary_periodic).

All of it is one model, built once per ISA."""
import sys

import numpy as np
import pytest

from support import TESTS, check_against_tflite

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

# (shape, beta): rows of 7 and 33 (below a vector, and partial), 128 and 256 (whole short
# rows on AVX-512), 200 with beta 0.5, 257 and 1000 (long everywhere), 300 with beta 2
SOFTMAX = [((3, 7), 1.0), ((5, 33), 1.0), ((4, 128), 1.0), ((2, 3, 256), 1.0), ((3, 200), 0.5),
           ((2, 257), 1.0), ((2, 1000), 1.0), ((2, 300), 2.0)]
# (lhs shape, rhs shape, adj_x, adj_y, rhs constant)
BATCH_MATMUL = [
    ((2, 5, 9), (2, 40, 9), False, True, False),       # adj_y, 2.5 panels
    ((3, 17, 24), (3, 32, 24), False, True, False),    # adj_y, whole panels
    ((2, 9, 6), (2, 9, 20), True, False, False),       # adj_x
    ((2, 9, 6), (2, 21, 9), True, True, False),        # both
    ((2, 3, 7, 8), (1, 3, 8, 16), False, False, False),  # batch broadcast, rhs read in place
    ((4, 7, 8), (19, 8), False, True, True),           # constant rhs, rank 2, adj_y
    ((2, 3, 5, 8), (2, 1, 20, 8), False, True, False),  # rhs packed once per 3 batches
    ((2, 33, 64), (2, 128, 64), False, True, False),   # adj_y, 8 whole panels of 16x64 transposes
    ((1, 5, 37), (1, 50, 37), False, True, False),     # 3 panels of 2 tiles and a strip of 5, a partial one of 2
]
# (op, a shape, b shape)
BINARY = [("MUL", (1, 6, 5, 20), (1, 6, 5, 1)), ("MUL", (1, 6, 5, 1), (1, 6, 5, 37)),
          ("ADD", (1, 1, 5, 20), (1, 4, 1, 20)),
          # a per-channel operand (binary_periodic): 3 channels (whole vectors of periods),
          # 32 and 40 (a pattern of 1024 or 1000 floats, cut across several times), the
          # period first for a SUB, a single period, and 300 (past 64 channels: runs)
          ("SUB", (1, 9, 7, 3), (3,)), ("ADD", (1, 13, 11, 32), (32,)), ("SUB", (40,), (2, 7, 5, 40)),
          ("ADD", (1, 1, 1, 48), (48,)), ("MUL", (1, 3, 4, 300), (300,))]
ISAS = {"native": (), "avx2": ("-DDLCODER_RT_FORCE_ISA=2",), "sse2": ("-DDLCODER_RT_FORCE_ISA=1",)}


def _out_shape(a, b, adj_x, adj_y):
    m = a[-1] if adj_x else a[-2]
    n = b[-2] if adj_y else b[-1]
    return tuple(np.broadcast_shapes(a[:-2], b[:-2])) + (m, n)


def _build(path):
    """The model and its inputs (softmax inputs of scale 3, one row shifted to -200)."""
    rng = np.random.default_rng(19)
    m, feeds = HandModel(), []

    def feed(shape, scale=1.0):
        feeds.append((rng.standard_normal(shape) * scale).astype(np.float32))
        return m.input(shape)
    for shape, beta in SOFTMAX:
        x = feed(shape, 3.0)
        feeds[-1].reshape(-1, shape[-1])[0] -= 200.0
        m.op("SOFTMAX", [x], [m.output(m.tensor(shape))], "SoftmaxOptions", Beta=beta)
    for a, b, adj_x, adj_y, const in BATCH_MATMUL:
        x = feed(a)
        y = m.const(rng.standard_normal(b).astype(np.float32)) if const else feed(b)
        out = m.output(m.tensor(_out_shape(a, b, adj_x, adj_y)))
        m.op("BATCH_MATMUL", [x, y], [out], "BatchMatMulOptions", AdjX=adj_x, AdjY=adj_y)
    for op, a, b in BINARY:
        x, y = feed(a), feed(b)
        out = m.output(m.tensor(np.broadcast_shapes(a, b)))
        m.op(op, [x, y], [out], f"{op.capitalize()}Options", FusedActivationFunction=0)
    path.write_bytes(m.build())
    return feeds


@pytest.mark.parametrize("isa", list(ISAS))
def test_softmax_bmm_binary_paths_match_tflite(isa, tmp_path):
    model = tmp_path / "paths.tflite"
    inputs = _build(model)
    report, _ = check_against_tflite(model, tmp_path, inputs=inputs, flags=("-O2", *ISAS[isa]))
    assert len(report) == len(SOFTMAX) + len(BATCH_MATMUL) + len(BINARY)
