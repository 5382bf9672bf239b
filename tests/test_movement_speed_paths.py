"""The fast data-movement paths (issue 19) give TFLite's bytes.

TRANSPOSE: a perm that moves the innermost dim becomes tiled matrix transposes
(transpose.h): the AVX-512 16x16 (column blocks of 32, or 16 where the destination stride
is a multiple of 2 KB), AVX2 8x8, SSE2 4x4 and NEON 4x4 tiles for 4-byte elements (float32,
int32), AVX2 16x32 for bytes, SSE2 8x8 for 1 and 2 bytes, the scalar tile for 8 bytes and without SIMD; with
rows and columns that are not multiples of the tile, narrow last strips (3 channels),
outer dims and rank 2 to 5. A perm that keeps it
copies runs (copy_runs with the run length fixed, or copy_loop's memcpy for long runs);
size-1 dims and dims that stay neighbours collapse first. DEPTH_TO_SPACE and
SPACE_TO_DEPTH copy runs of block * channels elements (copy_runs / copy_loop).
CONCATENATION of short rows goes output row by output row with fixed-size copies
(concat_short_rows); longer rows, or one outer row, input by input (copy_rows).

Every case is one op of one hand-built model (tests/models/op_hand.py); the model is
compiled once per instruction set (native, AVX2, SSE2, scalar, and aarch64 NEON under qemu) and
compared with ai_edge_litert's builtin kernels byte for byte, and once with ASan and
buffers of the exact sizes.
"""
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import TESTS, aarch64_toolchain, check_sanitized, run_ours, sanitizer_env
from test_isa import x86_isa

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

# (input shape, perm, dtype): the path each takes is checked in test_cases_take_their_paths
TRANSPOSES = [
    ((1, 13, 11, 9), (0, 3, 1, 2), np.float32),      # 143 x 9: row and column remainders
    ((2, 5, 37, 3), (0, 3, 1, 2), np.float32),       # 3 channels: a narrow strip only, outer 2
    ((2, 4, 6, 3), (0, 3, 1, 2), np.float32),        # its last whole tile would read past the end
    ((3, 70, 40), (0, 2, 1), np.float32),            # several column and row blocks
    ((37, 53), (1, 0), np.float32),
    ((2, 3, 4, 5, 6), (4, 2, 0, 3, 1), np.float32),  # rank 5, three outer dims
    ((4, 9, 10), (2, 1, 0), np.int32),
    ((6, 1, 10), (2, 1, 0), np.float32),             # a size-1 dim dropped: 2-D
    ((1, 9, 7, 19), (0, 3, 1, 2), np.int8),
    ((2, 3, 4, 5, 6), (0, 4, 2, 3, 1), np.int8),
    ((1, 40, 50, 70), (0, 3, 1, 2), np.int8),       # bytes: two 16x32 AVX2 tiles and a strip of 6
    ((3, 37, 45), (0, 2, 1), np.uint8),              # row remainder 5; a 13-wide strip read as 32
    ((17, 33), (1, 0), np.int16),
    ((5, 6, 7), (2, 0, 1), np.int64),
    ((2, 7, 5, 6), (0, 2, 1, 3), np.float32),        # innermost stays: runs of 6
    ((3, 4, 100), (1, 0, 2), np.float32),            # runs of 100 floats: memcpy
    ((2, 3, 5, 4), (1, 0, 2, 3), np.int8),           # runs of 20 bytes
    ((1, 5, 1, 7), (2, 0, 1, 3), np.float32),        # collapses to one run of 35
    ((1, 64, 56, 56), (0, 2, 3, 1), np.float32),     # NCHW -> NHWC: 64 x 3136, 32-column blocks
    ((2, 48, 83), (0, 2, 1), np.float32),            # 32-column blocks, a 16 and a strip of 3
    ((512, 37), (1, 0), np.float32),                 # 2 KB destination rows: 16-column blocks, strip of 5
    ((1, 64, 55, 55), (0, 2, 3, 1), np.int8),        # 64 x 3025 bytes: a 1-column strip
]

# (op, input shape, block, dtype)
BLOCKS = [
    ("DEPTH_TO_SPACE", (1, 5, 7, 12), 2, np.float32),    # runs of 6
    ("DEPTH_TO_SPACE", (2, 3, 4, 18), 3, np.int8),
    ("DEPTH_TO_SPACE", (1, 3, 3, 320), 2, np.float32),   # runs of 160 floats: memcpy
    ("SPACE_TO_DEPTH", (1, 6, 10, 3), 2, np.float32),
    ("SPACE_TO_DEPTH", (1, 8, 4, 5), 4, np.int8),
]

# (input shapes, axis, dtype, activation op after it): rows of at most 256 bytes go output row by
# output row (concat_short_rows), longer ones or a single outer row input by input (copy_rows)
CONCATS = [
    (((1, 5, 7, 32), (1, 5, 7, 16)), 3, np.int8, None),           # short
    (((2, 3, 4, 3), (2, 3, 4, 5), (2, 3, 4, 1)), -1, np.float32, None),
    (((3, 4, 4), (3, 6, 4)), 1, np.int16, None),                 # rows of 16 and 24 (inner 4)
    (((1, 3, 3, 4), (1, 3, 3, 4)), 3, np.float32, "RELU6"),      # the RELU6 after it fused
    (((1, 4, 4, 100), (1, 4, 4, 30)), 3, np.float32, None),      # 400-byte rows: copy_rows
    (((1, 3), (1, 5)), 1, np.uint8, None),                       # one outer row: copy_rows
]


def draw(rng, shape, dtype):
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _model(path):
    """One model holding every case, each its own input -> op -> output."""
    m, rng, feeds = HandModel(), np.random.default_rng(19), []
    for shape, perm, dtype in TRANSPOSES:
        x = m.input(shape, dtype)
        out = m.output(m.tensor([shape[p] for p in perm], dtype))
        m.op("TRANSPOSE", [x, m.const(np.array(perm, np.int32))], [out])
        feeds.append(draw(rng, shape, dtype))
    for op, (n, h, w, c), b, dtype in BLOCKS:
        x = m.input((n, h, w, c), dtype)
        if op == "DEPTH_TO_SPACE":
            shape, opts = (n, h * b, w * b, c // (b * b)), "DepthToSpaceOptions"
        else:
            shape, opts = (n, h // b, w // b, c * b * b), "SpaceToDepthOptions"
        m.op(op, [x], [m.output(m.tensor(shape, dtype))], opts, BlockSize=b)
        feeds.append(draw(rng, (n, h, w, c), dtype))
    for shapes, axis, dtype, act in CONCATS:
        xs = [m.input(shape, dtype) for shape in shapes]
        out = list(shapes[0])
        out[axis] = sum(shape[axis] for shape in shapes)
        y = m.output(m.tensor(out, dtype))
        joined = m.tensor(out, dtype) if act else y
        m.op("CONCATENATION", xs, [joined], "ConcatenationOptions", Axis=axis, FusedActivationFunction=0)
        if act:
            m.op(act, [joined], [y])
        feeds += [draw(rng, shape, dtype) for shape in shapes]
    path.write_bytes(m.build())
    return feeds


def built(tmp_path_factory, name: str, make) -> tuple:
    """(model path, feeds, TFLite's outputs) of the model that make(path) writes."""
    path = tmp_path_factory.mktemp(name) / f"{name}.tflite"
    feeds = make(path)
    refs, _ = V.reference_run(str(path), feeds)
    return path, feeds, refs


def assert_same_bytes(ours: list, refs: list, count: int) -> None:
    assert len(ours) == len(refs) == count
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, (k, o.shape, r.shape)
        assert o.tobytes() == r.tobytes(), f"output {k}: ours {o.ravel()[:8]} tflite {r.ravel()[:8]}"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return built(tmp_path_factory, "movement", _model)


def test_cases_take_their_paths(model):
    """The generated calls are the paths the cases are named for (no compile)."""
    lib, _ = compiler.compile_graph(compiler.load_graph(str(model[0])), "m")
    code = "\n".join(str(v) for k, v in lib.files.items() if k.endswith(".cc"))
    assert code.count("dlcoder_rt::transpose(") == 18
    assert code.count("dlcoder_rt::copy_runs<") == 7
    assert code.count("dlcoder_rt::copy_loop(") == 2
    assert code.count("dlcoder_rt::concat_short_rows<") == 4
    assert code.count("dlcoder_rt::copy_rows<") == 4


# native (AVX-512 or AVX2 on x86), AVX2, SSE2, scalar; aarch64 (NEON) under qemu
@pytest.mark.parametrize("isa", [None, "avx2", 1, 0, "aarch64"], ids=["native", "avx2", "sse2", "scalar", "aarch64"])
def test_bytes_match_tflite(model, isa, tmp_path):
    path, feeds, refs = model
    if isa == "avx2":
        isa = x86_isa("avx2")
    kw = {"flags": ("-O2",) if isa in (None, "aarch64") else ("-O2", f"-DDLCODER_RT_FORCE_ISA={isa}")}
    if isa == "aarch64":
        kw["cxx"], kw["emulator"] = aarch64_toolchain()
    ours, _, _ = run_ours(path, feeds, tmp_path, **kw)
    assert_same_bytes(ours, refs, len(TRANSPOSES) + len(BLOCKS) + len(CONCATS))


def test_no_read_outside_the_inputs(model, tmp_path, monkeypatch):
    """A narrow strip's tiles read up to 4 columns, never past an input: an ASan build with
    buffers of the exact sizes."""
    path, feeds, _ = model
    sanitizer_env(monkeypatch)
    check_sanitized(path, tmp_path, feeds, bound=0.0, threads=(1,))
