"""TRANSPOSE's tiles and run copies on odd shapes, every instruction set forced (issue 19).

A perm that moves the innermost dim becomes matrix transposes (transpose.h): the AVX-512
16x16 tile for 4 bytes (AVX2 halves for strips of up to 8 columns), the VBMI 16x16 byte
tile (rows loaded in pairs of 128-bit halves) and its 64-row tile in bands of 64 rows
(four 16x16 tiles whose 128-bit lanes are transposed into whole destination rows), AVX2
16x32 bytes, SSE2 4x4 / 8x8, NEON 4x4 and the scalar tile for 8 bytes. The shapes put
remainders in both dims (rows past the last whole tile or band, a last strip of 1 to 15
columns), matrices of 1 to 3 columns, 2- and 8-byte elements and many outer dims. A perm
that keeps the innermost dim copies runs (copy_runs in movement.h), here runs of 33 to 160
bytes, one of them under six loop dims, and DEPTH_TO_SPACE's runs.

One model holds every case; it is compiled per path (native; AVX-512 with VBMI, without
VBMI and without BW; AVX2; SSE2; scalar; aarch64 NEON under qemu) and compared with
ai_edge_litert's builtin kernels byte for byte, and once with ASan and buffers of the
exact sizes (the tiles' rounded-up reads stay inside them).
"""
import sys

import numpy as np
import pytest

from dlcoder import compiler
from support import TESTS, aarch64_toolchain, check_sanitized, run_ours, sanitizer_env
from test_isa import x86_isa
from test_movement_speed_paths import assert_same_bytes, built, draw

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

# (input shape, perm, dtype)
TILES = [
    ((3, 35, 21), (0, 2, 1), np.float32),             # rows 35, columns 21: remainders 3 and 5
    ((2, 83, 47), (0, 2, 1), np.float32),             # a 15-column strip (16-column reads), 3 rows left
    ((1, 33, 2), (0, 2, 1), np.float32),              # 2 columns
    ((5, 17, 1, 3), (0, 3, 2, 1), np.int32),          # 3 columns, size-1 dim dropped
    ((40, 1), (1, 0), np.float32),                    # one column: a run copy (160 bytes)
    ((2, 47, 83), (0, 2, 1), np.int8),                # bytes: remainders 15 and 3
    ((3, 16, 16), (0, 2, 1), np.uint8),               # exactly one byte tile each
    ((4, 40, 3), (0, 2, 1), np.int8),                 # 3 byte columns
    ((1, 64, 50, 35), (0, 2, 3, 1), np.int8),         # 64 x 1750 bytes: many column blocks
    # VBMI 64-row tiles (whole 64-byte destination rows) in bands, 16-row tiles and scalar rows after
    ((2, 150, 37), (0, 2, 1), np.int8),               # rows 128 + 16 + 6, a 5-column strip
    ((3, 64, 17), (0, 2, 1), np.uint8),               # one band, a 1-column strip
    ((2, 100, 27), (0, 2, 1), np.int8),               # an 11-column strip: 64-row, then 16-row tiles
    ((2, 96, 5, 7), (0, 2, 3, 1), np.int8),           # rows 64 + 32, 35 columns (merged dims)
    ((3, 200, 3), (0, 2, 1), np.int8),                # 3 columns: a strip of 16-row tiles only
    ((2, 130, 2), (0, 2, 1), np.int8),                # 2 columns
    ((2, 2, 67, 30), (1, 0, 3, 2), np.int8),          # 4 outer points, rows 64 + 3, 14-column strip
    ((80, 1024), (1, 0), np.int8),                    # a 1 KB row stride: column blocks of 16-row tiles
    ((2, 33, 45), (0, 2, 1), np.int16),               # 2-byte elements, remainders both ways
    ((2, 70, 2), (0, 2, 1), np.int16),                # 2 columns of 2 bytes
    ((3, 17, 9), (0, 2, 1), np.int64),                # 8-byte elements (scalar tile)
    ((2, 3, 2, 3, 5, 7), (3, 1, 5, 0, 4, 2), np.float32),  # rank 6: four outer dims
    ((2, 3, 2, 3, 5, 7), (5, 3, 1, 0, 2, 4), np.int8),
]

# runs kept whole (copy_runs): 48, 80, 64 and 66 bytes, and 64 under six loop dims
RUNS = [
    ((2, 5, 3, 12), (0, 2, 1, 3), np.float32),
    ((3, 4, 2, 40), (1, 0, 2, 3), np.int8),
    ((2, 3, 4, 64), (0, 2, 1, 3), np.int8),
    ((2, 6, 5, 33), (0, 2, 1, 3), np.int16),
    ((2, 2, 3, 2, 3, 16), (4, 2, 0, 3, 1, 5), np.float32),
]

# (input shape, block, dtype): DEPTH_TO_SPACE's runs of block * channels / block^2
BLOCKS = [((1, 3, 4, 64), 2, np.float32), ((2, 3, 5, 80), 2, np.int8)]


def _model(path):
    m, rng, feeds = HandModel(), np.random.default_rng(23), []
    for shape, perm, dtype in TILES + RUNS:
        x = m.input(shape, dtype)
        out = m.output(m.tensor([shape[p] for p in perm], dtype))
        m.op("TRANSPOSE", [x, m.const(np.array(perm, np.int32))], [out])
        feeds.append(draw(rng, shape, dtype))
    for (n, h, w, c), b, dtype in BLOCKS:
        x = m.input((n, h, w, c), dtype)
        m.op("DEPTH_TO_SPACE", [x], [m.output(m.tensor((n, h * b, w * b, c // (b * b)), dtype))],
             "DepthToSpaceOptions", BlockSize=b)
        feeds.append(draw(rng, (n, h, w, c), dtype))
    path.write_bytes(m.build())
    return feeds


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return built(tmp_path_factory, "transpose", _model)


def test_cases_take_their_paths(model):
    """Tiles for the moved innermost dims, run copies for the kept ones."""
    lib, _ = compiler.compile_graph(compiler.load_graph(str(model[0])), "m")
    code = "\n".join(str(v) for k, v in lib.files.items() if k.endswith(".cc"))
    assert code.count("dlcoder_rt::transpose(") == len(TILES) - 1     # one column is a copy
    for run in ("copy_runs<12>", "copy_runs<80>", "copy_runs<64>", "copy_runs<33>", "copy_runs<16>",
                "copy_runs<32>", "copy_runs<40>"):
        assert f"dlcoder_rt::{run}(" in code, run


# native; AVX-512 with VBMI (the CPU's), without VBMI and without BW (the AVX2 byte tile);
# AVX2; SSE2; scalar; aarch64 (NEON) under qemu
PATHS = {"native": (), "avx512": ("avx512",), "avx512_novbmi": ("avx512", "-DDLCODER_RT_FORCE_VBMI=0"),
         "avx512_nobw": ("avx512", "-DDLCODER_RT_FORCE_BW=0"), "avx2": ("avx2",), "sse2": ("sse2",),
         "scalar": ("scalar",), "aarch64": None}


@pytest.mark.parametrize("path_id", list(PATHS))
def test_bytes_match_tflite(model, path_id, tmp_path):
    path, feeds, refs = model
    kw = {"flags": ("-O2",)}
    if PATHS[path_id] is None:
        kw["cxx"], kw["emulator"] = aarch64_toolchain()
    elif PATHS[path_id]:
        isa, *extra = PATHS[path_id]
        kw["flags"] = ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}", *extra)
    ours, _, _ = run_ours(path, feeds, tmp_path, **kw)
    assert_same_bytes(ours, refs, len(TILES) + len(RUNS) + len(BLOCKS))


def test_no_access_outside_the_buffers(model, tmp_path, monkeypatch):
    path, feeds, _ = model
    sanitizer_env(monkeypatch)
    check_sanitized(path, tmp_path, feeds, bound=0.0, threads=(1,))
